namespace Peft.Net.Models.ChatTemplates;

/// <summary>jinja2's tests (<c>x is defined</c>, <c>x is string</c>, …) with Python's type rules.</summary>
internal static class TemplateTests
{
    public static bool Apply(string name, object? value, IReadOnlyList<object?> args) => name switch
    {
        "defined" => value is not Undefined,
        "undefined" => value is Undefined,
        "none" => value is null,
        "string" => value is string,
        "mapping" => value is OrderedDictionary<string, object?>,
        "iterable" => value is string or List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined,
        "sequence" => value is string or List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined,
        "number" => value is long or double or bool,
        "integer" => value is long,
        "float" => value is double,
        "boolean" => value is bool,
        "true" => value is true,
        "false" => value is false,
        "callable" => value is TemplateCallable,
        "odd" => PyValue.ToLong(Operators.Binary("%", Defined(value), 2L)) == 1,
        "even" => PyValue.ToLong(Operators.Binary("%", Defined(value), 2L)) == 0,
        "divisibleby" => PyValue.ToLong(Operators.Binary("%", Defined(value), Arg(args, name))) == 0,
        "equalto" or "eq" or "==" => PyValue.Equal(value, Arg(args, name)),
        "ne" or "!=" => !PyValue.Equal(value, Arg(args, name)),
        "lt" or "lessthan" or "<" => Operators.Compare("<", value, Arg(args, name)),
        "le" or "<=" => Operators.Compare("<=", value, Arg(args, name)),
        "gt" or "greaterthan" or ">" => Operators.Compare(">", value, Arg(args, name)),
        "ge" or ">=" => Operators.Compare(">=", value, Arg(args, name)),
        "in" => Operators.Compare("in", value, Arg(args, name)),
        "lower" => value is string s && s == s.ToLowerInvariant(),
        "upper" => value is string u && u == u.ToUpperInvariant(),
        _ => throw new ChatTemplateException($"the test '{name}' is not supported by this renderer"),
    };

    private static object? Defined(object? value) => value is Undefined u ? throw u.Error() : value;

    private static object? Arg(IReadOnlyList<object?> args, string test) =>
        args.Count > 0 ? args[0] : throw new ChatTemplateException($"the test '{test}' needs an argument");
}
