using Peft.Net.Core;
using Peft.Net.Models.Gguf;
using Peft.Net.Models.Tests.Gguf;

namespace Peft.Net.LlamaCpp.Tests;

/// <summary>Small models for the llama.cpp comparisons and Peft.Net's own greedy decoding of them.</summary>
internal static class OracleModels
{
    /// <summary>A random Llama with grouped-query attention (8 query heads over 2 kv heads), vocabulary 256.</summary>
    public static Models.LlamaForCausalLM RandomGqaLlama(ulong seed = 7) => new(new Models.LlamaConfig
    {
        HiddenSize = 64, IntermediateSize = 160, NumHiddenLayers = 2, NumAttentionHeads = 8, NumKeyValueHeads = 2, VocabSize = 256,
        MaxPositionEmbeddings = 256, RmsNormEps = 1e-5, RopeTheta = 10000, BosTokenId = 1, EosTokenIds = [2],
    }, new TensorRandom(seed));

    /// <summary>Exports <paramref name="model"/> with a 256-symbol byte-level tokenizer.</summary>
    public static string Export(Models.LlamaForCausalLM model, string folder, string name, GgufTensorType type = GgufTensorType.F32)
    {
        string tokenizer = GgufTestFiles.WriteByteLevelTokenizer(Path.Combine(folder, name + "-tokenizer"), model.Config.VocabSize);
        string path = Path.Combine(folder, name + ".gguf");
        model.ExportGguf(path, new GgufExportOptions { TokenizerDirectory = tokenizer, TensorType = type });
        return path;
    }

    /// <summary>Peft.Net's greedy continuation (no stop token), as <see cref="LlamaCppRunner.Greedy"/>.</summary>
    public static int[] Greedy(Models.LlamaForCausalLM model, int[] prompt, int count) =>
        model.Generate(prompt, new Models.GenerationOptions { MaxNewTokens = count, StopTokens = [] });

    /// <summary>Peft.Net's logits [T, V] for one sequence.</summary>
    public static float[] Logits(Models.LlamaForCausalLM model, int[] ids)
    {
        using (Tensor.NoGrad()) return model.Forward(ids, 1, ids.Length).ToArray();
    }
}
