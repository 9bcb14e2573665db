namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// A chat template could not be parsed or rendered: a syntax error, a construct this renderer does not implement
/// (named in the message), an error the template raised itself (<c>raise_exception</c>), or an operation Jinja
/// would also refuse (undefined attribute, a type error, a sandboxed method).
/// </summary>
public sealed class ChatTemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong (with the template line when known).</param>
    public ChatTemplateException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The cause.</param>
    public ChatTemplateException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public ChatTemplateException() { }

    /// <summary>True when the template itself called <c>raise_exception</c> (the input is wrong, not the renderer).</summary>
    public bool RaisedByTemplate { get; init; }
}
