using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Executes parsed statements into an output buffer (expressions are in TemplateEvaluator.Expressions.cs).</summary>
internal sealed partial class TemplateEvaluator
{
    private enum Flow { Normal, Break, Continue }

    private readonly TemplateScope _root;
    private StringBuilder _out = new();
    private readonly List<(int Start, int End)> _generationSpans = [];
    private int _loopDepth;
    private int _callDepth;

    public TemplateEvaluator(TemplateScope root) => _root = root;

    /// <summary>Spans (UTF-16 offsets into the output) of <c>{% generation %}</c> blocks, in order.</summary>
    public IReadOnlyList<(int Start, int End)> GenerationSpans => _generationSpans;

    public string Render(IReadOnlyList<Stmt> body)
    {
        _out = new StringBuilder();
        Execute(body, _root);
        return _out.ToString();
    }

    private Flow Execute(IReadOnlyList<Stmt> body, TemplateScope scope)
    {
        foreach (var stmt in body)
        {
            var flow = Execute(stmt, scope);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Stmt stmt, TemplateScope scope)
    {
        switch (stmt)
        {
            case TextStmt t:
                _out.Append(t.Text);
                return Flow.Normal;
            case PrintStmt p:
                _out.Append(PyValue.Str(Evaluate(p.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (condition, branch) in i.Branches)
                    if (PyValue.IsTrue(Evaluate(condition, scope))) return Execute(branch, scope);
                return i.Else is null ? Flow.Normal : Execute(i.Else, scope);
            case ForStmt f:
                return ExecuteFor(f, scope);
            case SetStmt s:
                ExecuteSet(s, scope);
                return Flow.Normal;
            case SetBlockStmt b:
            {
                var saved = _out;
                _out = new StringBuilder();
                Execute(b.Body, scope);
                scope.Set(b.Target, _out.ToString());
                _out = saved;
                return Flow.Normal;
            }
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m));
                return Flow.Normal;
            case BreakStmt br:
                if (_loopDepth == 0) throw new ChatTemplateException($"line {br.Line}: 'break' outside a loop");
                return Flow.Break;
            case ContinueStmt c:
                if (_loopDepth == 0) throw new ChatTemplateException($"line {c.Line}: 'continue' outside a loop");
                return Flow.Continue;
            case GenerationStmt g:
            {
                int start = _out.Length;
                var flow = Execute(g.Body, scope);
                _generationSpans.Add((start, _out.Length));
                return flow;
            }
            default:
                throw new ChatTemplateException($"line {stmt.Line}: statement {stmt.GetType().Name} is not supported");
        }
    }

    private Flow ExecuteFor(ForStmt f, TemplateScope scope)
    {
        var source = Evaluate(f.Iterable, scope);
        if (source is null) throw new ChatTemplateException($"line {f.Line}: 'NoneType' object is not iterable (TypeError)");
        var items = new List<object?>();
        foreach (var item in PyValue.Iterate(source))
        {
            if (f.Filter is not null)
            {
                var probe = new TemplateScope(scope);
                Bind(f.Targets, item, probe, f.Line);
                if (!PyValue.IsTrue(Evaluate(f.Filter, probe))) continue;
            }
            items.Add(item);
        }
        if (items.Count == 0) return f.Else is null ? Flow.Normal : Execute(f.Else, scope);
        var loop = new LoopContext(items, _loopDepth + 1);
        _loopDepth++;
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                loop.Index0 = i;
                var frame = new TemplateScope(scope);
                Bind(f.Targets, items[i], frame, f.Line);
                frame.Set("loop", loop);
                if (Execute(f.Body, frame) == Flow.Break) break;
            }
        }
        finally
        {
            _loopDepth--;
        }
        return Flow.Normal;
    }

    private static void Bind(IReadOnlyList<string> targets, object? value, TemplateScope scope, int line)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }
        var parts = PyValue.Iterate(value).ToList();
        if (parts.Count != targets.Count)
            throw new ChatTemplateException($"line {line}: cannot unpack {parts.Count} values into {targets.Count} names (ValueError)");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], parts[i]);
    }

    private void ExecuteSet(SetStmt s, TemplateScope scope)
    {
        var value = Evaluate(s.Value, scope);
        if (s.Attribute is null)
        {
            Bind(s.Targets, value, scope, s.Line);
            return;
        }
        if (!scope.TryGet(s.Targets[0], out var target) || target is not TemplateNamespace ns)
            throw new ChatTemplateException($"line {s.Line}: cannot assign attribute on non-namespace object '{s.Targets[0]}'");
        ns.Attributes[s.Attribute] = value;
    }

    private TemplateCallable MakeMacro(MacroStmt m) => (args, kwargs) =>
    {
        if (args.Count > m.Parameters.Count)
            throw new ChatTemplateException($"line {m.Line}: macro '{m.Name}' takes {m.Parameters.Count} arguments, got {args.Count}");
        var frame = new TemplateScope(_root);
        for (int i = 0; i < m.Parameters.Count; i++)
        {
            var (name, defaultValue) = m.Parameters[i];
            object? value = i < args.Count ? args[i]
                : kwargs.TryGetValue(name, out var kw) ? kw
                : defaultValue is not null ? Evaluate(defaultValue, frame)
                : new Undefined($"parameter '{name}' of macro '{m.Name}'");
            frame.Set(name, value);
        }
        foreach (var key in kwargs.Keys)
            if (!m.Parameters.Any(p => p.Name == key))
                throw new ChatTemplateException($"line {m.Line}: macro '{m.Name}' has no parameter '{key}'");
        if (++_callDepth > 64) throw new ChatTemplateException($"line {m.Line}: macro '{m.Name}' recurses too deeply");
        var saved = _out;
        int savedLoops = _loopDepth;
        _out = new StringBuilder();
        _loopDepth = 0;
        try
        {
            Execute(m.Body, frame);
            return _out.ToString();
        }
        finally
        {
            _out = saved;
            _loopDepth = savedLoops;
            _callDepth--;
        }
    };
}
