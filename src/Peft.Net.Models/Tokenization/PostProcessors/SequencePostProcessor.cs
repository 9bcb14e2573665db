namespace Peft.Net.Models.Tokenization.PostProcessors;

/// <summary>Runs post-processors one after the other (Llama 3: ByteLevel, then TemplateProcessing).</summary>
internal sealed class SequencePostProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public IReadOnlyList<IPostProcessor> Steps => steps;

    public void AddSpecialTokens(List<int> ids)
    {
        foreach (var step in steps) step.AddSpecialTokens(ids);
    }
}
