using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

public class SimdLoopTests
{
    [Fact]
    public void Every_element_is_visited_once_at_every_length_and_in_place_accumulation_works()
    {
        foreach (int n in TensorAssert.SimdLengths)
        {
            var x = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
            var y = Enumerable.Range(0, n).Select(i => 1000f + i).ToArray();
            var z = new float[n];
            SimdLoop.Map(default(MultiplyOperator), x, y, z);
            Assert.Equal(x.Select((v, i) => v * y[i]), z);
            var acc = (float[])x.Clone();
            SimdLoop.Accumulate(default(AddOperator), x, y, acc); // acc += x + y, read and written in place
            Assert.Equal(x.Select((v, i) => v + (v + y[i])), acc);
            SimdLoop.Map(default(AddOperator), x, x, x); // destination aliases both inputs
            Assert.Equal(Enumerable.Range(0, n).Select(i => 2f * i), x);
            var first = new float[n];
            var second = Enumerable.Repeat(1f, n).ToArray();
            SimdLoop.AccumulatePair(default(SumAndProduct), y, y, y, first, second);
            Assert.Equal(y.Select(v => 3 * v), first);
            Assert.Equal(y.Select(v => 1 + v * v * v), second);
            Array.Fill(first, float.NaN);   // stored, not added: what was there before must not show
            Array.Fill(second, float.NaN);
            SimdLoop.MapPair(default(SumAndProduct), y, y, y, first, second);
            Assert.Equal(y.Select(v => 3 * v), first);
            Assert.Equal(y.Select(v => v * v * v), second);
        }
    }

    [Fact]
    public void Mismatched_lengths_name_the_offending_span()
    {
        var ex = Assert.Throws<ArgumentException>(() => SimdLoop.Map(default(AddOperator), new float[3], new float[4], new float[4]));
        Assert.Equal("x", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => SimdLoop.Accumulate(default(AddOperator), new float[4], new float[5], new float[4]));
        Assert.Equal("y", ex.ParamName);
    }

    private readonly struct SumAndProduct : ITernaryPairOperator
    {
        public (float First, float Second) Invoke(float x, float y, float z) => (x + y + z, x * y * z);
        public (Vector128<float> First, Vector128<float> Second) Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z) => (x + y + z, x * y * z);
        public (Vector256<float> First, Vector256<float> Second) Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z) => (x + y + z, x * y * z);
        public (Vector512<float> First, Vector512<float> Second) Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z) => (x + y + z, x * y * z);
    }
}
