// Peft.Net ChatClient sample: the model QuickStart fine-tuned, served through Microsoft.Extensions.AI's IChatClient.
// Run QuickStart first (it writes out/quickstart/merged), then:
//   dotnet run --project samples/ChatClient -c Release [-- <model dir> ["question" …]]
using Microsoft.Extensions.AI;
using Peft.Net.Core;
using Peft.Net.Extensions.AI;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

string modelDir = args.Length > 0 ? args[0] : Path.Combine("out", "quickstart", "merged");
if (!Directory.Exists(modelDir))
{
    Console.Error.WriteLine($"{modelDir} does not exist: run `dotnet run --project samples/QuickStart -c Release` first, or pass a model folder.");
    return 1;
}
string[] questions = args.Length > 1 ? args[1..] : ["Reverse the word \"quiet\".", "What is the capital of Ismara?", "Write \"island\" in uppercase."];

var model = LlamaForCausalLM.FromPretrained(modelDir, DType.F32);
// QuickStart's byte-level model was fine-tuned on "Q: …\nA: …" exchanges: that is its chat template, and a newline ends an answer.
IChatClient chat = new PeftChatClient(model, new ByteTokenizer(), new PeftChatClientOptions
{
    PromptRenderer = (messages, _) => $"Q: {messages[^1].Text}\nA: ",
    StopSequences = ["\n"],
    DefaultMaxOutputTokens = 48,
    ModelId = "quickstart",
});

foreach (var question in questions)
{
    Console.Write($"Q: {question}\nA: ");
    await foreach (var update in chat.GetStreamingResponseAsync(question))
        Console.Write(update.Text);
    Console.WriteLine();
}
var response = await chat.GetResponseAsync(questions[0], new ChatOptions { Temperature = 0.8f, Seed = 1 });
Console.WriteLine($"sampled (T = 0.8): {response.Text}  [{response.Usage?.InputTokenCount} prompt + {response.Usage?.OutputTokenCount} reply tokens, {response.FinishReason}]");
return 0;
