namespace Peft.Net.Models.ChatTemplates;

internal enum TokenKind { Text, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, Integer, Float, String, Operator, End }

/// <summary>One lexer token; <see cref="Line"/> is 1-based in the template source.</summary>
internal readonly record struct TemplateToken(TokenKind Kind, string Value, int Line)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;

    public bool IsName(string value) => Kind == TokenKind.Name && Value == value;

    public bool IsOperator(string value) => Kind == TokenKind.Operator && Value == value;

    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of template",
        TokenKind.BlockEnd => "'%}'",
        TokenKind.VariableEnd => "'}}'",
        TokenKind.String => $"string '{Value}'",
        _ => $"'{Value}'",
    };
}
