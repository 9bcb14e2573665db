using Peft.Net.Adapters;

namespace Peft.Net.Tests.Adapters;

public class AdapterKeysTests
{
    [Theory]
    [InlineData("model.layers.0.self_attn.q_proj.lora_A.default.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")]
    [InlineData("model.layers.0.self_attn.q_proj.lora_B.default.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")]
    [InlineData("model.layers.0.self_attn.q_proj.lora_magnitude_vector.default.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector")]
    [InlineData("model.embed_tokens.lora_embedding_A.default", "base_model.model.model.embed_tokens.lora_embedding_A")]
    [InlineData("model.embed_tokens.lora_embedding_B.default", "base_model.model.model.embed_tokens.lora_embedding_B")]
    [InlineData("score.modules_to_save.default.weight", "base_model.model.score.weight")]
    [InlineData("model.layers.0.self_attn.q_proj.lora_A.other.weight", null)]
    [InlineData("model.layers.0.self_attn.q_proj.base_layer.weight", null)]
    [InlineData("score.original_module.weight", null)]
    public void InMemoryKeysMapToPeftFileKeys(string modelKey, string? fileKey) =>
        Assert.Equal(fileKey, AdapterKeys.ToFileKey(modelKey, "default"));

    [Fact]
    public void FileKeysGroupByModule()
    {
        var layout = AdapterKeys.Group(
        [
            "base_model.model.a.q.lora_A.weight", "base_model.model.a.q.lora_B.weight", "base_model.model.a.q.lora_magnitude_vector",
            "base_model.model.e.lora_embedding_B", "base_model.model.e.lora_embedding_A", "base_model.model.score.weight",
        ], "f");
        Assert.Equal(
            [
                new AdapterModuleWeights("a.q", AdapterModuleKind.Linear, "base_model.model.a.q.lora_A.weight", "base_model.model.a.q.lora_B.weight", "base_model.model.a.q.lora_magnitude_vector", null),
                new AdapterModuleWeights("e", AdapterModuleKind.Embedding, "base_model.model.e.lora_embedding_A", "base_model.model.e.lora_embedding_B", null, null),
            ],
            layout.Modules);
        Assert.Equal("score.weight", layout.FullTensors["base_model.model.score.weight"]);
    }

    [Theory]
    [InlineData("model.q.lora_A.weight", "does not start with 'base_model.model.'")]
    [InlineData("base_model.model.q.lora_A.weight", "module 'q' has 'base_model.model.q.lora_A.weight' but no matching B")]
    [InlineData("base_model.model.q.lora_C.weight", "is not a LoRA key Peft.Net knows")]
    public void MalformedKeySetsAreRejected(string key, string expected)
    {
        var e = Assert.Throws<AdapterFormatException>(() => AdapterKeys.Group([key], "dir/adapter_model.safetensors"));
        Assert.StartsWith("dir/adapter_model.safetensors: ", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
