using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Tests.Kernels;

public class GemmPackingTests
{
    [Fact]
    public unsafe void Twelve_row_panels_hold_the_transposed_rows_and_zeros_past_the_last_row()
    {
        // The AVX-512 micro-kernel's A panels are 12 rows wide: full panels are transposed 8 columns at a time
        // (PackTwelveRows), a last partial panel by the 4×4 blocks. Every panel row p must hold A[r, p] for the 12
        // rows r of its panel, zeros past the last row, for depths with and without a tail of fewer than 8 columns,
        // row strides longer than the depth, and 5 to 36 rows. The same bytes as the 4×4 blocks' packing.
        foreach (int rows in new[] { 12, 24, 13, 5, 36 })
        foreach (int kc in new[] { 1, 7, 8, 9, 37, 384 })
        {
            int ld = kc + 3, panels = (rows + 11) / 12;
            var source = new float[rows * ld];
            for (int i = 0; i < source.Length; i++) source[i] = i * 0.25f - 7f;
            var packed = new float[panels * kc * 12];
            var fourRowBlocks = new float[panels * kc * 12];
            Array.Fill(packed, float.NaN);
            fixed (float* s = source, d = packed, f = fourRowBlocks)
            {
                GemmPacking.PackRowPanels(s, ld, rows, kc, 12, d);
                GemmPacking.UseFourRowBlocksForTests = true;
                try
                {
                    GemmPacking.PackRowPanels(s, ld, rows, kc, 12, f);
                }
                finally
                {
                    GemmPacking.UseFourRowBlocksForTests = false;
                }
            }
            for (int panel = 0; panel < panels; panel++)
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < 12; r++)
                    {
                        int row = panel * 12 + r;
                        float expected = row < rows ? source[row * ld + p] : 0f;
                        Assert.True(expected.Equals(packed[(panel * kc + p) * 12 + r]),
                            $"{rows} rows, depth {kc}: panel {panel}, column {p}, row {r} holds {packed[(panel * kc + p) * 12 + r]}, not {expected}");
                    }
            Assert.Equal(fourRowBlocks, packed);
        }
    }
}
