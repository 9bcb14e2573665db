namespace Peft.Net.Core.Kernels;

/// <summary>Which micro-kernel the GEMM runs. <see cref="Auto"/> picks the widest one the hardware runs natively.</summary>
internal enum GemmKernelPath
{
    Auto,
    Vector512,
    Vector256,
    Vector128,
    Scalar,
}
