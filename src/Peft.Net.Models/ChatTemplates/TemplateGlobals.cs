namespace Peft.Net.Models.ChatTemplates;

/// <summary>The globals transformers' environment gives templates: range, namespace, dict, raise_exception, strftime_now.</summary>
internal static class TemplateGlobals
{
    public static TemplateScope Create(Func<DateTime> clock)
    {
        var scope = new TemplateScope(null);
        scope.Set("range", (TemplateCallable)Range);
        scope.Set("namespace", (TemplateCallable)Namespace);
        scope.Set("dict", (TemplateCallable)((_, kwargs) =>
            new OrderedDictionary<string, object?>(kwargs, StringComparer.Ordinal)));
        scope.Set("raise_exception", (TemplateCallable)((args, _) =>
            throw new ChatTemplateException(args.Count > 0 ? PyValue.Str(args[0]) : "raise_exception called") { RaisedByTemplate = true }));
        scope.Set("strftime_now", (TemplateCallable)((args, _) =>
            PyStrftime.Format(clock(), args.Count > 0 && args[0] is string f ? f : throw new ChatTemplateException("strftime_now expects a format string"))));
        return scope;
    }

    private static object? Range(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        long start = 0, stop, step = 1;
        switch (args.Count)
        {
            case 1: stop = PyValue.ToLong(args[0]); break;
            case 2: start = PyValue.ToLong(args[0]); stop = PyValue.ToLong(args[1]); break;
            case 3: start = PyValue.ToLong(args[0]); stop = PyValue.ToLong(args[1]); step = PyValue.ToLong(args[2]); break;
            default: throw new ChatTemplateException($"range expected 1 to 3 arguments, got {args.Count}");
        }
        if (step == 0) throw new ChatTemplateException("range() arg 3 must not be zero (ValueError)");
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (result.Count >= 100_000) throw new ChatTemplateException("range too big (the sandbox allows 100000 items)");
            result.Add(i);
        }
        return result;
    }

    private static object? Namespace(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var ns = new TemplateNamespace();
        foreach (var arg in args)
        {
            if (arg is not OrderedDictionary<string, object?> d) throw new ChatTemplateException("namespace() takes a dict or keyword arguments");
            foreach (var (k, v) in d) ns.Attributes[k] = v;
        }
        foreach (var (k, v) in kwargs) ns.Attributes[k] = v;
        return ns;
    }
}
