namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Parses lexer tokens into statements (this file) and expressions (TemplateParser.Expressions.cs) with jinja2's
/// grammar and precedence. Tags outside the subset (call, filter blocks, include, extends, …) fail with their name.
/// </summary>
internal sealed partial class TemplateParser
{
    private static readonly HashSet<string> Unsupported =
        ["call", "filter", "include", "import", "from", "extends", "block", "with", "autoescape", "trans", "do", "raw"];

    private readonly List<TemplateToken> _tokens;
    private int _index;

    private TemplateParser(List<TemplateToken> tokens) => _tokens = tokens;

    public static IReadOnlyList<Stmt> Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(source));
        var body = parser.ParseBody([]);
        if (parser.Current.Kind != TokenKind.End) throw parser.Error($"unexpected {parser.Current}");
        return body;
    }

    private TemplateToken Current => _tokens[_index];

    private TemplateToken Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private TemplateToken Next() => _tokens[_index++];

    private ChatTemplateException Error(string message) => new($"line {Current.Line}: {message}");

    private void Expect(TokenKind kind, string? value = null)
    {
        if (Current.Kind != kind || (value is not null && Current.Value != value))
            throw Error($"expected {(value is null ? kind.ToString() : $"'{value}'")} but found {Current}");
        _index++;
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"expected a name but found {Current}");
        return Next().Value;
    }

    /// <summary>Parses statements until a block tag whose keyword is in <paramref name="endTags"/> (left unconsumed after '{%').</summary>
    private List<Stmt> ParseBody(HashSet<string> endTags)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    if (endTags.Count > 0) throw Error($"missing {{% {string.Join(" or ", endTags)} %}} before the end of the template");
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStmt(token.Value, token.Line));
                    _index++;
                    break;
                case TokenKind.VariableBegin:
                    _index++;
                    body.Add(new PrintStmt(ParseTupleOrExpression(), token.Line));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    var keyword = Peek();
                    if (keyword.Kind == TokenKind.Name && endTags.Contains(keyword.Value)) return body;
                    _index++;
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {token}");
            }
        }
    }

    private Stmt ParseStatement()
    {
        var token = Current;
        string keyword = ExpectName();
        switch (keyword)
        {
            case "if": return ParseIf(token.Line);
            case "for": return ParseFor(token.Line);
            case "set": return ParseSet(token.Line);
            case "macro": return ParseMacro(token.Line);
            case "break": Expect(TokenKind.BlockEnd); return new BreakStmt(token.Line);
            case "continue": Expect(TokenKind.BlockEnd); return new ContinueStmt(token.Line);
            case "generation":
            {
                Expect(TokenKind.BlockEnd);
                var body = ParseBody(["endgeneration"]);
                EndTag("endgeneration");
                return new GenerationStmt(body, token.Line);
            }
            default:
                if (Unsupported.Contains(keyword))
                    throw new ChatTemplateException($"line {token.Line}: the '{{% {keyword} %}}' tag is not supported by this renderer");
                throw new ChatTemplateException($"line {token.Line}: unknown tag '{{% {keyword} %}}'");
        }
    }

    /// <summary>Consumes <c>{% name %}</c> (the '{%' is current).</summary>
    private void EndTag(string name)
    {
        Expect(TokenKind.BlockBegin);
        Expect(TokenKind.Name, name);
        Expect(TokenKind.BlockEnd);
    }

    private Stmt ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        List<Stmt>? elseBody = null;
        var condition = ParseExpression();
        Expect(TokenKind.BlockEnd);
        while (true)
        {
            var body = ParseBody(["elif", "else", "endif"]);
            branches.Add((condition, body));
            Expect(TokenKind.BlockBegin);
            string tag = ExpectName();
            if (tag == "elif")
            {
                condition = ParseExpression();
                Expect(TokenKind.BlockEnd);
                continue;
            }
            Expect(TokenKind.BlockEnd);
            if (tag == "else")
            {
                elseBody = ParseBody(["endif"]);
                EndTag("endif");
            }
            return new IfStmt(branches, elseBody, line);
        }
    }

    private Stmt ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (Current.IsOperator(",")) { _index++; targets.Add(ExpectName()); }
        Expect(TokenKind.Name, "in");
        var iterable = ParseExpression(allowConditional: false);
        Expr? filter = null;
        if (Current.IsName("if")) { _index++; filter = ParseExpression(); }
        if (Current.IsName("recursive")) throw Error("recursive for loops are not supported by this renderer");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(["else", "endfor"]);
        List<Stmt>? elseBody = null;
        Expect(TokenKind.BlockBegin);
        if (ExpectName() == "else")
        {
            Expect(TokenKind.BlockEnd);
            elseBody = ParseBody(["endfor"]);
            EndTag("endfor");
        }
        else Expect(TokenKind.BlockEnd);
        return new ForStmt(targets, iterable, filter, body, elseBody, line);
    }

    private Stmt ParseSet(int line)
    {
        string name = ExpectName();
        if (Current.IsOperator("."))
        {
            _index++;
            string attribute = ExpectName();
            Expect(TokenKind.Operator, "=");
            var value = ParseTupleOrExpression();
            Expect(TokenKind.BlockEnd);
            return new SetStmt([name], attribute, value, line);
        }
        var targets = new List<string> { name };
        while (Current.IsOperator(",")) { _index++; targets.Add(ExpectName()); }
        if (Current.Kind == TokenKind.BlockEnd && targets.Count == 1)
        {
            _index++;
            var body = ParseBody(["endset"]);
            EndTag("endset");
            return new SetBlockStmt(name, body, line);
        }
        if (Current.IsOperator("|")) throw Error("filtered block set ({% set x | filter %}) is not supported by this renderer");
        Expect(TokenKind.Operator, "=");
        var expr = ParseTupleOrExpression();
        Expect(TokenKind.BlockEnd);
        return new SetStmt(targets, null, expr, line);
    }

    private Stmt ParseMacro(int line)
    {
        string name = ExpectName();
        var parameters = new List<(string, Expr?)>();
        Expect(TokenKind.Operator, "(");
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) Expect(TokenKind.Operator, ",");
            string parameter = ExpectName();
            Expr? defaultValue = null;
            if (Current.IsOperator("=")) { _index++; defaultValue = ParseExpression(); }
            parameters.Add((parameter, defaultValue));
        }
        _index++;
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(["endmacro"]);
        EndTag("endmacro");
        return new MacroStmt(name, parameters, body, line);
    }
}
