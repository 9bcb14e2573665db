namespace Peft.Net.Models.ChatTemplates;

/// <summary>Jinja's default <c>Undefined</c>: prints empty, is falsy, iterates as empty; any other use raises.</summary>
internal sealed class Undefined(string description)
{
    /// <summary>What was looked up, for the error message ("'x' is undefined").</summary>
    public string Description { get; } = description;

    public ChatTemplateException Error() => new($"{Description} is undefined (UndefinedError)");
}

/// <summary>The object <c>namespace(...)</c> returns: the one value whose attributes <c>{% set ns.x = … %}</c> may assign.</summary>
internal sealed class TemplateNamespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A callable value: globals, bound methods and macros.</summary>
internal delegate object? TemplateCallable(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>A Python tuple (from <c>items()</c>, <c>(a, b)</c> literals): prints with parentheses.</summary>
internal sealed class PyTuple(object?[] items)
{
    public object?[] Items { get; } = items;
}
