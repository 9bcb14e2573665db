using System.Buffers.Binary;

namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// Scalar reference dequantization of ggml blocks to float32, transcribed from ggml-quants.c
/// (<c>dequantize_row_q4_0</c>, <c>_q8_0</c>, <c>_q4_K</c>, <c>_q6_K</c>): the same products in the same order, so
/// the values are bit-identical to llama.cpp's.
/// </summary>
internal static class GgmlDequantize
{
    // bytes: n/block blocks → values: n floats
    public static void Run(GgmlType type, ReadOnlySpan<byte> bytes, Span<float> values)
    {
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++) values[i] = Half(bytes, 2 * i);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case GgmlType.Q8_0:
                Q8_0(bytes, values);
                break;
            case GgmlType.Q4_0:
                Q4_0(bytes, values);
                break;
            case GgmlType.Q4_K:
                Q4_K(bytes, values);
                break;
            case GgmlType.Q6_K:
                Q6_K(bytes, values);
                break;
            default:
                throw new NotSupportedException($"ggml type {type} cannot be dequantized.");
        }
    }

    private static float Half(ReadOnlySpan<byte> bytes, int offset) =>
        (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[offset..]));

    // block (34 bytes) = d:f16, qs[32]:i8 → x[j] = d·qs[j]
    private static void Q8_0(ReadOnlySpan<byte> bytes, Span<float> y)
    {
        for (int b = 0; b < y.Length / 32; b++)
        {
            var block = bytes.Slice(b * 34, 34);
            float d = Half(block, 0);
            for (int j = 0; j < 32; j++) y[b * 32 + j] = (sbyte)block[2 + j] * d;
        }
    }

    // block (18 bytes) = d:f16, qs[16] → x[j] = (lo(qs[j]) − 8)·d, x[j+16] = (hi(qs[j]) − 8)·d
    private static void Q4_0(ReadOnlySpan<byte> bytes, Span<float> y)
    {
        for (int b = 0; b < y.Length / 32; b++)
        {
            var block = bytes.Slice(b * 18, 18);
            float d = Half(block, 0);
            for (int j = 0; j < 16; j++)
            {
                int q = block[2 + j];
                y[b * 32 + j] = ((q & 0xF) - 8) * d;
                y[b * 32 + j + 16] = ((q >> 4) - 8) * d;
            }
        }
    }

    /// <summary>ggml's get_scale_min_k4: 6-bit scale and min of sub-block <paramref name="j"/> from the 12 packed bytes.</summary>
    internal static (int Scale, int Min) ScaleMinK4(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    // super-block (144 bytes) = d:f16, dmin:f16, scales[12], qs[128] → 256 values in 8 sub-blocks of 32
    private static void Q4_K(ReadOnlySpan<byte> bytes, Span<float> y)
    {
        for (int b = 0; b < y.Length / 256; b++)
        {
            var block = bytes.Slice(b * 144, 144);
            float d = Half(block, 0), min = Half(block, 2);
            var scales = block.Slice(4, 12);
            var q = block.Slice(16, 128);
            int o = b * 256, s = 0;
            for (int j = 0; j < 256; j += 64, s += 2)
            {
                var (sc1, m1) = ScaleMinK4(s, scales);
                var (sc2, m2) = ScaleMinK4(s + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                var qs = q.Slice(j / 2, 32);
                for (int l = 0; l < 32; l++) y[o + j + l] = d1 * (qs[l] & 0xF) - min1;
                for (int l = 0; l < 32; l++) y[o + j + 32 + l] = d2 * (qs[l] >> 4) - min2;
            }
        }
    }

    // super-block (210 bytes) = ql[128], qh[64], scales[16]:i8, d:f16 → 256 values in two halves of 128
    private static void Q6_K(ReadOnlySpan<byte> bytes, Span<float> y)
    {
        for (int b = 0; b < y.Length / 256; b++)
        {
            var block = bytes.Slice(b * 210, 210);
            float d = Half(block, 208);
            for (int half = 0; half < 2; half++)
            {
                var ql = block.Slice(64 * half, 64);
                var qh = block.Slice(128 + 32 * half, 32);
                var sc = block.Slice(192 + 8 * half, 8);
                int o = b * 256 + 128 * half;
                for (int l = 0; l < 32; l++)
                {
                    int i = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[o + l] = d * (sbyte)sc[i] * q1;
                    y[o + l + 32] = d * (sbyte)sc[i + 2] * q2;
                    y[o + l + 64] = d * (sbyte)sc[i + 4] * q3;
                    y[o + l + 96] = d * (sbyte)sc[i + 6] * q4;
                }
            }
        }
    }
}
