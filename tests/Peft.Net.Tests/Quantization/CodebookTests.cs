using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

public class CodebookTests
{
    private static uint Bits(float x) => BitConverter.SingleToUInt32Bits(x);

    [Fact]
    public void Nf4_thresholds_are_the_cuda_literals_rounded_directly_to_float32()
    {
        var table = Nf4Reference.Table;
        Assert.Equal(-1f, table[0]);
        Assert.Equal(0u, Bits(table[7]));
        Assert.Equal(1f, table[15]);
        var offMidpoint = new List<int>();
        for (int i = 0; i < 15; i++)
        {
            Assert.True(table[i] < table[i + 1], $"table not ascending at {i}");
            // .NET parses decimal text to the nearest float32 directly, as nvcc and g++ compile a float literal.
            Assert.Equal(Bits(float.Parse(Nf4Reference.ThresholdLiterals[i], System.Globalization.CultureInfo.InvariantCulture)), Bits(Nf4Reference.Thresholds[i]));
            // Rounding through double (decimal → double → float) is what the old, wrong values were.
            float viaDouble = (float)double.Parse(Nf4Reference.ThresholdLiterals[i], System.Globalization.CultureInfo.InvariantCulture);
            uint midpoint = Bits((table[i] + table[i + 1]) / 2f);
            Assert.Equal(midpoint, Bits(viaDouble));
            if (midpoint != Bits(Nf4Reference.Thresholds[i]))
            {
                offMidpoint.Add(i);
                Assert.Equal(1u, (uint)Math.Abs((long)midpoint - Bits(Nf4Reference.Thresholds[i])));
            }
        }
        Assert.Equal([0, 8, 12, 14], offMidpoint);
        Assert.Equal([0xBF591CD9u, 0x3DF64863u, 0x3F006D03u, 0x3F5C89D9u], offMidpoint.Select(i => Bits(Nf4Reference.Thresholds[i])));
    }

    [Fact]
    public void Nf4_encode_counts_thresholds_strictly_below_and_ties_take_the_lower_code()
    {
        for (int code = 0; code < 16; code++)
            Assert.Equal(code, Nf4Reference.Encode(Nf4Reference.Table[code]));
        for (int i = 0; i < 15; i++)
        {
            float t = Nf4Reference.Thresholds[i];
            Assert.Equal(i, Nf4Reference.Encode(t));
            Assert.Equal(i + 1, Nf4Reference.Encode(MathF.BitIncrement(t)));
            Assert.Equal(i, Nf4Reference.Encode(MathF.BitDecrement(t)));
        }
        Assert.Equal(0, Nf4Reference.Encode(float.NaN));
        Assert.Equal(7, Nf4Reference.Encode(-0f));
        Assert.Equal(7, Nf4Reference.Encode(0f));
        Assert.Equal(0, Nf4Reference.Encode(float.NegativeInfinity));
        Assert.Equal(15, Nf4Reference.Encode(float.PositiveInfinity));
    }

    [Fact]
    public void Fp4_table_is_the_bit_order_map_divided_by_12_and_code_8_is_negative_zero()
    {
        float[] numerators = [0, 0.0625f, 8, 12, 4, 6, 2, 3];
        for (int code = 0; code < 16; code++)
        {
            float expected = (code < 8 ? numerators[code] : -numerators[code - 8]) / 12f;
            Assert.Equal(Bits(expected), Bits(Fp4Reference.Table[code]));
            Assert.Equal(Bits(expected), Bits(Fp4Reference.Decode(code)));
        }
        Assert.Equal(0x80000000u, Bits(Fp4Reference.Table[8]));
        Assert.Equal(0x3BAAAAABu, Bits(Fp4Reference.Magnitudes[1]));
    }

    [Fact]
    public void Fp4_encode_follows_the_cuda_tree_with_its_literal_thresholds()
    {
        for (int code = 0; code < 16; code++)
        {
            if (code == 8) continue; // −0.0 is unsigned
            Assert.Equal(code, Fp4Reference.Encode(Fp4Reference.Table[code]));
        }
        byte[] codeByRank = [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011];
        for (int i = 0; i < 7; i++)
        {
            float t = Fp4Reference.Thresholds[i];
            Assert.Equal(codeByRank[i], Fp4Reference.Encode(t));                       // a tie takes the smaller magnitude
            Assert.Equal(codeByRank[i + 1], Fp4Reference.Encode(MathF.BitIncrement(t)));
            Assert.Equal(codeByRank[i] | 0b1000, Fp4Reference.Encode(-t));
        }
        // The CUDA literal 0.20833333 (0x3E555555) is one ulp below the float32 midpoint 0x3E555556.
        Assert.Equal(0x3E555555u, Bits(Fp4Reference.Thresholds[2]));
        Assert.Equal(0b0111, Fp4Reference.Encode(BitConverter.UInt32BitsToSingle(0x3E555556)));
        Assert.Equal(0, Fp4Reference.Encode(float.NaN));
        Assert.Equal(0, Fp4Reference.Encode(-0f));
        Assert.Equal(0b1011, Fp4Reference.Encode(float.NegativeInfinity));
    }
}
