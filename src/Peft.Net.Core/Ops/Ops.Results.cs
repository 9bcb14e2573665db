namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// A new F32 tensor whose elements are not zeroed, for results that a kernel overwrites completely
    /// (skips a memory pass over large activations).
    /// </summary>
    internal static Tensor Uninitialized(int[] shape) =>
        new(GC.AllocateUninitializedArray<float>((int)Tensor.CheckShape(shape)), 0, shape, DType.F32);
}
