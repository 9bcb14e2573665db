using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

public class PythonFloatFormatTests
{
    // Expected strings are Python 3's repr() of the same doubles (printed by /usr/bin/python3).
    [Theory]
    [InlineData(0x3FB999999999999AUL, "0.1")]
    [InlineData(0x3EE4F8B588E368F1UL, "1e-05")]
    [InlineData(0x3EEF75104D551D69UL, "1.5e-05")]
    [InlineData(0x3F1A36E2EB1C432DUL, "0.0001")]
    [InlineData(0x4341C37937E08000UL, "1e+16")]
    [InlineData(0x43118B54F22AEB00UL, "1234567890123456.0")]
    [InlineData(0x4345EE2A2EB5A5C4UL, "1.2345678901234568e+16")]
    [InlineData(0x3FB99999A0000000UL, "0.10000000149011612")]
    [InlineData(0x4059000000000000UL, "100.0")]
    [InlineData(0x8000000000000000UL, "-0.0")]
    [InlineData(0x0000000000000000UL, "0.0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x405EDD2F1A9FBE77UL, "123.456")]
    [InlineData(0x3F894855E0000000UL, "0.01234500017017126")]
    [InlineData(0x7FEFFFFFFFFFFFFFUL, "1.7976931348623157e+308")]
    [InlineData(0x3E90C6F7A0B5ED8DUL, "2.5e-07")]
    [InlineData(0x3FE0000000000000UL, "0.5")]
    [InlineData(0xC008000000000000UL, "-3.0")]
    [InlineData(0x380B38FB80000000UL, "9.999999350456404e-39")]
    [InlineData(0x4480F0CF064DD592UL, "1e+22")]
    [InlineData(0x423CBE991A140000UL, "123456789012.0")]
    [InlineData(0xBF014D2F60000000UL, "-3.300000025774352e-05")]
    public void Matches_python_repr(ulong bits, string expected)
    {
        double value = BitConverter.UInt64BitsToDouble(bits);
        string text = PythonFloatFormat.Repr(value);
        Assert.Equal(expected, text);
        Assert.Equal(bits, BitConverter.DoubleToUInt64Bits(double.Parse(text, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Every_float32_widened_round_trips_back_to_the_same_float32()
    {
        var random = new Random(3);
        for (int i = 0; i < 20000; i++)
        {
            float f = BitConverter.Int32BitsToSingle(random.Next());
            if (!float.IsFinite(f)) continue;
            string text = PythonFloatFormat.Repr(f);
            Assert.Equal(f, (float)double.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
