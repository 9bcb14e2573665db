using Microsoft.Extensions.AI;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Extensions.AI;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Extensions.AI.Tests;

/// <summary>
/// A tiny Llama fine-tuned (all weights, then a LoRA adapter) to answer one ChatML question, once per test run: the
/// base answers "Paris!", the adapter makes it answer "Rome!". Byte-level tokenizer.
/// </summary>
internal static class TinyChatModel
{
    public const string Question = "capital?";
    public const string BaseAnswer = "Paris!", AdapterAnswer = "Rome!";
    private static readonly Lazy<(string BaseFolder, string AdapterFolder)> Trained = new(Train);

    public static ByteTokenizer Tokenizer { get; } = new();

    /// <summary>A fresh copy of the fine-tuned base model (each client may load adapters onto its own).</summary>
    public static LlamaForCausalLM NewModel() => LlamaForCausalLM.FromPretrained(Trained.Value.BaseFolder, DType.F32);

    public static string AdapterFolder => Trained.Value.AdapterFolder;

    public static IList<ChatMessage> Conversation() => [new(ChatRole.User, Question)];

    private static (string, string) Train()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = Tokenizer.VocabSize, MaxPositionEmbeddings = 256, EosTokenIds = [ByteTokenizer.Eos],
        }, new TensorRandom(1));
        Fit(model, BaseAnswer, steps: 120, learningRate: 3e-3);
        string root = Path.Combine(Path.GetTempPath(), "peft-chat-tests-" + Guid.NewGuid().ToString("N"));
        model.SavePretrained(Path.Combine(root, "base"));
        model.ApplyLora(rank: 8, alpha: 16, targetModules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]);
        Fit(model, AdapterAnswer, steps: 150, learningRate: 1e-2);
        model.SaveAdapter(Path.Combine(root, "adapter"));
        return (Path.Combine(root, "base"), Path.Combine(root, "adapter"));
    }

    /// <summary>Teaches the model the ChatML exchange Question → answer, loss on the answer (and its end) only.</summary>
    private static void Fit(LlamaForCausalLM model, string answer, int steps, double learningRate)
    {
        string prompt = ChatMlPromptRenderer.Render([new ChatMessage(ChatRole.User, Question)], null);
        int[] promptIds = Tokenizer.Encode(prompt);
        int[] ids = [.. promptIds, .. Tokenizer.Encode(answer), ByteTokenizer.Eos];
        int[] labels = ids.Select((id, i) => i < promptIds.Length ? LlamaForCausalLM.IgnoreIndex : id).ToArray();
        model.Train();
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: learningRate);
        for (int step = 0; step < steps; step++)
        {
            var loss = model.Loss(ids, labels, 1, ids.Length);
            loss.Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        model.Eval();
    }
}
