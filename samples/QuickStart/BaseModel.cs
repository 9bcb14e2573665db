using Peft.Net.Core;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;

namespace QuickStart;

/// <summary>The base model: a small byte-level Llama, loaded from a folder or created and briefly pre-trained on generated text.</summary>
internal static class BaseModel
{
    public static LlamaConfig Config { get; } = new()
    {
        HiddenSize = 128,
        IntermediateSize = 344,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 259, // ByteTokenizer: 256 bytes + <s>, </s>, <pad>
        MaxPositionEmbeddings = 256,
        BosTokenId = ByteTokenizer.Bos,
        EosTokenIds = [ByteTokenizer.Eos],
        PadTokenId = ByteTokenizer.Pad,
        TieWordEmbeddings = true,
    };

    /// <summary>
    /// Pre-training data: generated sentences plus Q/A pairs of other task families (so the model knows the layout but
    /// not the fine-tuning tasks), packed into 128-token chunks.
    /// </summary>
    public static IReadOnlyList<TokenizedExample> PretrainingData(ITokenizer tokenizer)
    {
        var generator = new DemoDataGenerator(seed: 1);
        var documents = generator.GenerateText(600).Concat(generator.Generate(600, InstructionTask.PretrainingTasks).Select(InstructionTask.Format));
        return TrainingData.FromTexts(documents, tokenizer, chunkLength: 128);
    }

    /// <summary>A new model with Hugging Face's initialisation for Llama: every matrix N(0, 0.02²), norms at one.</summary>
    public static LlamaForCausalLM Create()
    {
        var random = new TensorRandom(42);
        var model = new LlamaForCausalLM(Config, random);
        foreach (var (_, parameter) in model.NamedParameters())
            if (parameter.Rank == 2)
                Tensor.Normal(parameter.ShapeArray(), 0f, 0.02f, random).AsSpan().CopyTo(parameter.AsSpan());
        return model;
    }
}
