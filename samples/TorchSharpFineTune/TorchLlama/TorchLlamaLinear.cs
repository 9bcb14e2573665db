using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>Builds one projection of the decoder: in features, out features, whether it has a bias.</summary>
internal delegate nn.Module<Tensor, Tensor> TorchLlamaLinear(long inFeatures, long outFeatures, bool hasBias);

/// <summary>The default projection: TorchSharp's <c>nn.Linear</c> (weight [out, in], optional bias).</summary>
internal static class TorchLlamaLinearFactory
{
    public static readonly TorchLlamaLinear Default = (inFeatures, outFeatures, hasBias) => nn.Linear(inFeatures, outFeatures, hasBias: hasBias);
}
