namespace Peft.Net.Quantization;

/// <summary>What <see cref="Nf4ModelExtensions.QuantizeNf4(Core.Nn.Module, QuantType, int, bool, IEnumerable{string}?)"/> did.</summary>
/// <param name="ConvertedLayers">Paths of the linear layers now stored in 4-bit, in model order.</param>
/// <param name="SkippedLayers">Paths of the linear layers left as they were (the output head and exclusions).</param>
/// <param name="Parameters">Weight elements converted (biases stay as they were and are not counted).</param>
/// <param name="BytesBefore">Bytes of the converted weights in their previous storage dtype.</param>
/// <param name="BytesAfter">Bytes of their 4-bit storage (<see cref="QuantizedTensor.StorageBytes"/>).</param>
public sealed record Nf4QuantizationSummary(IReadOnlyList<string> ConvertedLayers, IReadOnlyList<string> SkippedLayers,
    long Parameters, long BytesBefore, long BytesAfter)
{
    /// <summary>Storage bits per converted weight element after quantization (≈ 4.127 for NF4, B = 64, double quantization).</summary>
    public double BitsPerParameter => Parameters == 0 ? 0 : 8.0 * BytesAfter / Parameters;

    /// <summary>BytesBefore / BytesAfter.</summary>
    public double CompressionRatio => BytesAfter == 0 ? 0 : (double)BytesBefore / BytesAfter;
}
