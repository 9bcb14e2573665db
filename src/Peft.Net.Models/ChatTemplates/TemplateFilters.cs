using System.Globalization;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>jinja2's built-in filters that chat templates use, plus transformers' <c>tojson</c> (json.dumps).</summary>
internal static class TemplateFilters
{
    public static object? Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        object? Arg(int i, string keyword, object? fallback) =>
            i < args.Count ? args[i] : kwargs.TryGetValue(keyword, out var v) ? v : fallback;

        switch (name)
        {
            case "trim": return CodePoints.Strip(AsString(value, name), Arg(0, "chars", null) as string, true, true);
            case "length" or "count": return PyValue.Length(value);
            case "string": return PyValue.Str(value);
            case "lower": return AsString(value, name).ToLowerInvariant();
            case "upper": return AsString(value, name).ToUpperInvariant();
            case "capitalize": return StringMethods.Get(AsString(value, name), "capitalize")!([], kwargs);
            case "title": return StringMethods.Get(AsString(value, name), "title")!([], kwargs);
            case "replace":
                return StringMethods.Get(AsString(value, name), "replace")!(
                    Arg(2, "count", null) is { } count ? [Arg(0, "old", ""), Arg(1, "new", ""), count] : [Arg(0, "old", ""), Arg(1, "new", "")], kwargs);
            case "safe": return value;
            case "int": return ToInt(value, Arg(0, "default", 0L));
            case "float": return ToFloat(value, Arg(0, "default", 0.0));
            case "abs": return value is double d ? (object)Math.Abs(d) : Math.Abs(PyValue.ToLong(value));
            case "default" or "d":
            {
                bool boolean = PyValue.IsTrue(Arg(1, "boolean", false));
                return value is Undefined || (boolean && !PyValue.IsTrue(value)) ? Arg(0, "default_value", "") : value;
            }
            case "join":
            {
                string separator = PyValue.Str(Arg(0, "d", ""));
                var attribute = Arg(1, "attribute", null);
                return string.Join(separator, Items(value).Select(x => PyValue.Str(attribute is null ? x : Lookup(x, attribute))));
            }
            case "first": return Items(value).Cast<object?>().DefaultIfEmpty(new Undefined("first item of an empty sequence")).First();
            case "last":
            {
                var items = Items(value).ToList();
                return items.Count == 0 ? new Undefined("last item of an empty sequence") : items[^1];
            }
            case "list": return Items(value).ToList();
            case "reverse": return value is string s ? string.Concat(CodePoints.Split(s).Reverse()) : Items(value).Reverse().ToList();
            case "unique":
            {
                bool caseSensitive = PyValue.IsTrue(Arg(0, "case_sensitive", false));
                var attribute = Arg(1, "attribute", null);
                var result = new List<object?>();
                var seen = new List<object?>();
                foreach (var item in Items(value))
                {
                    var key = SortKey(attribute is null ? item : Lookup(item, attribute), caseSensitive);
                    if (seen.Any(s => PyValue.Equal(s, key))) continue;
                    seen.Add(key);
                    result.Add(item);
                }
                return result;
            }
            case "sort":
            {
                bool reverse = PyValue.IsTrue(Arg(0, "reverse", false));
                bool caseSensitive = PyValue.IsTrue(Arg(1, "case_sensitive", false));
                var attribute = Arg(2, "attribute", null);
                var items = Items(value).ToList();
                var sorted = StableSort(items, x => SortKey(attribute is null ? x : Lookup(x, attribute), caseSensitive), reverse);
                return sorted;
            }
            case "dictsort":
            {
                if (value is not OrderedDictionary<string, object?> dict) throw new ChatTemplateException("dictsort: expected a dict");
                bool caseSensitive = PyValue.IsTrue(Arg(0, "case_sensitive", false));
                string by = Arg(1, "by", "key") as string ?? "key";
                bool reverse = PyValue.IsTrue(Arg(2, "reverse", false));
                var pairs = dict.Select(p => (object?)new PyTuple([p.Key, p.Value])).ToList();
                return StableSort(pairs, x => SortKey(((PyTuple)x!).Items[by == "value" ? 1 : 0], caseSensitive), reverse);
            }
            case "items":
                return value switch
                {
                    Undefined => new List<object?>(),
                    OrderedDictionary<string, object?> dict => dict.Select(p => (object?)new PyTuple([p.Key, p.Value])).ToList(),
                    _ => throw new ChatTemplateException($"items: can only get item pairs from a mapping, not {PyValue.TypeName(value)}"),
                };
            case "select" or "reject":
            {
                string? test = args.Count > 0 ? args[0] as string : null;
                var testArgs = args.Skip(1).ToList();
                bool want = name == "select";
                return Items(value).Where(x => (test is null ? PyValue.IsTrue(x) : TemplateTests.Apply(test, x, testArgs)) == want).ToList();
            }
            case "selectattr" or "rejectattr":
            {
                if (args.Count == 0) throw new ChatTemplateException($"{name} needs an attribute name");
                string? test = args.Count > 1 ? args[1] as string : null;
                var testArgs = args.Skip(2).ToList();
                bool want = name == "selectattr";
                return Items(value).Where(x =>
                {
                    var attr = Lookup(x, args[0]);
                    return (test is null ? PyValue.IsTrue(attr) : TemplateTests.Apply(test, attr, testArgs)) == want;
                }).ToList();
            }
            case "map":
            {
                if (kwargs.TryGetValue("attribute", out var attribute))
                {
                    kwargs.TryGetValue("default", out var fallback);
                    return Items(value).Select(x =>
                    {
                        var v = Lookup(x, attribute);
                        return v is Undefined && kwargs.ContainsKey("default") ? fallback : v;
                    }).ToList();
                }
                if (args.Count == 0 || args[0] is not string filter) throw new ChatTemplateException("map needs a filter name or attribute=");
                var rest = args.Skip(1).ToList();
                return Items(value).Select(x => Apply(filter, x, rest, new Dictionary<string, object?>())).ToList();
            }
            case "tojson":
            {
                var indent = Arg(0, "indent", null);
                string? itemSep = null, keySep = null;
                if (kwargs.TryGetValue("separators", out var seps) && seps is not null)
                {
                    var parts = PyValue.Iterate(seps).ToList();
                    itemSep = parts[0] as string;
                    keySep = parts[1] as string;
                }
                if (kwargs.TryGetValue("ensure_ascii", out var ascii) && PyValue.IsTrue(ascii))
                    throw new ChatTemplateException("tojson(ensure_ascii=True) is not supported by this renderer");
                return PyJson.Dumps(value, indent is null ? null : (int)PyValue.ToLong(indent), itemSep, keySep,
                    kwargs.TryGetValue("sort_keys", out var sortKeys) && PyValue.IsTrue(sortKeys));
            }
            case "max" or "min":
            {
                var items = Items(value).ToList();
                if (items.Count == 0) return new Undefined($"{name} of an empty sequence");
                var best = items[0];
                foreach (var x in items.Skip(1))
                    if (PyValue.Compare(SortKey(x, false), SortKey(best, false), "<") * (name == "max" ? -1 : 1) > 0) best = x;
                return best;
            }
            case "sum":
                return Items(value).Aggregate(Arg(1, "start", 0L), (acc, x) => Operators.Binary("+", acc, x));
            case "round":
            {
                int precision = (int)PyValue.ToLong(Arg(0, "precision", 0L));
                string method = Arg(1, "method", "common") as string ?? "common";
                double x = PyValue.ToDouble(value);
                double scale = Math.Pow(10, precision);
                return method switch
                {
                    "ceil" => Math.Ceiling(x * scale) / scale,
                    "floor" => Math.Floor(x * scale) / scale,
                    _ => Math.Round(x * scale, MidpointRounding.AwayFromZero) / scale,
                };
            }
            default:
                throw new ChatTemplateException($"the filter '{name}' is not supported by this renderer");
        }
    }

    private static string AsString(object? value, string filter) => value switch
    {
        string s => s,
        Undefined => "",
        _ when filter is "trim" or "lower" or "upper" or "capitalize" or "title" or "replace" => PyValue.Str(value),
        _ => throw new ChatTemplateException($"filter '{filter}' expects a string"),
    };

    private static IEnumerable<object?> Items(object? value) => value is null
        ? throw new ChatTemplateException("'NoneType' object is not iterable (TypeError)")
        : PyValue.Iterate(value);

    /// <summary>jinja2's attribute getter: item first, then attribute; "a.b" and integer parts walk down.</summary>
    private static object? Lookup(object? item, object? attribute)
    {
        if (attribute is long) return ObjectModel.GetItem(item, attribute);
        foreach (var part in PyValue.Str(attribute).Split('.'))
        {
            object? key = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : part;
            item = ObjectModel.GetItem(item, key);
        }
        return item;
    }

    private static object? SortKey(object? value, bool caseSensitive) =>
        !caseSensitive && value is string s ? s.ToLowerInvariant() : value;

    private static List<object?> StableSort(List<object?> items, Func<object?, object?> key, bool reverse)
    {
        var keyed = items.Select((x, i) => (Item: x, Key: key(x), Index: i)).ToList();
        keyed.Sort((a, b) =>
        {
            int c = PyValue.Compare(a.Key, b.Key, "<");
            if (reverse) c = -c;
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });
        return keyed.Select(k => k.Item).ToList();
    }

    private static object? ToInt(object? value, object? fallback)
    {
        switch (value)
        {
            case long or bool: return PyValue.ToLong(value);
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                s = s.Trim().Replace("_", "", StringComparison.Ordinal);
                if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && double.IsFinite(f) ? (long)Math.Truncate(f) : fallback;
            default: return fallback;
        }
    }

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long or bool or double => PyValue.ToDouble(value),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };
}
