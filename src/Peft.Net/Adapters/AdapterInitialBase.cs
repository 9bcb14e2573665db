using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net.Adapters;

/// <summary>
/// The base weights an adapter applies to, for tools that merge adapter files without building a model
/// (<c>peft merge</c>). PEFT's <c>from_pretrained</c> re-runs an <c>init_lora_weights</c> that rewrites the base before
/// it loads A and B (<c>"pissa"</c>: W − U_r·S_r·Vh_r by SVD; <c>"olora"</c>: W − scaling·Q[:, :r]·R[:r, :] by QR), so
/// merging such an adapter into the original weights needs the same rewrite first; <c>LoadAdapter</c> does it on a model.
/// </summary>
public static class AdapterInitialBase
{
    /// <summary>Whether loading an adapter with this config rewrites the linear layers' base weights (PiSSA, OLoRA).</summary>
    public static bool RewritesBase(LoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return string.Equals(config.InitLoraWeights, "pissa", StringComparison.OrdinalIgnoreCase) || OloraBaseRewrite.Applies(config);
    }

    /// <summary>
    /// Refuses, as <c>LoadAdapter</c> does, a config whose initialisation rewrites the base in a way Peft.Net does not
    /// reproduce (LoftQ, fast PiSSA, CorDA, LoRA-GA, unknown names); the message says how to convert the adapter.
    /// </summary>
    /// <param name="config">The adapter's config.</param>
    /// <param name="configPath">Its file, named in the message.</param>
    /// <exception cref="AdapterFormatException">Such an initialisation.</exception>
    public static void Check(LoraConfig config, string configPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        AdapterLoadInit.Resolve(config, configPath);
    }

    /// <summary>
    /// The base weight of linear module <paramref name="modulePath"/> as the adapter was trained on it: for PiSSA and
    /// OLoRA the residual that <c>LoadAdapter</c> computes (the same code, so the same float32 values), otherwise the
    /// weight itself.
    /// </summary>
    /// <param name="weight">The original base weight [out, in], F32/F16/BF16.</param>
    /// <param name="config">The adapter's config (rank, alpha and rsLoRA of the module come from it).</param>
    /// <param name="modulePath">The module's dotted path (for rank_pattern / alpha_pattern).</param>
    /// <returns>A new F32 tensor [out, in].</returns>
    /// <exception cref="ArgumentException">The weight is not 2-D, or the rank exceeds what its SVD/QR provides.</exception>
    public static Tensor Linear(Tensor weight, LoraConfig config, string modulePath)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(config);
        if (weight.Rank != 2)
            throw new ArgumentException($"AdapterInitialBase.Linear: '{modulePath}' weight {weight.Describe()} must be [out, in].", nameof(weight));
        var dense = weight.To(DType.F32).Clone();
        if (!RewritesBase(config)) return dense;
        int n = dense.Dim(0), k = dense.Dim(1), rank = config.RankFor(modulePath);
        if (rank > Math.Min(n, k))
            throw new ArgumentException($"'{modulePath}': rank {rank} exceeds the smaller dimension of its [{n}, {k}] weight, which {config.InitLoraWeights} needs.");
        var options = new LoraAdapterOptions(rank, (float)config.AlphaFor(modulePath), 0f, config.UseRsLora,
            OloraBaseRewrite.Applies(config) ? LoraInit.Default : LoraInit.PiSSA);
        if (OloraBaseRewrite.Applies(config))
        {
            OloraBaseRewrite.ToResidual(dense.AsSpan(), n, k, rank, options.Scaling);
            return dense;
        }
        // PiSSA: the very initialisation LoadAdapter runs, on a stand-alone layer holding this weight.
        var linear = new Linear(k, n, bias: false, random: new TensorRandom(0));
        linear.SetDenseWeight(dense);
        var layer = new LoraLinear(linear);
        layer.AddAdapter("default", options, new TensorRandom(0));
        return layer.Base.GetDenseWeight();
    }
}
