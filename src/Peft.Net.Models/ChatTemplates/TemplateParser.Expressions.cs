using System.Globalization;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Expression grammar, jinja2's precedence from loosest to tightest: conditional, or, and, not, comparisons
/// (in, not in, ==, …), + -, ~, * / // %, **, unary - +, then primary with postfix (.a [i] (call)), filters and tests.</summary>
internal sealed partial class TemplateParser
{
    private Expr ParseTupleOrExpression()
    {
        int line = Current.Line;
        var first = ParseExpression();
        if (!Current.IsOperator(",")) return first;
        var items = new List<Expr> { first };
        while (Current.IsOperator(","))
        {
            _index++;
            if (Current.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd) break;
            items.Add(ParseExpression());
        }
        return new TupleExpr(items, line);
    }

    private Expr ParseExpression(bool allowConditional = true)
    {
        var expr = ParseOr();
        if (!allowConditional) return expr;
        while (Current.IsName("if"))
        {
            int line = Current.Line;
            _index++;
            var condition = ParseOr();
            Expr? otherwise = null;
            if (Current.IsName("else")) { _index++; otherwise = ParseExpression(); }
            expr = new ConditionalExpr(condition, expr, otherwise, line);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or")) { int line = Next().Line; left = new BinaryExpr("or", left, ParseAnd(), line); }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and")) { int line = Next().Line; left = new BinaryExpr("and", left, ParseNot(), line); }
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not")) { int line = Next().Line; return new UnaryExpr("not", ParseNot(), line); }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Current.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                string op = Next().Value;
                rest.Add((op, ParseMath1()));
            }
            else if (Current.IsName("in")) { _index++; rest.Add(("in", ParseMath1())); }
            else if (Current.IsName("not") && Peek().IsName("in")) { _index += 2; rest.Add(("not in", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParseConcat(), op.Line);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Current.IsOperator("~")) { int line = Next().Line; left = new BinaryExpr("~", left, ParseMath2(), line); }
        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParsePow(), op.Line);
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (Current.IsOperator("**")) { int line = Next().Line; left = new BinaryExpr("**", left, ParseUnary(withFilter: true), line); }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Expr node;
        if (Current.Kind == TokenKind.Operator && Current.Value is "-" or "+")
        {
            var op = Next();
            node = new UnaryExpr(op.Value, ParseUnary(withFilter: false), op.Line);
        }
        else node = ParsePostfix(ParsePrimary());
        return withFilter ? ParseFilterExpr(node) : node;
    }

    private Expr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.String:
            {
                string text = token.Value;
                while (Current.Kind == TokenKind.String) text += Next().Value;
                return new LiteralExpr(text, token.Line);
            }
            case TokenKind.Integer:
                if (!long.TryParse(token.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long l))
                    throw new ChatTemplateException($"line {token.Line}: integer literal {token.Value} is too large for this renderer");
                return new LiteralExpr(l, token.Line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Operator when token.Value == "(":
            {
                if (Current.IsOperator(")")) { _index++; return new TupleExpr([], token.Line); }
                var first = ParseExpression();
                if (Current.IsOperator(")")) { _index++; return first; }
                var items = new List<Expr> { first };
                while (Current.IsOperator(","))
                {
                    _index++;
                    if (Current.IsOperator(")")) break;
                    items.Add(ParseExpression());
                }
                Expect(TokenKind.Operator, ")");
                return new TupleExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Value == "[":
            {
                var items = new List<Expr>();
                while (!Current.IsOperator("]"))
                {
                    if (items.Count > 0) { Expect(TokenKind.Operator, ","); if (Current.IsOperator("]")) break; }
                    items.Add(ParseExpression());
                }
                _index++;
                return new ListExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Value == "{":
            {
                var pairs = new List<(Expr, Expr)>();
                while (!Current.IsOperator("}"))
                {
                    if (pairs.Count > 0) { Expect(TokenKind.Operator, ","); if (Current.IsOperator("}")) break; }
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    pairs.Add((key, ParseExpression()));
                }
                _index++;
                return new DictExpr(pairs, token.Line);
            }
            default:
                throw new ChatTemplateException($"line {token.Line}: unexpected {token} in an expression");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("."))
            {
                int line = Next().Line;
                var token = Next();
                if (token.Kind == TokenKind.Name) node = new AttributeExpr(node, token.Value, line);
                else if (token.Kind == TokenKind.Integer) node = new ItemExpr(node, new LiteralExpr(long.Parse(token.Value, CultureInfo.InvariantCulture), line), line);
                else throw new ChatTemplateException($"line {line}: expected an attribute name after '.' but found {token}");
            }
            else if (Current.IsOperator("[")) node = ParseSubscript(node);
            else if (Current.IsOperator("(")) node = new CallExpr(node, ParseArguments(), Current.Line);
            else return node;
        }
    }

    private Expr ParseSubscript(Expr target)
    {
        int line = Next().Line;
        Expr? start = null, stop = null, step = null;
        if (!Current.IsOperator(":")) start = ParseExpression();
        if (!Current.IsOperator(":"))
        {
            Expect(TokenKind.Operator, "]");
            return new ItemExpr(target, start!, line);
        }
        _index++;
        if (!Current.IsOperator(":") && !Current.IsOperator("]")) stop = ParseExpression();
        if (Current.IsOperator(":"))
        {
            _index++;
            if (!Current.IsOperator("]")) step = ParseExpression();
        }
        Expect(TokenKind.Operator, "]");
        return new SliceExpr(target, start, stop, step, line);
    }

    private Arguments ParseArguments()
    {
        Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        while (!Current.IsOperator(")"))
        {
            if (positional.Count + keywords.Count > 0) { Expect(TokenKind.Operator, ","); if (Current.IsOperator(")")) break; }
            if (Current.IsOperator("*") || Current.IsOperator("**")) throw Error("*args / **kwargs in calls are not supported by this renderer");
            if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                string name = Next().Value;
                _index++;
                keywords.Add((name, ParseExpression()));
            }
            else
            {
                if (keywords.Count > 0) throw Error("a positional argument follows a keyword argument");
                positional.Add(ParseExpression());
            }
        }
        _index++;
        return new Arguments(positional, keywords);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                int line = Next().Line;
                string name = ExpectName();
                while (Current.IsOperator(".")) { _index++; name += "." + ExpectName(); }
                var args = Current.IsOperator("(") ? ParseArguments() : Arguments.None;
                node = new FilterExpr(node, name, args, line);
            }
            else if (Current.IsName("is"))
            {
                int line = Next().Line;
                bool negated = false;
                if (Current.IsName("not")) { _index++; negated = true; }
                string name = ExpectName();
                Arguments args = Arguments.None;
                if (Current.IsOperator("(")) args = ParseArguments();
                else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                          || (Current.Kind == TokenKind.Operator && Current.Value is "(" or "[" or "{"))
                         && !(Current.Kind == TokenKind.Name && Current.Value is "else" or "or" or "and"))
                {
                    if (Current.IsName("is")) throw Error("You cannot chain multiple tests with is");
                    args = new Arguments([ParsePostfix(ParsePrimary())], []);
                }
                node = new TestExpr(node, name, args, negated, line);
            }
            else if (Current.IsOperator("(")) node = new CallExpr(node, ParseArguments(), Current.Line);
            else return node;
        }
    }
}
