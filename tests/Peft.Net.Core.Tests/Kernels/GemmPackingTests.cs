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
                GemmPacking.UseFourRowGroupsForTests = true;
                try
                {
                    GemmPacking.PackRowPanels(s, ld, rows, kc, 12, f);
                }
                finally
                {
                    GemmPacking.UseFourRowBlocksForTests = false;
                    GemmPacking.UseFourRowGroupsForTests = false;
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

    [Fact]
    public unsafe void Row_panels_packed_eight_rows_at_a_time_hold_the_transposed_rows_and_zeros_past_the_last_row()
    {
        // PackRows packs a transposed weight's 32-row B panels and attention's 64-key blocks: 8-row groups transposed
        // 8 columns at a time, then 4-row and 2-row blocks and single rows for what is left. Every panel row p must
        // hold src[r, p] for r < count and zeros past it, for counts with and without a remainder of each kind,
        // depths with and without a tail of fewer than 8 columns, and row strides longer than the depth; the same
        // bytes as the 4×4 blocks alone.
        foreach (int width in new[] { 32, 64 })
        foreach (int count in new[] { width, 8, 13, 5, 31, width - 1 })
        foreach (int kc in new[] { 1, 7, 8, 9, 37, 64 })
        {
            int ld = kc + 5;
            var source = new float[count * ld];
            for (int i = 0; i < source.Length; i++) source[i] = i * 0.5f - 11f;
            var packed = new float[kc * width];
            var fourRowGroups = new float[kc * width];
            Array.Fill(packed, float.NaN);
            Array.Fill(fourRowGroups, float.NaN);
            Assert.Equal(System.Runtime.Intrinsics.X86.Avx.IsSupported, GemmPacking.UsesEightRowTransposes);
            fixed (float* s = source, d = packed, f = fourRowGroups)
            {
                GemmPacking.PackRows(s, ld, count, kc, width, d);
                GemmPacking.UseFourRowGroupsForTests = true;
                try
                {
                    GemmPacking.PackRows(s, ld, count, kc, width, f);
                }
                finally
                {
                    GemmPacking.UseFourRowGroupsForTests = false;
                }
            }
            for (int p = 0; p < kc; p++)
                for (int r = 0; r < width; r++)
                {
                    float expected = r < count ? source[r * ld + p] : 0f;
                    Assert.True(expected.Equals(packed[p * width + r]),
                        $"width {width}, {count} rows, depth {kc}: column {p}, row {r} holds {packed[p * width + r]}, not {expected}");
                }
            Assert.Equal(fourRowGroups, packed);
        }
    }
}
