using Peft.Net.Lora;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>PEFT's initial values of A and B (<c>reset_lora_parameters</c>) for the TorchSharp layers.</summary>
internal static class LoraInitialization
{
    // a: (R, K) ← kaiming-uniform(a = √5) = U(−1/√K, 1/√K), or N(0, 1/R) for "gaussian"; b: (N, R) ← 0
    public static void Apply(Tensor a, Tensor b, LoraAdapterOptions options, long fanIn, Generator? generator)
    {
        using var _ = no_grad();
        switch (options.Init)
        {
            case LoraInit.Default:
                double bound = 1.0 / Math.Sqrt(fanIn);
                a.uniform_(-bound, bound, generator);
                break;
            case LoraInit.Gaussian:
                a.normal_(0, 1.0 / options.Rank, generator);
                break;
            default:
                throw new NotSupportedException($"LoRA init {options.Init} is not implemented by Peft.Net.TorchSharp.");
        }
        b.zero_();
    }
}
