using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

namespace QuickStart;

/// <summary>Greedy answers from the model.</summary>
internal static class Generation
{
    public static string Answer(LlamaForCausalLM model, ITokenizer tokenizer, string prompt)
    {
        var ids = tokenizer.Encode(prompt, addSpecialTokens: true);
        var generated = model.Generate(ids, new GenerationOptions { MaxNewTokens = 24, StopTokens = [ByteTokenizer.Eos] });
        return tokenizer.Decode(generated, skipSpecialTokens: true).Split('\n')[0];
    }
}
