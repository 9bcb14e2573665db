using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// What LoRA layers need of the linear layer they wrap, for both bases: TorchSharp's <see cref="Linear"/> and
/// <see cref="Nf4Linear"/> (sizes, bias, the dense weight for DoRA norms and merging, and writing a merged weight back).
/// </summary>
internal static class LinearBase
{
    /// <summary>True for a module LoRA can wrap as a linear layer.</summary>
    public static bool IsLinear(nn.Module module) => module is Linear or Nf4Linear;

    /// <summary>(in_features, out_features) of a linear base.</summary>
    public static (long In, long Out) Size(nn.Module module) => module switch
    {
        Linear l => (l.in_features, l.out_features),
        Nf4Linear q => (q.InFeatures, q.OutFeatures),
        _ => throw new ArgumentException($"{module.GetType().Name} is not a linear layer (Linear or Nf4Linear)."),
    };

    /// <summary>The bias of a linear base, or null.</summary>
    public static Tensor? Bias(nn.Module module) => module switch
    {
        Linear l => l.bias,
        Nf4Linear q => q.bias,
        _ => null,
    };

    /// <summary>The weight [out, in] as float32 without gradient: the parameter itself for a float base (do not write to it), a new tensor for a 4-bit base.</summary>
    public static Tensor DenseWeight(nn.Module module) => module switch
    {
        Linear l => l.weight!.detach(),
        Nf4Linear q => q.DequantizeWeight(),
        _ => throw new ArgumentException($"{module.GetType().Name} is not a linear layer (Linear or Nf4Linear)."),
    };

    /// <summary>Writes a new dense weight [out, in] into the base (a 4-bit base is re-quantized with its own settings).</summary>
    public static void SetDenseWeight(nn.Module module, Tensor weight)
    {
        using var _ = torch.no_grad();
        switch (module)
        {
            case Linear l: l.weight!.copy_(weight); break;
            case Nf4Linear q: q.SetDenseWeight(weight); break;
            default: throw new ArgumentException($"{module.GetType().Name} is not a linear layer (Linear or Nf4Linear).");
        }
    }
}
