using Peft.Net.Adapters;

namespace Peft.Net.Lora;

/// <summary>
/// What loading an adapter folder does for its <c>init_lora_weights</c>. PEFT's <c>from_pretrained</c> runs the
/// initialisation on the base before it loads the saved A and B, so an initialisation that rewrites the base weight
/// (PiSSA, OLoRA, LoftQ, CorDA, LoRA-GA) changes what the adapter means: the saved A and B only fit that residual base.
/// </summary>
internal static class AdapterLoadInit
{
    /// <summary>Initialisations that leave the base weight as it is: loading them needs nothing but the saved tensors.</summary>
    private static readonly HashSet<string> BasePreserving = new(StringComparer.OrdinalIgnoreCase) { "true", "false", "gaussian", "eva", "orthogonal" };

    /// <summary>The initialisation to run before the saved tensors are copied in (OLoRA: the default; its base rewrite
    /// runs after the copy, <see cref="OloraBaseRewrite"/>).</summary>
    /// <exception cref="AdapterFormatException">An initialisation that rewrites the base in a way Peft.Net does not reproduce; the message says how to convert the adapter.</exception>
    public static LoraInit Resolve(LoraConfig config, string configPath)
    {
        string name = config.InitLoraWeights;
        if (BasePreserving.Contains(name) || OloraBaseRewrite.Applies(config)) return LoraInit.Default;
        if (string.Equals(name, "pissa", StringComparison.OrdinalIgnoreCase)) return LoraInit.PiSSA;   // deterministic SVD: re-run as PEFT does
        string why = name.StartsWith("pissa_niter_", StringComparison.OrdinalIgnoreCase)
            ? "PEFT re-runs a randomized SVD (fast PiSSA) on the base weights when it loads this adapter, so the residual base it gives cannot be reproduced"
            : $"PEFT re-runs \"{name}\" on the base weights when it loads this adapter, rewriting them, and Peft.Net does not implement that initialisation";
        throw new AdapterFormatException(configPath,
            $"'init_lora_weights' is \"{name}\": {why}. Loading the saved A and B on the original base would give wrong outputs. " +
            "Convert it to a plain LoRA adapter in Python with PEFT: save it with model.save_pretrained(out_dir, " +
            "path_initial_model_for_weight_conversion=<the adapter folder saved right after initialisation, before training>) " +
            "(PEFT's convert_pissa_to_lora / convert_mutated_to_lora), which writes an adapter with init_lora_weights true that " +
            "applies to the original base; or merge it into its residual base model and use that model.");
    }
}
