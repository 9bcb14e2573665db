using Peft.Net.Quantization;

namespace Peft.Net.Cuda;

/// <summary>
/// A 4-bit (NF4/FP4, bitsandbytes layout) tensor whose parts already live in GPU memory owned by someone else — for
/// example the buffers of a TorchSharp <c>Nf4Linear</c> moved to a CUDA device — described by raw device pointers
/// (CUdeviceptr values in the current context). Plain tensors give <see cref="Absmax"/>; double-quantized ones give
/// <see cref="AbsmaxCodes"/>, <see cref="NestedAbsmax"/>, <see cref="NestedQuantMap"/> and <see cref="Offset"/>
/// (the other pointers are 0).
/// </summary>
/// <param name="Packed">⌈n/2⌉ bytes of packed codes.</param>
/// <param name="QuantMap">16 float32 code values.</param>
/// <param name="Absmax">nb float32 block absmax values (plain), or 0.</param>
/// <param name="AbsmaxCodes">nb uint8 absmax codes (double-quantized), or 0.</param>
/// <param name="NestedAbsmax">⌈nb/256⌉ float32 nested absmax values, or 0.</param>
/// <param name="NestedQuantMap">256 float32 nested map values, or 0.</param>
/// <param name="Offset">The nested offset (double-quantized), else 0.</param>
/// <param name="ElementCount">n, the number of weight elements.</param>
/// <param name="BlockSize">B, the absmax blocksize (a power of two in [32, 4096]).</param>
/// <param name="NestedBlockSize">The nested blocksize (256 as bitsandbytes writes it).</param>
public readonly record struct DeviceFourBitState(ulong Packed, ulong QuantMap, ulong Absmax, ulong AbsmaxCodes, ulong NestedAbsmax,
    ulong NestedQuantMap, float Offset, long ElementCount, int BlockSize, int NestedBlockSize = 256)
{
    /// <summary>True when the absmax values are themselves quantized.</summary>
    public bool IsDoubleQuantized => AbsmaxCodes != 0;

    /// <summary>The pointers of a tensor uploaded by <see cref="CudaQuantizedTensor.Upload"/>.</summary>
    internal static DeviceFourBitState Of(CudaQuantizedTensor t) => new(
        t.Packed.DevicePointer, t.QuantMap.DevicePointer, t.Absmax?.DevicePointer ?? 0, t.AbsmaxCodes?.DevicePointer ?? 0,
        t.NestedAbsmax?.DevicePointer ?? 0, t.NestedMap?.DevicePointer ?? 0, t.Offset, t.ElementCount, t.BlockSize, t.NestedBlockSize);

    /// <summary>The first problem that makes the description unusable, or null.</summary>
    internal string? FindProblem()
    {
        if (Packed == 0 || QuantMap == 0) return "the packed data and the quant map need device pointers";
        if (ElementCount <= 0) return $"the element count must be positive, got {ElementCount}";
        if (!QuantizedTensor.SupportedBlockSizes.Contains(BlockSize)) return $"blocksize {BlockSize} is not one bitsandbytes uses";
        if (IsDoubleQuantized && (NestedAbsmax == 0 || NestedQuantMap == 0 || Absmax != 0))
            return "a double-quantized tensor needs absmax codes, nested absmax and nested map pointers and no float absmax";
        if (!IsDoubleQuantized && (Absmax == 0 || NestedAbsmax != 0 || NestedQuantMap != 0))
            return "a plain tensor needs a float absmax pointer and no nested pointers";
        return null;
    }
}
