using System.Buffers.Binary;

namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// float32 → ggml bytes for the types Peft.Net writes (F32, F16, BF16, Q8_0) and Q4_0 (tests), transcribed from
/// ggml's reference quantizers (<c>quantize_row_q8_0_ref</c>, <c>quantize_row_q4_0_ref</c>, <c>GGML_FP32_TO_BF16</c>).
/// </summary>
internal static class GgmlQuantize
{
    /// <summary>Bytes of <paramref name="count"/> values of <paramref name="type"/>.</summary>
    public static long ByteLength(GgmlType type, long count)
    {
        var (block, size) = GgmlTypeInfo.Layout(type) ?? throw new NotSupportedException($"ggml type {type} is unknown.");
        return count / block * size;
    }

    // x: n floats → n/block blocks
    public static void Run(GgmlType type, ReadOnlySpan<float> x, Span<byte> output)
    {
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(output[(4 * i)..], x[i]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(output[(2 * i)..], BitConverter.HalfToUInt16Bits((Half)x[i]));
                break;
            case GgmlType.BF16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(output[(2 * i)..], ToBf16(x[i]));
                break;
            case GgmlType.Q8_0:
                Q8_0(x, output);
                break;
            case GgmlType.Q4_0:
                Q4_0(x, output);
                break;
            default:
                throw new NotSupportedException($"Writing ggml type {type} is not supported (F32, F16, BF16, Q8_0, Q4_0 are).");
        }
    }

    /// <summary>ggml's fp32 → bf16: NaN made quiet, otherwise round to nearest even.</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }

    // 32 floats → d:f16 (max|x|/127), qs[32] = round-half-away(x/d) with the unrounded d
    private static void Q8_0(ReadOnlySpan<float> x, Span<byte> output)
    {
        for (int b = 0; b < x.Length / 32; b++)
        {
            var values = x.Slice(b * 32, 32);
            var block = output.Slice(b * 34, 34);
            float amax = 0;
            foreach (float v in values) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127;
            float id = d != 0 ? 1 / d : 0;
            BinaryPrimitives.WriteUInt16LittleEndian(block, BitConverter.HalfToUInt16Bits((Half)d));
            for (int j = 0; j < 32; j++) block[2 + j] = (byte)(sbyte)MathF.Round(values[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    // 32 floats → d:f16 (signed max / −8), qs[16]: low nibbles j, high nibbles j+16
    private static void Q4_0(ReadOnlySpan<float> x, Span<byte> output)
    {
        for (int b = 0; b < x.Length / 32; b++)
        {
            var values = x.Slice(b * 32, 32);
            var block = output.Slice(b * 18, 18);
            float amax = 0, max = 0;
            foreach (float v in values)
                if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
            float d = max / -8;
            float id = d != 0 ? 1 / d : 0;
            BinaryPrimitives.WriteUInt16LittleEndian(block, BitConverter.HalfToUInt16Bits((Half)d));
            for (int j = 0; j < 16; j++)
            {
                int x0 = Math.Min(15, (int)(sbyte)(values[j] * id + 8.5f));
                int x1 = Math.Min(15, (int)(sbyte)(values[j + 16] * id + 8.5f));
                block[2 + j] = (byte)(x0 | (x1 << 4));
            }
        }
    }
}
