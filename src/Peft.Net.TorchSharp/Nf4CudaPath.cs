using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// Where <see cref="Nf4Linear"/> decodes when its buffers live on a CUDA device. The design: decode with
/// Peft.Net.Cuda's NF4 kernels straight from the buffers' device memory into a new device tensor, in LibTorch's primary
/// context on its current stream. This build has no such path yet (no CUDA LibTorch is served to test it against), so a
/// 4-bit layer on a GPU fails clearly instead of copying through the host.
/// </summary>
internal static class Nf4CudaPath
{
    public static Tensor Dequantize(Nf4Linear layer, Device device) =>
        throw new NotSupportedException(
            $"Nf4Linear [{layer.OutFeatures}, {layer.InFeatures}] is on {device}: the CUDA path of Peft.Net.TorchSharp's 4-bit layer is not implemented " +
            "yet. Keep 4-bit layers on the CPU, or dequantize them (LoraLinear over a float Linear) before moving the model to the GPU.");
}
