namespace Peft.Net.Models.Tokenization.PostProcessors;

/// <summary>
/// A single-sequence template (<c>"type": "TemplateProcessing"</c>, and the fixed templates of RobertaProcessing and
/// BertProcessing): special-token ids before and after the sequence.
/// </summary>
internal sealed class TemplatePostProcessor(int[] before, int[] after) : IPostProcessor
{
    /// <summary>Ids placed in front of the sequence (Llama: the BOS id).</summary>
    public IReadOnlyList<int> Before => before;

    /// <summary>Ids placed after the sequence.</summary>
    public IReadOnlyList<int> After => after;

    public void AddSpecialTokens(List<int> ids)
    {
        ids.InsertRange(0, before);
        ids.AddRange(after);
    }
}
