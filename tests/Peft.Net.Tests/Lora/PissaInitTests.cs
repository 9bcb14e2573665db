using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.LinearAlgebra;
using Peft.Net.Lora;
using Peft.Net.Tests.Adapters;
using Peft.Net.Tests.LinearAlgebra;

namespace Peft.Net.Tests.Lora;

/// <summary>
/// PiSSA initialisation through both SVD paths: "pissa" (leading triplets to float accuracy) and "pissa_niter_K"
/// (randomized): the residual identity W = W_res + scaling·B·A, the split of the spectrum, seeds, and the config value.
/// </summary>
public sealed class PissaInitTests : IDisposable
{
    // [Out, In] = [200, 180]: above the Jacobi cut-off, so "pissa" runs the subspace iteration
    private const int Out = 200, In = 180, Rank = 8;
    private const float Alpha = 16;   // scaling 2
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static float[] Weight() => SpectrumMatrix.Make(Out, In, SpectrumMatrix.Geometric(In, 0.9), seed: 40);

    private static (LoraLinear Layer, Linear Base) Initialise(float[] weight, int? niter, ulong seed)
    {
        var baseLayer = new Linear(In, Out, bias: false, random: new TensorRandom(0));
        weight.CopyTo(baseLayer.Weight.AsSpan());
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: Rank, Alpha: Alpha, Init: LoraInit.PiSSA) { PissaNiter = niter }, new TensorRandom(seed));
        return (layer, baseLayer);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(4)]
    public void ResidualPlusScaledBAReproducesTheWeight(int? niter)
    {
        var w = Weight();
        var (layer, baseLayer) = Initialise(w, niter, seed: 1);
        var a = layer.GetLoraA("default").ToArray();   // (R, In)
        var b = layer.GetLoraB("default").ToArray();   // (Out, R)
        var residual = baseLayer.Weight.ToArray();
        float scaling = layer.GetScaling("default");
        Assert.Equal(2f, scaling);
        // W_res = W − scaling·B·A in float32: each entry within a few roundings of its terms
        for (int o = 0; o < Out; o++)
            for (int j = 0; j < In; j++)
            {
                double product = 0, magnitude = Math.Abs(w[o * In + j]);
                for (int c = 0; c < Rank; c++)
                {
                    double term = (double)scaling * b[o * Rank + c] * a[c * In + j];
                    product += term;
                    magnitude += Math.Abs(term);
                }
                double error = Math.Abs(residual[o * In + j] + product - w[o * In + j]);
                Assert.True(error <= (Rank + 4) * Math.Pow(2, -24) * magnitude, $"W[{o},{j}]: W_res + s·B·A is off by {error}");
            }
        // The adapter took the r leading components: A's rows carry σᵢ/scaling, and the residual's spectrum starts at σ_r.
        var exact = ThinSvd.Compute(w, Out, In);
        for (int i = 0; i < Rank; i++)
        {
            double rowSquares = 0, columnSquares = 0;
            for (int j = 0; j < In; j++) rowSquares += (double)a[i * In + j] * a[i * In + j];
            for (int o = 0; o < Out; o++) columnSquares += (double)b[o * Rank + i] * b[o * Rank + i];
            Assert.Equal(exact.S[i] / scaling, rowSquares, 1e-5);
            Assert.Equal(exact.S[i] / scaling, columnSquares, 1e-5);
        }
        Assert.Equal(exact.S[Rank], ThinSvd.Compute(residual, Out, In).S[0], 1e-5);
    }

    [Fact]
    public void ExactPissaGivesTheJacobiSvdsLowRankPart()
    {
        var w = Weight();
        var (layer, _) = Initialise(w, niter: null, seed: 1);
        var delta = layer.GetDeltaWeight("default").ToArray();   // scaling·B·A (Out, In)
        var exact = ThinSvd.Compute(w, Out, In);
        int p = exact.P;
        for (int o = 0; o < Out; o++)
            for (int j = 0; j < In; j++)
            {
                double expected = 0;
                for (int c = 0; c < Rank; c++) expected += exact.U[o * p + c] * exact.S[c] * exact.Vt[c * In + j];
                Assert.True(Math.Abs(delta[o * In + j] - expected) <= 1e-5 * exact.S[0], $"ΔW[{o},{j}] = {delta[o * In + j]}, Jacobi {expected}");
            }
    }

    [Fact]
    public void NiterDependsOnTheSeedAndExactPissaDoesNot()
    {
        var w = Weight();
        var niterA = Initialise(w, 2, seed: 1).Layer.GetLoraA("default").ToArray();
        Assert.Equal(niterA, Initialise(w, 2, seed: 1).Layer.GetLoraA("default").ToArray());
        Assert.NotEqual(niterA, Initialise(w, 2, seed: 2).Layer.GetLoraA("default").ToArray());
        Assert.Equal(Initialise(w, null, seed: 1).Layer.GetLoraA("default").ToArray(), Initialise(w, null, seed: 2).Layer.GetLoraA("default").ToArray());
    }

    [Theory]
    [InlineData("pissa_niter_0", 0)]
    [InlineData("pissa_niter_4", 4)]
    [InlineData("PISSA_NITER_16", 16)]
    public void PissaNiterValuesParse(string name, int niter)
    {
        var config = new LoraConfig { InitLoraWeights = name };
        Assert.Equal(LoraInit.PiSSA, config.Init);
        Assert.Equal(niter, config.PissaNiter);
    }

    [Theory]
    [InlineData("pissa_niter_")]
    [InlineData("pissa_niter_x")]
    [InlineData("pissa_niter_-1")]
    [InlineData("pissa_niter_4.5")]
    public void MalformedPissaNiterIsRefusedNamingIt(string name)
    {
        var config = new LoraConfig { InitLoraWeights = name, TargetModules = ["q_proj"] };
        Assert.Null(config.Init);
        Assert.Null(config.PissaNiter);
        var e = Assert.Throws<NotSupportedException>(() => new TinyCausalLm().ApplyLora(config));
        Assert.Contains($"\"{name}\"", e.Message);
        Assert.Contains("pissa_niter_K", e.Message);
    }

    [Fact]
    public void PissaNiterRoundTripsThroughTheSavedConfigAsPeftWritesIt()
    {
        Assert.Equal("pissa_niter_4", LoraConfig.PissaNiterName(4));
        var model = new TinyCausalLm(seed: 9);
        model.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj"], InitLoraWeights = LoraConfig.PissaNiterName(4) });
        var layer = (LoraLinear)PeftModelExtensions.LoraLayers(model).First().Item2;
        Assert.Equal(4, layer.GetOptions("default").PissaNiter);
        Assert.Equal(LoraInit.PiSSA, layer.GetOptions("default").Init);
        string dir = Directory.CreateDirectory(_folder.File("niter")).FullName;
        model.SaveAdapter(dir);
        string path = Path.Combine(dir, AdapterFiles.ConfigFile);
        Assert.Contains("\"init_lora_weights\": \"pissa_niter_4\"", File.ReadAllText(path));
        var loaded = LoraConfig.Load(path);
        Assert.Equal("pissa_niter_4", loaded.InitLoraWeights);
        Assert.Equal(4, loaded.PissaNiter);
        Assert.Equal(File.ReadAllText(path), loaded.ToJson());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(2)]
    public void ANonFiniteBaseWeightIsRefusedNamingTheAdapter(int? niter)
    {
        var w = Weight();
        w[123] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => Initialise(w, niter, seed: 1));
        Assert.Contains("PiSSA adapter 'default'", e.Message);
        Assert.Contains("NaN or infinite", e.Message);
    }

    [Fact]
    public void OptionsRefuseANegativeOrMisplacedNiter()
    {
        var layer = new LoraLinear(new Linear(8, 8, bias: false));
        var negative = Assert.Throws<ArgumentException>(() =>
            layer.AddAdapter("n", new LoraAdapterOptions(Rank: 2, Init: LoraInit.PiSSA) { PissaNiter = -1 }, new TensorRandom(1)));
        Assert.Contains("≥ 0", negative.Message);
        var gaussian = Assert.Throws<ArgumentException>(() =>
            layer.AddAdapter("g", new LoraAdapterOptions(Rank: 2, Init: LoraInit.Gaussian) { PissaNiter = 2 }, new TensorRandom(1)));
        Assert.Contains("PiSSA initialisation only", gaussian.Message);
    }
}
