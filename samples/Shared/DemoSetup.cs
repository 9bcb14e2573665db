using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Quantization;

namespace Peft.Net.Samples;

/// <summary>
/// The common setting of the comparison samples: a small byte-level Llama, briefly pre-trained on generated text,
/// saved once, and a generated instruction task it has not seen (uppercase, reverse a word, capital cities).
/// </summary>
internal static class DemoSetup
{
    public static readonly DemoTask[] FineTuneTasks = [DemoTask.Uppercase, DemoTask.ReverseWord, DemoTask.CapitalLookup];
    private static readonly DemoTask[] PretrainingTasks = [DemoTask.DayOfWeek, DemoTask.CountLetter, DemoTask.SortNumbers];

    public static LlamaConfig Config(bool quick) => new()
    {
        HiddenSize = quick ? 64 : 128,
        IntermediateSize = quick ? 172 : 344,
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

    private static string Prompt(string question) => $"Q: {question}\nA: ";

    /// <summary>Creates the base model (HF Llama initialisation, seed 42), pre-trains every weight briefly and saves it to <paramref name="directory"/>.</summary>
    public static void CreateBaseModel(string directory, bool quick, int pretrainSteps)
    {
        var tokenizer = new ByteTokenizer();
        var random = new TensorRandom(42);
        var model = new LlamaForCausalLM(Config(quick), random);
        foreach (var (_, parameter) in model.NamedParameters())
            if (parameter.Rank == 2)
                Tensor.Normal(parameter.ShapeArray(), 0f, 0.02f, random).AsSpan().CopyTo(parameter.AsSpan());
        if (pretrainSteps > 0)
        {
            var generator = new DemoDataGenerator(seed: 1);
            var documents = generator.GenerateText(quick ? 100 : 600)
                .Concat(generator.Generate(quick ? 100 : 600, PretrainingTasks).Select(e => Prompt(e.Prompt) + e.Completion));
            var data = TrainingData.FromTexts(documents, tokenizer, chunkLength: quick ? 64 : 128);
            var trainer = new Trainer(model, data, new TrainerOptions
            {
                MaxSteps = pretrainSteps, BatchSize = 8, LearningRate = 3e-3, WeightDecay = 0.01, WarmupSteps = Math.Min(10, pretrainSteps / 4),
                PadTokenId = ByteTokenizer.Pad, Seed = 1,
            });
            TrainingBar.Run("pre-training the base model", trainer);
        }
        model.SavePretrained(directory);
    }

    /// <summary>The fine-tuning examples (seed 7), split 90/10 into train and eval.</summary>
    public static (IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> Eval) FineTuneData(int count)
    {
        var examples = new DemoDataGenerator(seed: 7).Generate(count, FineTuneTasks).Select(e => new PromptCompletion(Prompt(e.Prompt), e.Completion));
        return ExampleBuilder.Split(TrainingData.FromPromptCompletions(examples, new ByteTokenizer(), maxLength: 64), evalFraction: 0.1, seed: 7);
    }

    /// <summary>
    /// Bytes actually held by the model's weights: parameters and buffers (each tensor counted once: tied weights share
    /// one) plus the 4-bit weights of every <see cref="Nf4Linear"/> (codes, absmax and double-quantization scales).
    /// </summary>
    public static long StoredBytes(Module model)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        long bytes = 0;
        foreach (var tensor in model.NamedParameters().Select(p => p.Parameter).Concat(model.NamedBuffers().Select(b => b.Buffer)))
            if (seen.Add(tensor)) bytes += tensor.Count * (long)tensor.DType.SizeOf();
        foreach (var (_, module) in model.NamedModules())
            if (module is Nf4Linear quantized) bytes += quantized.Weight.StorageBytes;
        return bytes;
    }

    public static string Megabytes(long bytes) => $"{bytes / 1048576.0:F2} MiB";
}
