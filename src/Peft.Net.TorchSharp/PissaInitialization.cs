using Peft.Net.Lora;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// PEFT's <c>pissa_init</c> for the TorchSharp layers: A and B from the engine's truncated SVD of the float32 base
/// weight (<see cref="PissaFactors"/>: exact for "pissa", randomized for "pissa_niter_K"), and the base rewritten to
/// the residual W − scaling·B·A, computed in float32 and cast back to the weight's dtype.
/// </summary>
internal static class PissaInitialization
{
    // weight: (N, K) → A (R, K), B (N, R) as float32 arrays
    public static (float[] A, float[] B) Factors(Tensor weight, LoraAdapterOptions options, Generator? generator, string adapterName)
    {
        using var _ = no_grad();
        int n = (int)weight.shape[0], k = (int)weight.shape[1], r = options.Rank;
        float[] w;
        using (var cpu = weight.detach().to(ScalarType.Float32, CPU).contiguous()) w = cpu.data<float>().ToArray();
        ulong seed = options.PissaNiter is null ? 0 : Seed(generator);
        var a = new float[r * k];
        var b = new float[n * r];
        PissaFactors.Compute(w, n, k, options, seed, a, b, adapterName);
        return (a, b);
    }

    // weight: (N, K) ← W − scaling·B·A; loraA: (R, K) ← a; loraB: (N, R) ← b
    public static void Write(Tensor weight, Tensor loraA, Tensor loraB, float[] a, float[] b, float scaling)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (aValues, bValues) = Values(weight, a, b, loraA.shape[0]);
        loraA.copy_(aValues);
        loraB.copy_(bValues);
        Subtract(weight, aValues, bValues, scaling);
    }

    // weight: (N, K) ← W − scaling·B·A, A (R, K) and B (N, R) from Factors: the base rewrite alone, for a PiSSA folder
    // whose saved A and B are loaded into the layer instead (the residual depends on the SVD only, as in PEFT)
    public static void WriteResidual(Tensor weight, float[] a, float[] b, int rank, float scaling)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (aValues, bValues) = Values(weight, a, b, rank);
        Subtract(weight, aValues, bValues, scaling);
    }

    // a → (R, K), b → (N, R) float32 on the weight's device
    private static (Tensor A, Tensor B) Values(Tensor weight, float[] a, float[] b, long r)
    {
        long n = weight.shape[0], k = weight.shape[1];
        return (tensor(a, [r, k]).to(weight.device), tensor(b, [n, r]).to(weight.device));
    }

    // weight: (N, K) ← W − scaling·B·A, in float32, cast back to the weight's dtype
    private static void Subtract(Tensor weight, Tensor aValues, Tensor bValues, float scaling) =>
        weight.copy_(weight.to(ScalarType.Float32) - scaling * bValues.matmul(aValues));

    // 63 random bits drawn from the generator (TorchSharp's default one when null)
    private static ulong Seed(Generator? generator)
    {
        using var draw = randint(0, long.MaxValue, [1], ScalarType.Int64, generator: generator);
        return (ulong)draw.item<long>();
    }
}
