namespace Peft.Net.Models.Tokenization;

/// <summary>
/// A token from the <c>added_tokens</c> list of a tokenizer.json: matched in the input text before the model runs.
/// </summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">Its text, e.g. "&lt;|eot_id|&gt;".</param>
/// <param name="Special">A control token (BOS, EOS, chat markers); skipped by <c>Decode(…, skipSpecialTokens: true)</c>.</param>
/// <param name="SingleWord">Matches only when not adjacent to letters, digits or '_'.</param>
/// <param name="LStrip">Swallows the whitespace to its left.</param>
/// <param name="RStrip">Swallows the whitespace to its right.</param>
/// <param name="Normalized">Matched in the normalized text (true) or in the raw input (false).</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LStrip = false,
    bool RStrip = false, bool Normalized = false);
