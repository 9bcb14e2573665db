namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Rewrites text before it is split and encoded (Unicode normalization, case, SentencePiece's ▁, …).</summary>
internal interface INormalizer
{
    string Normalize(string text);
}
