using LLama;
using LLama.Native;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Models;
using Peft.Net.Models.Tests.Gguf;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.LlamaCpp.Tests;

/// <summary>Files written by llama.cpp, imported by Peft.Net: same tokens, same greedy ids, logits within llama.cpp's rounding.</summary>
public sealed class ImportOracleTests
{
    [Theory]
    [InlineData("Hello world")]
    [InlineData("The quick brown fox jumps over the lazy dog. 1234567890")]
    [InlineData(" Leading space, tabs\tand\nnewlines; ünïcödé ☃ and 😀 emoji")]
    public void The_llama_cpp_written_model_tokenizes_and_decodes_greedily_as_llama_cpp(string prompt)
    {
        string path = GgufTestFiles.LlamaCppTinyModel();
        using var llama = new LlamaCppRunner(path);
        var tokenizer = GgufTokenizer.FromGguf(path);
        int[] ids = tokenizer.Encode(prompt, addSpecialTokens: true);
        Assert.Equal(llama.Tokenize(prompt, addBos: true), ids);

        var model = LlamaForCausalLM.FromGguf(path);
        Assert.Equal(llama.Greedy(ids, 16), OracleModels.Greedy(model, ids, 16));
        // F16 weights: llama.cpp also rounds the activations to F16 before each product (reference §6).
        ExportOracleTests.AssertLogitsClose(OracleModels.Logits(model, ids), llama.Logits(ids), relative: 2e-2);
    }

    public static readonly TheoryData<LLamaFtype, GgmlType[]> Quantizations = new()
    {
        { LLamaFtype.MOSTLY_Q8_0, [GgmlType.Q8_0] },
        { LLamaFtype.MOSTLY_Q4_0, [GgmlType.Q4_0] },
        { LLamaFtype.MOSTLY_Q4_K_M, [GgmlType.Q4_K, GgmlType.Q6_K] },
        { LLamaFtype.MOSTLY_Q6_K, [GgmlType.Q6_K] },
    };

    [Theory]
    [MemberData(nameof(Quantizations))]
    public void Files_quantized_by_llama_cpp_import_with_its_dequantization(LLamaFtype type, GgmlType[] expectedTypes)
    {
        using var temp = new TempFolder();
        // K-quants need rows that are multiples of 256.
        var source = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 256, IntermediateSize = 512, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 256,
            MaxPositionEmbeddings = 128, RmsNormEps = 1e-5,
        }, new Core.TensorRandom(3));
        string f32 = OracleModels.Export(source, temp.Path, "f32");
        string quantized = temp.File(type + ".gguf");
        LlamaCppRunner.EnsureNativeLibrary();
        Assert.True(LLamaQuantizer.Quantize(f32, quantized, type, nthread: 2), $"llama.cpp failed to quantize to {type}:\n{LlamaCppRunner.NativeLog()}");
        using (var file = GgufFile.Open(quantized))
            Assert.Equal(expectedTypes.Order(), file.Tensors.Select(t => t.Type).Where(t => t is not (GgmlType.F32 or GgmlType.F16)).Distinct().Order());

        var model = LlamaForCausalLM.FromGguf(quantized);
        // Our dequantized weights are close to the originals (the quantizer's error), not equal.
        var original = source.StateDict()["model.layers.0.mlp.up_proj.weight"].ToArray();
        var back = model.StateDict()["model.layers.0.mlp.up_proj.weight"].ToArray();
        double error = original.Zip(back).Max(p => Math.Abs(p.First - p.Second)), range = original.Max(Math.Abs);
        Assert.InRange(error, 1e-6, range * 0.2);

        int[] ids = [1, 17, 42, 99, 3, 250, 7, 200];
        using var llama = new LlamaCppRunner(quantized);
        // llama.cpp quantizes the activations to 8 bits for these types, Peft.Net multiplies in float32.
        ExportOracleTests.AssertLogitsClose(OracleModels.Logits(model, ids), llama.Logits(ids), relative: 5e-2);
    }
}
