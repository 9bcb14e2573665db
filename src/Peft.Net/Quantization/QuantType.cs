namespace Peft.Net.Quantization;

/// <summary>The 4-bit code book of a <see cref="QuantizedTensor"/> (bitsandbytes' <c>quant_type</c>).</summary>
public enum QuantType
{
    /// <summary>4-bit NormalFloat: 16 values at normal quantiles, sorted ascending (QLoRA's default).</summary>
    Nf4,

    /// <summary>4-bit float with a sign bit, 2 exponent bits and 1 mantissa bit, codes in bit-pattern order.</summary>
    Fp4,
}
