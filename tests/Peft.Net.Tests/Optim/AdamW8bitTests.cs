using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Optim;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Optim;

/// <summary>8-bit AdamW (bitsandbytes' blockwise dynamic quantization of both moments) and the paged variants.</summary>
public sealed class AdamW8bitTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void The_unsigned_map_matches_the_reference_test_vectors()
    {
        var map = DynamicMap8.UnsignedValues;
        Assert.Equal(256, map.Length);
        Assert.Equal(0f, map[0]);
        Assert.Equal(1f, map[255]);
        Assert.Equal(0x34AE7BAAu, BitConverter.SingleToUInt32Bits(map[1]));
        Assert.Equal(0x35500998u, BitConverter.SingleToUInt32Bits(map[2]));
        Assert.Equal(0x3DD40000u, BitConverter.SingleToUInt32Bits(map[127]));
        Assert.Equal(0x3F7F199Au, BitConverter.SingleToUInt32Bits(map[254]));
        uint sum = 0;
        foreach (float v in map) sum += BitConverter.SingleToUInt32Bits(v);
        Assert.Equal(0x2267AF98u, sum);
        for (int i = 1; i < 256; i++) Assert.True(map[i] > map[i - 1]);
    }

    /// <summary>
    /// An independent reference of the same blockwise rules: dequantize every block to float32, update it, take the new
    /// block absmax, requantize by a linear scan for the nearest map entry (ties to the even index) and the sign fix.
    /// </summary>
    internal static void ReferenceStep(float[] p, float[] g, byte[] c1, byte[] c2, float[] a1, float[] a2, long t, double lr, double wd)
    {
        var q1 = DynamicMap8.Values;
        var q2 = DynamicMap8.UnsignedValues;
        double bc1 = 1 - Math.Pow(0.9, t), bc2 = Math.Sqrt(1 - Math.Pow(0.999, t));
        float stepSize = (float)(-lr * bc2 / bc1), scaledEps = (float)(bc2 * 1e-8), decay = (float)(1 - lr * wd);
        float b1 = 0.9f, b2 = 0.999f, omb1 = (float)(1 - 0.9), omb2 = (float)(1 - 0.999);
        for (int b = 0; b * 256 < p.Length; b++)
        {
            int start = b * 256, end = Math.Min(p.Length, start + 256);
            var s1 = new float[end - start];
            var s2 = new float[end - start];
            float m1 = end - start < 256 ? Math.Abs(q1[128] * a1[b] * b1) : 0, m2 = 0;
            for (int i = start; i < end; i++)
            {
                bool finite = float.IsFinite(g[i]);
                s2[i - start] = finite ? q2[c2[i]] * a2[b] * b2 + omb2 * (g[i] * g[i]) : 0;
                s1[i - start] = finite ? q1[c1[i]] * a1[b] * b1 + omb1 * g[i] : 0;
                m1 = Math.Max(m1, Math.Abs(s1[i - start]));
                m2 = Math.Max(m2, Math.Abs(s2[i - start]));
            }
            a1[b] = m1;
            a2[b] = m2;
            for (int i = start; i < end; i++)
            {
                float x1 = s1[i - start], x2 = s2[i - start];
                if (float.IsFinite(g[i]))
                {
                    float updated = p[i] + stepSize * x1 / (MathF.Sqrt(x2) + scaledEps);
                    p[i] = wd > 0 ? updated * decay : updated;
                }
                byte code = Nearest(q1, x1 / m1);
                if (float.IsNegative(q1[code]) != float.IsNegative(x1)) code = (byte)(x1 > 0 ? code + 1 : code - 1);
                c1[i] = code;
                c2[i] = Nearest(q2, x2 / m2);
            }
        }
    }

    private static byte Nearest(float[] map, float x)
    {
        if (float.IsNaN(x)) return 0;
        int best = 0;
        for (int k = 1; k < 256; k++)
        {
            float dk = Math.Abs(map[k] - x), db = Math.Abs(map[best] - x);
            if (dk < db || (dk == db && k % 2 == 0)) best = k;
        }
        return (byte)best;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Steps_equal_an_independent_reference_of_the_blockwise_rules(double weightDecay)
    {
        const int n = 1000; // three full blocks and a partial one
        var random = new TensorRandom(3);
        var parameter = Tensor.Normal([n], 0, 0.1f, random);
        parameter.RequiresGrad = true;
        var optimizer = new AdamW8bit([parameter], learningRate: 1e-3, weightDecay: weightDecay, minEightBitSize: 1);
        float[] p = parameter.ToArray();
        var c1 = new byte[n];
        var c2 = new byte[n];
        var a1 = new float[4];
        var a2 = new float[4];
        for (int step = 1; step <= 30; step++)
        {
            var grad = Tensor.Normal([n], 0, 0.01f, random);
            if (step == 7) grad.AsSpan()[5] = float.NaN;       // resets that element's moments
            if (step == 9) grad.AsSpan()[300] = float.PositiveInfinity;
            if (step > 20) grad.AsSpan()[256..512].Clear();   // a block of zero gradients
            parameter.Grad = grad;
            optimizer.Step();
            ReferenceStep(p, grad.ToArray(), c1, c2, a1, a2, step, 1e-3, weightDecay);

            var saved = optimizer.StateDict().Groups[0].Parameters[0]!;
            var codes1 = System.Runtime.InteropServices.MemoryMarshal.AsBytes(saved.Buffers[0].AsSpan())[..n].ToArray();
            var codes2 = System.Runtime.InteropServices.MemoryMarshal.AsBytes(saved.Buffers[1].AsSpan())[..n].ToArray();
            Assert.Equal(c1, codes1);
            Assert.Equal(c2, codes2);
            Assert.Equal(a1, saved.Buffers[2]);
            Assert.Equal(a2, saved.Buffers[3]);
            Assert.Equal(p.Select(BitConverter.SingleToInt32Bits), parameter.ToArray().Select(BitConverter.SingleToInt32Bits));
        }
    }

    /// <summary>Noisy least squares, overdetermined (one minimum): mean ‖X·W − Y‖² over W [64, 128] (8,192 parameters).</summary>
    private static (float[] Final, double Loss) Regression(Func<Tensor, Optimizer> create, int steps)
    {
        const int rows = 512, inputs = 64, outputs = 128;
        var random = new TensorRandom(11);
        var x = Tensor.Normal([rows, inputs], 0, 1, random);
        var target = Tensor.Normal([inputs, outputs], 0, 0.1f, random);
        var y = Ops.Add(Ops.MatMul(x, target), Tensor.Normal([rows, outputs], 0, 0.1f, random));
        var w = Tensor.Zeros(inputs, outputs);
        w.RequiresGrad = true;
        var optimizer = create(w);
        double loss = 0;
        for (int s = 0; s < steps; s++)
        {
            var diff = Ops.Sub(Ops.MatMul(x, w), y);
            var l = Ops.Mean(Ops.Mul(diff, diff));
            loss = l.Item();
            w.Grad = null;
            l.Backward();
            optimizer.Step();
        }
        return (w.ToArray(), loss);
    }

    [Theory]
    [InlineData(50, 0.05, 0.03)]
    [InlineData(200, 1e-3, 1e-3)]
    public void Two_hundred_steps_stay_within_the_documented_distance_of_float32_AdamW(int steps, double weightBound, double lossBound)
    {
        var fp32 = Regression(w => new AdamW([w], learningRate: 1e-2, weightDecay: 0), steps);
        var eight = Regression(w => new AdamW8bit([w], learningRate: 1e-2, weightDecay: 0), steps);
        double diff = 0, norm = 0;
        for (int i = 0; i < fp32.Final.Length; i++)
        {
            diff += Math.Pow(fp32.Final[i] - eight.Final[i], 2);
            norm += Math.Pow(fp32.Final[i], 2);
        }
        double relative = Math.Sqrt(diff / norm);
        output.WriteLine($"{steps} steps: relative L2 distance {relative:E3}; loss 8-bit {eight.Loss:E6}, float32 {fp32.Loss:E6}");
        // Documented in docs/reliability.md (the bounds are about 3–10 × the measured values).
        Assert.True(relative < weightBound, $"relative L2 distance {relative:E3}");
        Assert.True(Math.Abs(eight.Loss - fp32.Loss) <= lossBound * fp32.Loss, $"loss {eight.Loss} vs float32 {fp32.Loss}");
        Assert.True(relative > 0, "8-bit moments must differ from float32 ones");
    }

    [Fact]
    public void Small_parameters_keep_float32_moments_and_step_exactly_as_AdamW()
    {
        var a = Tensor.Normal([100], 0, 1, new TensorRandom(1));
        var b = Tensor.FromArray(a.ToArray(), 100);
        a.RequiresGrad = b.RequiresGrad = true;
        var reference = new AdamW([a], learningRate: 1e-2);
        var eight = new AdamW8bit([b], learningRate: 1e-2);
        for (int s = 0; s < 5; s++)
        {
            var g = Tensor.Normal([100], 0, 1, new TensorRandom((ulong)s));
            a.Grad = g;
            b.Grad = g;
            reference.Step();
            eight.Step();
        }
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(8 * 100, eight.StateBytes);
    }

    [Fact]
    public void Paged_AdamW_equals_AdamW_bit_for_bit_and_its_file_is_unlinked()
    {
        var a = Tensor.Normal([400, 300], 0, 1, new TensorRandom(1));
        var b = Tensor.FromArray(a.ToArray(), 400, 300);
        a.RequiresGrad = b.RequiresGrad = true;
        var reference = new AdamW([a], learningRate: 1e-2);
        using var paged = new PagedAdamW([b], learningRate: 1e-2);
        Assert.True(paged.IsPaged);
        Assert.Equal(8L * 400 * 300, paged.PagedStateBytes);
        if (!OperatingSystem.IsWindows()) Assert.False(File.Exists(paged.PagedStateFilePath));
        for (int s = 0; s < 4; s++)
        {
            var g = Tensor.Normal([400, 300], 0, 1, new TensorRandom((ulong)s));
            a.Grad = g;
            b.Grad = g;
            reference.Step();
            paged.Step();
        }
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Saved_state_resumes_bit_for_bit(bool paged)
    {
        var start = Tensor.Normal([400, 300], 0, 0.1f, new TensorRandom(2)).ToArray(); // 120,000 elements: paged
        Tensor Gradient(int s) => Tensor.Normal([400, 300], 0, 0.01f, new TensorRandom(100 + (ulong)s));

        var straight = Tensor.FromArray(start, 400, 300);
        straight.RequiresGrad = true;
        using (var optimizer = new AdamW8bit([straight], learningRate: 1e-3, paged: paged))
        {
            Assert.Equal(paged ? 2L * 120_000 : 0, optimizer.PagedStateBytes);
            for (int s = 0; s < 10; s++) { straight.Grad = Gradient(s); optimizer.Step(); }
        }

        var resumed = Tensor.FromArray(start, 400, 300);
        resumed.RequiresGrad = true;
        var bytes = new MemoryStream();
        using (var first = new AdamW8bit([resumed], learningRate: 1e-3, paged: paged))
        {
            for (int s = 0; s < 5; s++) { resumed.Grad = Gradient(s); first.Step(); }
            first.StateDict().WriteTo(bytes);
        }
        bytes.Position = 0;
        using var second = new AdamW8bit([resumed], learningRate: 1e-3, paged: paged);
        second.LoadStateDict(OptimizerState.ReadFrom(bytes));
        for (int s = 5; s < 10; s++) { resumed.Grad = Gradient(s); second.Step(); }

        Assert.Equal(straight.ToArray().Select(BitConverter.SingleToInt32Bits), resumed.ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_state_of_another_optimizer_or_shape_is_refused_with_a_clear_message()
    {
        var p = Tensor.Zeros(5000);
        p.RequiresGrad = true;
        var adamw = new AdamW([p]);
        p.Grad = Tensor.Ones(5000);
        adamw.Step();
        var eight = new AdamW8bit([p]);
        Assert.Contains("AdamW", Assert.Throws<ArgumentException>(() => eight.LoadStateDict(adamw.StateDict())).Message);

        var other = Tensor.Zeros(6000);
        other.RequiresGrad = true;
        var wrong = new AdamW8bit([other]);
        other.Grad = Tensor.Ones(6000);
        wrong.Step();
        var error = Assert.Throws<ArgumentException>(() => eight.LoadStateDict(wrong.StateDict()));
        Assert.Contains("expected 1250", error.Message);
    }
}
