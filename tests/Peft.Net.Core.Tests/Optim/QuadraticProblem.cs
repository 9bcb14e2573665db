using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

/// <summary>
/// The training problem of tests/fixtures/make_optim.py: parameters p with the loss 0.5·Σ c·(p − t)², whose gradient
/// c·(p − t) is computed in float32 exactly as the generator computes it.
/// </summary>
internal sealed class QuadraticProblem
{
    private readonly Dictionary<string, (float[] C, float[] T)> _terms = new();

    private QuadraticProblem(IReadOnlyList<string> names, Dictionary<string, Tensor> parameters)
    {
        Names = names;
        Parameters = parameters;
    }

    public IReadOnlyList<string> Names { get; }

    public Dictionary<string, Tensor> Parameters { get; }

    public Tensor this[string name] => Parameters[name];

    /// <summary>The problem stored in a trajectory fixture (initial parameters, c and t).</summary>
    public static QuadraticProblem FromFixture(Fixture fixture)
    {
        var names = fixture.Meta.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var problem = new QuadraticProblem(names, names.ToDictionary(n => n, n => Trainable(fixture.Tensor("init." + n))));
        foreach (var n in names) problem._terms[n] = (fixture.Data("c." + n), fixture.Data("t." + n));
        return problem;
    }

    /// <summary>A random problem with the given parameter shapes.</summary>
    public static QuadraticProblem Random(ulong seed, params (string Name, int[] Shape)[] shapes)
    {
        var random = new TensorRandom(seed);
        var problem = new QuadraticProblem(shapes.Select(s => s.Name).ToArray(),
            shapes.ToDictionary(s => s.Name, s => Trainable(Tensor.Normal(s.Shape, 0, 1, random))));
        foreach (var (name, shape) in shapes)
            problem._terms[name] = (Tensor.Uniform(shape, 0.1f, 2f, random).ToArray(), Tensor.Normal(shape, 0, 1, random).ToArray());
        return problem;
    }

    /// <summary>Sets p.Grad = c·(p − t) for every parameter except those in <paramref name="without"/> (Grad = null).</summary>
    public void SetGradients(params string[] without)
    {
        foreach (var name in Names)
        {
            var p = Parameters[name];
            if (without.Contains(name))
            {
                p.Grad = null;
                continue;
            }
            var (c, t) = _terms[name];
            var values = p.AsSpan();
            var grad = new float[values.Length];
            for (int i = 0; i < grad.Length; i++) grad[i] = c[i] * (values[i] - t[i]);
            p.Grad = Tensor.FromArray(grad, p.ShapeArray());
        }
    }

    /// <summary>A copy of every parameter's values.</summary>
    public Dictionary<string, float[]> Snapshot() => Names.ToDictionary(n => n, n => Parameters[n].ToArray());

    private static Tensor Trainable(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }
}

/// <summary>Comparisons in units in the last place.</summary>
internal static class Ulp
{
    /// <summary>Distance between two floats counted in representable floats (0 when bitwise equal).</summary>
    public static long Distance(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b)) return float.IsNaN(a) && float.IsNaN(b) ? 0 : long.MaxValue;
        return Math.Abs(Ordered(a) - Ordered(b));
    }

    /// <summary>Asserts that every element is within <paramref name="maxUlps"/> of the expected one.</summary>
    public static void AssertWithin(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, long maxUlps, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            long d = Distance(expected[i], actual[i]);
            if (d > maxUlps)
                Assert.Fail($"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} ({d} ulps apart, at most {maxUlps} allowed)");
        }
    }

    private static long Ordered(float x)
    {
        int bits = BitConverter.SingleToInt32Bits(x);
        return bits < 0 ? int.MinValue - (long)bits : bits;
    }
}

/// <summary>Small tensor builders for tests.</summary>
internal static class TestTensors
{
    /// <summary>A 1-D F32 tensor of <paramref name="values"/>.</summary>
    public static Tensor Vector(params float[] values) => Tensor.FromArray(values, values.Length);
}
