namespace Peft.Net.Core;

/// <summary>
/// Differentiable tensor operations. Each method computes its result with a kernel from
/// <c>Peft.Net.Core.Kernels</c> and, when a gradient is needed, records how to push one back.
/// The class is split by operation family (one file each).
/// </summary>
public static partial class Ops
{
}
