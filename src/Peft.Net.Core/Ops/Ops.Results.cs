using Peft.Net.Core.Autograd;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// A new F32 result whose elements are not zeroed, for results that a kernel overwrites completely
    /// (skips a memory pass over large activations). Taken from the recording <see cref="ActivationArena"/> when
    /// there is one.
    /// </summary>
    internal static Tensor Uninitialized(int[] shape) => Tensor.NewResult(shape, zeroed: false);
}
