namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Attribute, item and slice access as jinja2's sandbox does them: <c>a.b</c> tries the attribute then the item,
/// <c>a['b']</c> the item then the attribute; missing things are <see cref="Undefined"/>; methods that mutate lists
/// and dicts are refused (SecurityError), as in transformers' ImmutableSandboxedEnvironment.
/// </summary>
internal static class ObjectModel
{
    private static readonly HashSet<string> MutatingListMethods = ["append", "pop", "extend", "insert", "remove", "sort", "reverse", "clear"];
    private static readonly HashSet<string> MutatingDictMethods = ["pop", "popitem", "update", "setdefault", "clear"];

    public static object? GetAttribute(object? target, string name)
    {
        if (name.StartsWith('_'))
            throw new ChatTemplateException($"access to attribute '{name}' of '{PyValue.TypeName(target)}' object is unsafe (SecurityError)");
        switch (target)
        {
            case Undefined u: throw u.Error();
            case OrderedDictionary<string, object?> dict:
                if (DictMethods.Get(dict, name) is { } method) return method;
                return dict.TryGetValue(name, out var value) ? value : Missing(target, name);
            case string s: return (object?)StringMethods.Get(s, name) ?? Missing(target, name);
            case List<object?> list: return (object?)ListMethod(list, name) ?? Missing(target, name);
            case TemplateNamespace ns: return ns.Attributes.TryGetValue(name, out var attr) ? attr : Missing(target, name);
            case LoopContext loop: return loop.GetAttribute(name);
            default: return Missing(target, name);
        }
    }

    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case Undefined u: throw u.Error();
            case OrderedDictionary<string, object?> dict:
                if (key is string k && dict.TryGetValue(k, out var value)) return value;
                return key is string name && DictMethods.Get(dict, name) is { } method ? method : Missing(target, key);
            case List<object?> list:
                if (key is long or bool) return Index(list, PyValue.ToLong(key), target);
                return key is string n ? (object?)ListMethod(list, n) ?? Missing(target, key) : Missing(target, key);
            case PyTuple tuple:
                return key is long or bool ? Index(tuple.Items, PyValue.ToLong(key), target) : Missing(target, key);
            case string s:
                if (key is long or bool)
                {
                    var chars = CodePoints.Split(s);
                    return Index(chars.Cast<object?>().ToArray(), PyValue.ToLong(key), target);
                }
                return key is string m ? (object?)StringMethods.Get(s, m) ?? Missing(target, key) : Missing(target, key);
            case TemplateNamespace ns:
                return key is string a && ns.Attributes.TryGetValue(a, out var attr) ? attr : Missing(target, key);
            case LoopContext loop:
                return key is string l ? loop.GetAttribute(l) : Missing(target, key);
            default:
                return Missing(target, key);
        }
    }

    private static object? Index(IReadOnlyList<object?> items, long index, object? target)
    {
        long i = index < 0 ? index + items.Count : index;
        return i >= 0 && i < items.Count ? items[(int)i] : Missing(target, index);
    }

    private static Undefined Missing(object? target, object? key) =>
        new($"'{PyValue.TypeName(target)} object' has no attribute {PyValue.Repr(key)}");

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined u) throw u.Error();
        long stepValue = step is null ? 1 : PyValue.ToLong(step);
        if (stepValue == 0) throw new ChatTemplateException("slice step cannot be zero (ValueError)");
        IReadOnlyList<object?> items = target switch
        {
            List<object?> l => l,
            PyTuple t => t.Items,
            string s => CodePoints.Split(s),
            _ => throw new ChatTemplateException($"'{PyValue.TypeName(target)}' object is not subscriptable (TypeError)"),
        };
        var indices = SliceIndices(items.Count, start is null ? null : PyValue.ToLong(start), stop is null ? null : PyValue.ToLong(stop), stepValue);
        var picked = indices.Select(i => items[i]).ToList();
        return target switch
        {
            string => string.Concat(picked.Cast<string>()),
            PyTuple => new PyTuple([.. picked]),
            _ => picked,
        };
    }

    /// <summary>Python's slice.indices: clamps start/stop for the step's direction.</summary>
    private static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        long lo, hi;
        if (step > 0)
        {
            lo = start is null ? 0 : Clamp(start.Value, length, 0, length);
            hi = stop is null ? length : Clamp(stop.Value, length, 0, length);
            for (long i = lo; i < hi; i += step) yield return (int)i;
        }
        else
        {
            lo = start is null ? length - 1 : Clamp(start.Value, length, -1, length - 1);
            hi = stop is null ? -1 : Clamp(stop.Value, length, -1, length - 1);
            for (long i = lo; i > hi; i += step) yield return (int)i;
        }
    }

    private static long Clamp(long index, int length, long min, long max)
    {
        if (index < 0) index += length;
        return Math.Clamp(index, min, max);
    }

    private static TemplateCallable? ListMethod(List<object?> list, string name)
    {
        if (MutatingListMethods.Contains(name))
            return (_, _) => throw new ChatTemplateException($"access to attribute '{name}' of 'list' object is unsafe (SecurityError)");
        return name switch
        {
            "index" => (args, _) =>
            {
                int i = list.FindIndex(x => PyValue.Equal(x, args[0]));
                return i >= 0 ? (long)i : throw new ChatTemplateException($"{PyValue.Repr(args[0])} is not in list (ValueError)");
            },
            "count" => (args, _) => (long)list.Count(x => PyValue.Equal(x, args[0])),
            "copy" => (_, _) => list.ToList(),
            _ => null,
        };
    }

    private static class DictMethods
    {
        public static TemplateCallable? Get(OrderedDictionary<string, object?> dict, string name)
        {
            if (MutatingDictMethods.Contains(name))
                return (_, _) => throw new ChatTemplateException($"access to attribute '{name}' of 'dict' object is unsafe (SecurityError)");
            return name switch
            {
                "items" => (_, _) => dict.Select(p => (object?)new PyTuple([p.Key, p.Value])).ToList(),
                "keys" => (_, _) => dict.Keys.Cast<object?>().ToList(),
                "values" => (_, _) => dict.Values.ToList(),
                "get" => (args, kwargs) =>
                {
                    if (args.Count == 0) throw new ChatTemplateException("dict.get expects a key");
                    object? fallback = args.Count > 1 ? args[1] : kwargs.GetValueOrDefault("default");
                    return args[0] is string key && dict.TryGetValue(key, out var v) ? v : fallback;
                },
                "copy" => (_, _) => new OrderedDictionary<string, object?>(dict, StringComparer.Ordinal),
                _ => null,
            };
        }
    }
}
