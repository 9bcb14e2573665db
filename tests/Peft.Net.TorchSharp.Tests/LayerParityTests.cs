using TensorRandom = Peft.Net.Core.TensorRandom;
using Tensor = TorchSharp.torch.Tensor;
using Peft.Net.Lora;
using Peft.Net.Quantization;
using TorchSharp;
using EngineLinear = Peft.Net.Core.Nn.Linear;
using EngineLoraLinear = Peft.Net.Lora.LoraLinear;
using EngineNf4Linear = Peft.Net.Quantization.Nf4Linear;
using EngineTensor = Peft.Net.Core.Tensor;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>
/// Every TorchSharp layer against the engine's layer on the same weights: forward, input gradient and adapter
/// gradients within 1e-5 relative (float32 in both; the sums run in different orders).
/// </summary>
public sealed class LayerParityTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, false)]
    public void LoraLinear_matches_the_engine(bool dora, bool rsLora, bool bias)
    {
        const int inF = 37, outF = 29, rank = 4;
        var random = new TensorRandom(7);
        var w = EngineTensor.Normal([outF, inF], 0, 0.3f, random);
        var b = bias ? EngineTensor.Normal([outF], 0, 0.1f, random) : null;
        var options = new LoraAdapterOptions(rank, 8, 0, rsLora, UseDora: dora);
        var engine = new EngineLoraLinear(new EngineLinear(w, b));
        engine.AddAdapter("default", options, random);
        FillNonZero(engine.GetLoraB("default"), random);

        var baseLayer = nn.Linear(inF, outF, hasBias: bias);
        Parity.CopyInto(baseLayer.weight!, w);
        if (b is not null) Parity.CopyInto(baseLayer.bias!, b);
        var layer = dora ? new DoraLinear(baseLayer) : new LoraLinear(baseLayer);
        layer.AddAdapter("default", options);
        Parity.CopyInto(layer.LoraA("default"), engine.GetLoraA("default"));
        Parity.CopyInto(layer.LoraB("default"), engine.GetLoraB("default"));
        if (dora) Parity.CopyInto(layer.Magnitude("default")!, engine.GetMagnitude("default")!);

        CompareForwardBackward(engine, layer, inF, random, [
            (engine.GetLoraA("default"), layer.LoraA("default"), "dA"),
            (engine.GetLoraB("default"), layer.LoraB("default"), "dB"),
            .. dora ? [(engine.GetMagnitude("default")!, (Tensor)layer.Magnitude("default")!, "dm")] : Array.Empty<(EngineTensor, Tensor, string)>(),
        ]);
        Assert.False(baseLayer.weight!.requires_grad);
    }

    [Theory]
    [InlineData(QuantType.Nf4, true, false)]
    [InlineData(QuantType.Fp4, false, false)]
    [InlineData(QuantType.Nf4, true, true)]
    public void Nf4Linear_under_lora_matches_the_engine_and_holds_the_same_bytes(QuantType type, bool doubleQuant, bool dora)
    {
        const int inF = 128, outF = 48, rank = 8;
        var random = new TensorRandom(11);
        var w = EngineTensor.Normal([outF, inF], 0, 0.5f, random);
        var b = EngineTensor.Normal([outF], 0, 0.1f, random);
        var options = new LoraAdapterOptions(rank, 16, 0, UseDora: dora);
        var engineBase = EngineNf4Linear.FromLinear(new EngineLinear(w, b), type, 64, doubleQuant);
        var engine = new EngineLoraLinear(engineBase);
        engine.AddAdapter("default", options, random);
        FillNonZero(engine.GetLoraB("default"), random);

        var linear = nn.Linear(inF, outF);
        Parity.CopyInto(linear.weight!, w);
        Parity.CopyInto(linear.bias!, b);
        var quantized = Nf4Linear.FromLinear(linear, type, 64, doubleQuant);
        Assert.Equal(engineBase.Weight.Packed, quantized.Weight.Packed);
        var expectedState = Bnb4BitSerializer.ToTensors("weight", engineBase.Weight);
        var state = quantized.state_dict();
        foreach (var (key, part) in expectedState)
            Assert.Equal(RawBytes(part), state[key].bytes.ToArray());

        var layer = dora ? new DoraLinear(quantized) : new LoraLinear(quantized);
        layer.AddAdapter("default", options);
        Parity.CopyInto(layer.LoraA("default"), engine.GetLoraA("default"));
        Parity.CopyInto(layer.LoraB("default"), engine.GetLoraB("default"));
        if (dora) Parity.CopyInto(layer.Magnitude("default")!, engine.GetMagnitude("default")!);
        CompareForwardBackward(engine, layer, inF, random, [
            (engine.GetLoraA("default"), layer.LoraA("default"), "dA"),
            (engine.GetLoraB("default"), layer.LoraB("default"), "dB"),
        ]);
    }

    [Fact]
    public void Nf4Linear_keeps_no_float_weight_and_gives_the_weight_no_gradient()
    {
        var linear = nn.Linear(64, 32);
        var quantized = Nf4Linear.FromLinear(linear);
        Assert.DoesNotContain(quantized.parameters(), p => p.requires_grad);
        Assert.DoesNotContain(quantized.named_buffers(), b => b.buffer.dtype == ScalarType.Float32 && b.buffer.numel() >= 64 * 32);
        var x = torch.randn(5, 64, requires_grad: true);
        quantized.call(x).sum().backward();
        Assert.NotNull(x.grad);
        using var dense = quantized.DequantizeWeight();
        var expected = Parity.Values(torch.ones(5, 32).matmul(dense));
        Assert.True(Parity.RelativeError(Parity.Values(x.grad!), expected) <= Tolerance);
    }

    [Fact]
    public void LoraEmbedding_matches_the_engine()
    {
        const int vocab = 50, dim = 12, rank = 4;
        var random = new TensorRandom(3);
        var table = EngineTensor.Normal([vocab, dim], 0, 1, random);
        var engine = new Peft.Net.Lora.LoraEmbedding(new Peft.Net.Core.Nn.Embedding(table));
        var options = new LoraAdapterOptions(rank, 8, 0);
        engine.AddAdapter("default", options, random);
        FillNonZero(engine.GetLoraA("default"), random);

        var embedding = nn.Embedding(vocab, dim);
        Parity.CopyInto(embedding.weight!, table);
        var layer = new LoraEmbedding(embedding);
        layer.AddAdapter("default", options);
        Parity.CopyInto(layer.LoraA("default"), engine.GetLoraA("default"));
        Parity.CopyInto(layer.LoraB("default"), engine.GetLoraB("default"));

        int[] ids = [0, 7, 49, 7, 3, 12];
        var expected = engine.Forward(EngineTensor.Wrap(ids.ToArray(), 2, 3));
        var actual = layer.call(torch.tensor(ids.Select(i => (long)i).ToArray(), [2, 3]));
        Parity.Close(expected, actual, Tolerance, "embedding forward");
    }

    private static void CompareForwardBackward(Peft.Net.Core.Nn.Module engine, nn.Module<Tensor, Tensor> layer, int inF, TensorRandom random,
        (EngineTensor Engine, Tensor Torch, string What)[] parameters)
    {
        var x = EngineTensor.Normal([2, 5, inF], 0, 1, random);
        x.RequiresGrad = true;
        var y = engine.Forward(x);
        var g = EngineTensor.Normal(y.ShapeArray(), 0, 1, random);
        y.Backward(g);

        var xt = Parity.ToTorch(x.Detach()).requires_grad_(true);
        var yt = layer.call(xt);
        yt.backward([Parity.ToTorch(g)]);

        Parity.Close(y, yt, Tolerance, "forward");
        Parity.Close(x.Grad!, xt.grad!, Tolerance, "dX");
        foreach (var (e, t, what) in parameters)
            Parity.Close(e.Grad!, t.grad!, Tolerance, what);
    }

    private static void FillNonZero(EngineTensor t, TensorRandom random)
    {
        var values = EngineTensor.Normal(t.ShapeArray(), 0, 0.2f, random).AsSpan();
        values.CopyTo(t.AsSpan());
    }

    private static byte[] RawBytes(EngineTensor t) => t.Storage switch
    {
        byte[] bytes => bytes[t.Offset..(t.Offset + t.Count)],
        float[] floats => System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan(t.Offset, t.Count)).ToArray(),
        _ => throw new InvalidOperationException(),
    };
}
