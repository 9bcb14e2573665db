using System.Globalization;
using Peft.Net.Lora;

namespace Peft.Net.Samples.Tests;

/// <summary>The samples' "LoRA applied: …" line never needs more columns than the console has.</summary>
public class SummaryLineTests
{
    private static readonly PeftSummary QuickStart = new(TrainableParameters: 98_304, AllParameters: 1_327_488);
    private static readonly PeftSummary SevenB = new(TrainableParameters: 39_976_960, AllParameters: 6_778_392_576);

    [Fact]
    public void A_wide_console_gets_PEFTs_own_line()
    {
        Assert.Equal("trainable params: 98,304 || all params: 1,327,488 || trainable%: 7.4053", SummaryLine.Format("LoRA applied", QuickStart, 200));
    }

    [Theory]
    [InlineData(80)]
    [InlineData(60)]
    [InlineData(50)]
    public void At_80_columns_and_below_the_line_still_fits_with_the_percentage_beside_its_label(int width)
    {
        foreach (var summary in new[] { QuickStart, SevenB })
        {
            string text = SummaryLine.Format("LoRA applied", summary, width);
            Assert.True("LoRA applied: ".Length + text.Length <= width, $"'{text}' is too long for {width} columns");
            Assert.StartsWith(summary.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture), text);
            Assert.Matches(@"\(\d+\.\d+ %\)$", text);
        }
    }
}
