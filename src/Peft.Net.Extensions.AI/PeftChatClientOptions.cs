using Microsoft.Extensions.Logging;

namespace Peft.Net.Extensions.AI;

/// <summary>Settings of a <see cref="PeftChatClient"/>.</summary>
public sealed record PeftChatClientOptions
{
    /// <summary>Messages → prompt text (the model's chat template). Default: <see cref="ChatMlPromptRenderer.Render"/>.</summary>
    public ChatPromptRenderer PromptRenderer { get; init; } = ChatMlPromptRenderer.Render;

    /// <summary>Whether the tokenizer adds its own special tokens (e.g. BOS) around the rendered prompt. Default false: templates write them.</summary>
    public bool AddSpecialTokens { get; init; }

    /// <summary>Stop sequences used on every request besides <c>ChatOptions.StopSequences</c> (default: ChatML's end of turn).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [ChatMlPromptRenderer.EndOfTurn];

    /// <summary>Token ids that end a reply (default: the model config's EOS ids, else the tokenizer's EOS).</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }

    /// <summary>Output tokens when <c>ChatOptions.MaxOutputTokens</c> is not set (default 256).</summary>
    public int DefaultMaxOutputTokens { get; init; } = 256;

    /// <summary>The model id reported in responses and metadata (default "peft-net").</summary>
    public string ModelId { get; init; } = "peft-net";

    /// <summary>
    /// A PEFT LoRA/DoRA adapter folder loaded onto the model when the client is created (the adapter stays unmerged).
    /// </summary>
    public string? AdapterDirectory { get; init; }

    /// <summary>Where requests, token counts and timings are logged (nothing when null).</summary>
    public ILogger? Logger { get; init; }
}
