using System.Reflection;
using Module = Peft.Net.Core.Nn.Module;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Lora;

/// <summary>
/// A LoRA layer over a bias-free plain or 4-bit base runs its base product and its update as one GEMM
/// (<see cref="LoraOps.LinearPlusLowRank(Tensor, BaseWeight, LowRankInput, Tensor, float)"/>): the output and every
/// gradient must carry the bits of the three-op form (the down-projection, the base product, then
/// <see cref="LoraOps.AddLowRank"/>) it replaces.
/// </summary>
public class LoraFusedBaseTests
{
    [Theory]
    [InlineData(false, 0.1f)]
    [InlineData(true, 0.1f)]
    [InlineData(false, 0f)] // no dropout: the op makes u = x·Aᵀ itself and adds du·A to dx inside the base input-gradient GEMM
    [InlineData(true, 0f)]
    public void The_fused_layer_gives_the_bits_of_the_base_product_followed_by_the_update(bool fourBit, float dropout)
    {
        var random = new TensorRandom(41);
        var baseLayer = BiasFreeBase(fourBit, random);
        var layer = new LoraLinear((ILinearLayer)baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 8, Alpha: 16, Dropout: dropout), random);
        var (input, upstream) = NonZeroBAndData(layer, random);
        var mask = dropout > 0 ? LoraOpsGradientTests.Mask([3 * 37, 96], dropout, random) : Tensor.Ones(3 * 37, 96);
        if (dropout > 0) layer.DropoutMaskOverride = (_, shape) => mask.Reshape(shape);
        Tensor a = layer.GetLoraA("default"), b = layer.GetLoraB("default");

        var fused = layer.Forward(input);
        var op = RecordedInputs(fused)[0];
        Assert.Equal("lora_linear", RecordedOperation(op)); // one op: the base product and the update
        // Without dropout the op reads lora_A itself; with it, the down-projection of the dropped-out input.
        Assert.Equal(dropout == 0, RecordedInputs(op).Any(t => ReferenceEquals(t, a)));
        fused.Backward(upstream);
        float[] y = fused.ToArray(), dx = input.Grad!.ToArray(), da = a.Grad!.ToArray(), db = b.Grad!.ToArray();
        input.Grad = null;
        a.Grad = null;
        b.Grad = null;

        // The two-op form, with the same mask and the layer's own weights.
        var x = input.Reshape(-1, 96);
        var y0 = ((Module)baseLayer).Forward(x);
        var down = Ops.MatMul(dropout > 0 ? Ops.Mul(x, mask) : x, a, transposeB: true);
        var separate = LoraOps.AddLowRank(y0, down, b, layer.GetScaling("default"), overwriteInput: true);
        separate.Backward(upstream.Reshape(-1, 70));

        TensorAssert.BitEqual(separate.ToArray(), y, "output");
        TensorAssert.BitEqual(input.Grad!.ToArray(), dx, "input gradient");
        TensorAssert.BitEqual(a.Grad!.ToArray(), da, "lora_A gradient");
        TensorAssert.BitEqual(b.Grad!.ToArray(), db, "lora_B gradient");
        Assert.Contains(y, v => v != 0f);
        Assert.Contains(da, v => v != 0f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fused_dora_matches_the_composed_form_to_rounding(bool fourBit)
    {
        // DoRA without dropout over a bias-free base: s ⊙ (x·Wᵀ + scaling·u·Bᵀ) in one GEMM and a column scale. The
        // composed form (DoraCompose reusing the base output) sums the same terms in another order.
        var random = new TensorRandom(42);
        var baseLayer = BiasFreeBase(fourBit, random);
        var layer = new DoraLinear((ILinearLayer)baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 8, Alpha: 16), random);
        var (input, upstream) = NonZeroBAndData(layer, random);
        var magnitude = layer.GetMagnitude("default")!;
        Tensor.Uniform([70], 0.5f, 2f, random).AsSpan().CopyTo(magnitude.AsSpan());
        Tensor a = layer.GetLoraA("default"), b = layer.GetLoraB("default");

        var fused = layer.Forward(input);
        Assert.Equal("dora_linear", RecordedOperation(RecordedInputs(fused)[0]));
        fused.Backward(upstream);
        float[] y = fused.ToArray(), dx = input.Grad!.ToArray(), da = a.Grad!.ToArray(), db = b.Grad!.ToArray(), dm = magnitude.Grad!.ToArray();
        input.Grad = a.Grad = b.Grad = magnitude.Grad = null;

        var x = input.Reshape(-1, 96);
        var y0 = ((Module)baseLayer).Forward(x);
        var down = Ops.MatMul(x, a, transposeB: true);
        Tensor norm;
        using (Tensor.NoGrad())
            norm = DoraWeightNorm.Compute(BaseWeight.Of((ILinearLayer)baseLayer), a, b, layer.GetScaling("default"));
        var composed = LoraOps.DoraCompose(y0, null, null, down, b, magnitude, norm, layer.GetScaling("default"));
        composed.Backward(upstream.Reshape(-1, 70));

        TensorAssert.Close(composed.ToArray(), y, 1e-5, 1e-5, "output");
        TensorAssert.Close(input.Grad!.ToArray(), dx, 1e-5, 1e-5, "input gradient");
        TensorAssert.Close(a.Grad!.ToArray(), da, 1e-4, 1e-5, "lora_A gradient");
        TensorAssert.Close(b.Grad!.ToArray(), db, 1e-4, 1e-5, "lora_B gradient");
        TensorAssert.Close(magnitude.Grad!.ToArray(), dm, 1e-4, 1e-5, "magnitude gradient");
    }

    // A bias-free 96 → 70 base layer, float or 4-bit.
    private static Module BiasFreeBase(bool fourBit, TensorRandom random)
    {
        var source = new Linear(96, 70, false, random);
        return fourBit ? Nf4Linear.FromLinear(source, QuantType.Nf4, blockSize: 64, doubleQuant: true) : source;
    }

    // Gives lora_B values (it starts at zero) and returns an input [3, 37, 96] that requires a gradient and an
    // upstream gradient [3, 37, 70].
    private static (Tensor Input, Tensor Upstream) NonZeroBAndData(LoraLinear layer, TensorRandom random)
    {
        Tensor.Normal([70, 8], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var input = Tensor.Normal([3, 37, 96], 0, 1, random);
        input.RequiresGrad = true;
        return (input, Tensor.Normal([3, 37, 70], 0, 1, random));
    }

    // The autograd node that made t (internal to the engine): its operation name and its inputs.
    private static object Node(Tensor t) =>
        typeof(Tensor).GetProperty("Node", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(t)!;

    private static string RecordedOperation(Tensor t) => (string)Node(t).GetType().GetProperty("Operation")!.GetValue(Node(t))!;

    private static Tensor[] RecordedInputs(Tensor t) => (Tensor[])Node(t).GetType().GetProperty("Inputs")!.GetValue(Node(t))!;
}
