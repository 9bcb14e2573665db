using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

public class DynamicMap8Tests
{
    private static uint Bits(float x) => BitConverter.SingleToUInt32Bits(x);

    [Fact]
    public void Map_built_from_its_definition_equals_appendix_A_bit_for_bit()
    {
        var built = DynamicMap8.BuildFromDefinition();
        Assert.Equal(256, built.Length);
        for (int i = 0; i < 256; i++)
            Assert.True(Bits(built[i]) == Bits(DynamicMap8.Values[i]),
                $"entry {i}: built 0x{Bits(built[i]):X8}, Appendix A 0x{Bits(DynamicMap8.Values[i]):X8}");
    }

    [Fact]
    public void Map_is_sorted_symmetric_and_has_the_documented_end_points()
    {
        var map = DynamicMap8.Values;
        for (int i = 1; i < 256; i++) Assert.True(map[i - 1] < map[i], $"not ascending at {i}");
        for (int i = 0; i < 127; i++) Assert.Equal(Bits(-map[i]), Bits(map[254 - i]));
        Assert.Equal(0xBF7E3333u, Bits(map[0]));
        Assert.Equal(0u, Bits(map[127]));
        Assert.Equal(1f, map[255]);
    }

    [Fact]
    public void Bisection_resolves_exact_midpoints_to_the_even_index()
    {
        var map = DynamicMap8.Values;
        for (int k = 0; k < 255; k++)
        {
            float midpoint = (map[k] + map[k + 1]) * 0.5f;
            if (midpoint == map[k] || midpoint == map[k + 1]) continue; // adjacent floats: no midpoint exists
            int expected = k % 2 == 0 ? k : k + 1;
            Assert.True(expected == DynamicMap8.Quantize(map, midpoint), $"midpoint {k}/{k + 1} gave {DynamicMap8.Quantize(map, midpoint)}");
        }
    }

    [Fact]
    public void Bisection_finds_every_entry_and_the_nearest_entry_elsewhere()
    {
        var map = DynamicMap8.Values;
        for (int i = 0; i < 256; i++) Assert.Equal(i, DynamicMap8.Quantize(map, map[i]));
        var random = new Random(3);
        for (int s = 0; s < 20000; s++)
        {
            float x = (float)(random.NextDouble() * 2.2 - 1.1);
            if (s % 3 == 0) x *= MathF.Pow(10, -random.Next(0, 7));
            int nearest = 0;
            for (int j = 1; j < 256; j++)
                if (MathF.Abs(map[j] - x) < MathF.Abs(map[nearest] - x)) nearest = j;
            float d = MathF.Abs(map[nearest] - x);
            bool tie = (nearest > 0 && MathF.Abs(map[nearest - 1] - x) == d) || (nearest < 255 && MathF.Abs(map[nearest + 1] - x) == d);
            if (!tie) Assert.True(nearest == DynamicMap8.Quantize(map, x), $"x = {x:R}: nearest {nearest}, got {DynamicMap8.Quantize(map, x)}");
        }
        Assert.Equal(0, DynamicMap8.Quantize(map, float.NaN));
        Assert.Equal(0, DynamicMap8.Quantize(map, -1f));
        Assert.Equal(255, DynamicMap8.Quantize(map, 1f));
    }
}
