using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>
/// The baseline of the overhead measurement: the smallest LoRA layer a TorchSharp user would write by hand — a frozen
/// <c>Linear</c> plus two bias-free <c>Linear</c>s A [r, in] and B [out, r], <c>y = W·x + b + (α/r)·B(A(x))</c>.
/// No dropout, one adapter, no merging, no names to honour.
/// </summary>
internal sealed class HandwrittenLoraLinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private readonly Linear base_layer;
    private readonly Linear lora_A;
    private readonly Linear lora_B;
#pragma warning restore IDE1006
    private readonly double _scaling;

    public HandwrittenLoraLinear(long inFeatures, long outFeatures, bool hasBias, int rank, double alpha) : base(nameof(HandwrittenLoraLinear))
    {
        base_layer = nn.Linear(inFeatures, outFeatures, hasBias: hasBias);
        lora_A = nn.Linear(inFeatures, rank, hasBias: false);
        lora_B = nn.Linear(rank, outFeatures, hasBias: false);
        using (no_grad()) lora_B.weight!.zero_();
        foreach (var p in base_layer.parameters()) p.requires_grad = false;
        _scaling = alpha / rank;
        RegisterComponents();
    }

    // x: (..., in) → (..., out)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (base_layer.forward(x) + lora_B.forward(lora_A.forward(x)) * _scaling).MoveToOuterDisposeScope();
    }
}
