namespace Peft.Net.Models.Training;

/// <summary>How <see cref="TrainingData.Load(string, Tokenization.ITokenizer, int, DatasetFormat, ChatTemplates.ChatTemplate?, bool)"/> reads a dataset file.</summary>
public enum DatasetFormat
{
    /// <summary>From the first JSONL row: "messages" → <see cref="Chat"/>, "prompt" → <see cref="PromptCompletion"/>, else <see cref="Text"/>; non-JSONL files are text.</summary>
    Auto,

    /// <summary>Plain text (a .txt file, or <c>{"text"}</c> rows), packed; loss on every token.</summary>
    Text,

    /// <summary><c>{"prompt", "completion"}</c> rows; loss on the completion and EOS.</summary>
    PromptCompletion,

    /// <summary><c>{"messages": […]}</c> rows rendered with the chat template; loss on assistant turns unless training on all.</summary>
    Chat,
}
