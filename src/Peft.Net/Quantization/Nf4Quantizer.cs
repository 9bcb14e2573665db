using Peft.Net.Core;

namespace Peft.Net.Quantization;

/// <summary>
/// bitsandbytes-compatible 4-bit blockwise quantization (<c>bitsandbytes.functional.quantize_4bit</c> on CUDA):
/// NF4 or FP4 codes, blocksizes 32–4096, optional double quantization of the per-block absmax.
/// </summary>
public static partial class Nf4Quantizer
{
    /// <summary>
    /// Quantizes <paramref name="tensor"/> (F32, F16 or BF16; flattened row-major) into blocks of
    /// <paramref name="blockSize"/> elements. The packed bytes and float32 absmax equal bitsandbytes' CUDA output;
    /// with <paramref name="doubleQuant"/> the absmax are centred on their mean and stored as 8-bit codes on the
    /// signed dynamic map with one float32 scale per 256 blocks (QLoRA's double quantization). Large tensors are
    /// quantized on several threads.
    /// </summary>
    /// <param name="tensor">The tensor to quantize; not modified.</param>
    /// <param name="quantType">NF4 (QLoRA) or FP4. Note that bitsandbytes' own default is FP4.</param>
    /// <param name="blockSize">Elements per absmax: 32, 64 (default), 128, 256, 512, 1024, 2048 or 4096.</param>
    /// <param name="doubleQuant">Also quantize the absmax (bitsandbytes' <c>compress_statistics</c>).</param>
    /// <exception cref="ArgumentException">The tensor is not floating point, or the blocksize or quant type is not supported.</exception>
    public static QuantizedTensor Quantize(Tensor tensor, QuantType quantType = QuantType.Nf4, int blockSize = 64, bool doubleQuant = false)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.DType.IsFloatingPoint())
            throw new ArgumentException($"Only F32, F16 and BF16 tensors can be quantized; {tensor.Describe()} is {tensor.DType}.", nameof(tensor));
        if (!Enum.IsDefined(quantType))
            throw new ArgumentException($"Unknown quant type {(int)quantType}; expected Nf4 or Fp4.", nameof(quantType));
        if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentException($"Blocksize {blockSize} is not supported for {tensor.Describe()}; use one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}.", nameof(blockSize));

        ReadOnlySpan<float> x = tensor.DType == DType.F32 ? tensor.AsSpan() : tensor.To(DType.F32).AsSpan();
        int n = x.Length;
        int nb = (n + blockSize - 1) / blockSize;
        var packed = new byte[(n + 1) / 2];
        var absmax = new float[nb];
        FourBitQuantizeKernel.QuantizeParallel(x, quantType, blockSize, packed, absmax);
        return FromBlocks(quantType, blockSize, tensor.ShapeArray(), tensor.DType, packed, absmax, doubleQuant);
    }

    /// <summary>
    /// The quantized tensor of finished codes and block absmax, with the absmax double-quantized if asked.
    /// <paramref name="absmax"/> may be longer than the block count (a pooled buffer) only when double-quantizing.
    /// </summary>
    private static QuantizedTensor FromBlocks(QuantType quantType, int blockSize, int[] shape, DType originalDType, byte[] packed,
        float[] absmax, bool doubleQuant, int blockCount = -1)
    {
        int nb = blockCount < 0 ? absmax.Length : blockCount;
        if (!doubleQuant)
            return QuantizedTensor.FromParts(quantType, blockSize, shape, originalDType, packed, absmax);

        var blockAbsmax = absmax.AsSpan(0, nb);
        float offset = DoubleQuantReference.Mean(blockAbsmax);
        var codes = new byte[nb];
        var nestedAbsmax = new float[(nb + DoubleQuantReference.NestedBlockSize - 1) / DoubleQuantReference.NestedBlockSize];
        var map = (float[])DynamicMap8.Values.Clone();
        DoubleQuantReference.Quantize(blockAbsmax, offset, map, codes, nestedAbsmax);
        return QuantizedTensor.FromParts(quantType, blockSize, shape, originalDType, packed, null,
            codes, nestedAbsmax, map, offset);
    }

    /// <summary>
    /// The nested offset (mean of the block absmax) that <see cref="Quantize(Tensor, QuantType, int, bool)"/> with double quantization would store for
    /// <paramref name="tensor"/>, computed from the absmax alone. A streaming writer needs it to size the quant_state
    /// JSON before quantizing (<see cref="Bnb4BitSerializer.PlanSpecs"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not floating point, or the blocksize is not supported.</exception>
    public static float DoubleQuantOffset(Tensor tensor, int blockSize = 64)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.DType.IsFloatingPoint())
            throw new ArgumentException($"Only F32, F16 and BF16 tensors can be quantized; {tensor.Describe()} is {tensor.DType}.", nameof(tensor));
        if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentException($"Blocksize {blockSize} is not supported for {tensor.Describe()}; use one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}.", nameof(blockSize));
        ReadOnlySpan<float> x = tensor.DType == DType.F32 ? tensor.AsSpan() : tensor.To(DType.F32).AsSpan();
        int nb = (x.Length + blockSize - 1) / blockSize;
        var absmax = new float[nb];
        for (int block = 0; block < nb; block++)
        {
            int start = block * blockSize;
            absmax[block] = FourBitQuantizeKernel.Absmax(x.Slice(start, Math.Min(blockSize, x.Length - start)), blockSize, KernelIsaInfo.Best);
        }
        return DoubleQuantReference.Mean(absmax);
    }
}
