using Peft.Net.Core;

namespace Peft.Net.Core.Tests.Testing;

/// <summary>
/// Finite-difference gradient checker. For a function f of several tensors it compares the analytic gradient of
/// L = Σ w ⊙ f(inputs) (w a fixed random tensor) with central differences (L(x+ε) − L(x−ε)) / 2ε, element by
/// element, for every input that requires a gradient.
/// </summary>
public static class GradCheck
{
    /// <summary>Asserts that analytic and numerical gradients agree within atol + rtol·max(|a|, |n|).</summary>
    /// <param name="f">The function under test; it must be deterministic.</param>
    /// <param name="inputs">Its inputs; those with RequiresGrad are checked.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="maxElementsPerInput">Elements checked per input (a random subset for large inputs).</param>
    public static void Assert(Func<Tensor[], Tensor> f, Tensor[] inputs, float eps = 1e-2f, double rtol = 2e-2,
        double atol = 2e-3, int maxElementsPerInput = 200, ulong seed = 1234)
    {
        var random = new TensorRandom(seed);
        foreach (var input in inputs) input.Grad = null;
        var output = f(inputs);
        var weights = Tensor.Normal(output.ShapeArray(), 0, 1, random);
        output.Backward(weights);
        var w = weights.AsSpan().ToArray();

        double Loss()
        {
            using var _ = Tensor.NoGrad();
            var y = f(inputs).ToArray();
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)w[i] * y[i];
            return sum;
        }

        for (int inputIndex = 0; inputIndex < inputs.Length; inputIndex++)
        {
            var input = inputs[inputIndex];
            if (!input.RequiresGrad) continue;
            Xunit.Assert.True(input.Grad is not null, $"input {inputIndex} ({input.Describe()}) received no gradient");
            var analytic = input.Grad!.ToArray();
            var data = input.AsSpan();
            var indices = Enumerable.Range(0, data.Length).ToArray();
            if (indices.Length > maxElementsPerInput)
                indices = indices.OrderBy(_ => random.NextUInt64()).Take(maxElementsPerInput).ToArray();
            foreach (int j in indices)
            {
                float saved = data[j];
                data[j] = saved + eps;
                double plus = Loss();
                data = input.AsSpan();
                data[j] = saved - eps;
                double minus = Loss();
                data = input.AsSpan();
                data[j] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic[j];
                double tolerance = atol + rtol * Math.Max(Math.Abs(a), Math.Abs(numeric));
                Xunit.Assert.True(Math.Abs(a - numeric) <= tolerance,
                    $"input {inputIndex} ({input.Describe()}) element {j}: analytic {a:G6} vs numeric {numeric:G6} (tolerance {tolerance:G3})");
            }
        }
    }
}
