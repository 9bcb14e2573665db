using Peft.Net;
using Peft.Net.Lora;
using Peft.Net.Models;

namespace TorchSharpFineTune;

/// <summary>
/// The engine's side of the comparison, on the code path of <c>peft generate --model BASE --adapter ADAPTER --ids …</c>:
/// <see cref="LlamaForCausalLM.FromPretrained"/> with the checkpoint's dtype, <c>LoadAdapter</c>, then greedy
/// <see cref="LlamaForCausalLM.Generate"/> with a KV cache, stopping at the config's EOS ids.
/// </summary>
internal static class EngineGeneration
{
    public static LlamaForCausalLM Load(string baseDirectory, string adapterDirectory)
    {
        var model = LlamaForCausalLM.FromPretrained(baseDirectory);
        model.LoadAdapter(adapterDirectory);
        return model;
    }

    public static int[] Greedy(LlamaForCausalLM model, int[] prompt, int maxNewTokens) =>
        model.Generate(prompt, new GenerationOptions { MaxNewTokens = maxNewTokens, Greedy = true });

    /// <summary>The equivalent command line.</summary>
    public static string Command(string baseDirectory, string adapterDirectory, int[] prompt, int maxNewTokens) =>
        $"peft generate --model {baseDirectory} --adapter {adapterDirectory} --ids {string.Join(",", prompt)} --max-new-tokens {maxNewTokens} --print-ids";
}
