namespace Peft.Net.Models.Tokenization.PostProcessors;

/// <summary>Adds the special tokens a model expects around one encoded sequence (e.g. BOS in front).</summary>
internal interface IPostProcessor
{
    /// <summary>Rewrites <paramref name="ids"/> (the encoded text) into the full sequence.</summary>
    void AddSpecialTokens(List<int> ids);
}
