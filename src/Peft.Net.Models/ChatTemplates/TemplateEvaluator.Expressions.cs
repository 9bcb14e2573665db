namespace Peft.Net.Models.ChatTemplates;

/// <summary>Expression evaluation with Python/jinja2 semantics (see <see cref="PyValue"/>).</summary>
internal sealed partial class TemplateEvaluator
{
    public object? Evaluate(Expr expr, TemplateScope scope)
    {
        try
        {
            return EvaluateCore(expr, scope);
        }
        catch (ChatTemplateException e) when (!e.Message.StartsWith("line ", StringComparison.Ordinal))
        {
            throw new ChatTemplateException($"line {expr.Line}: {e.Message}", e) { RaisedByTemplate = e.RaisedByTemplate };
        }
    }

    private object? EvaluateCore(Expr expr, TemplateScope scope)
    {
        switch (expr)
        {
            case LiteralExpr l: return l.Value;
            case NameExpr n: return scope.TryGet(n.Name, out var v) ? v : new Undefined($"'{n.Name}'");
            case ListExpr l: return l.Items.Select(i => Evaluate(i, scope)).ToList();
            case TupleExpr t: return new PyTuple(t.Items.Select(i => Evaluate(i, scope)).ToArray());
            case DictExpr d:
            {
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, val) in d.Pairs)
                {
                    var key = Evaluate(k, scope);
                    if (key is not string s) throw new ChatTemplateException($"dict keys other than strings ({PyValue.TypeName(key)}) are not supported by this renderer");
                    dict[s] = Evaluate(val, scope);
                }
                return dict;
            }
            case AttributeExpr a: return ObjectModel.GetAttribute(Evaluate(a.Target, scope), a.Name);
            case ItemExpr i: return ObjectModel.GetItem(Evaluate(i.Target, scope), Evaluate(i.Index, scope));
            case SliceExpr s:
                return ObjectModel.Slice(Evaluate(s.Target, scope), Optional(s.Start, scope), Optional(s.Stop, scope), Optional(s.Step, scope));
            case CallExpr c:
            {
                var target = Evaluate(c.Target, scope);
                var (args, kwargs) = EvaluateArguments(c.Args, scope);
                return target switch
                {
                    TemplateCallable f => f(args, kwargs),
                    Undefined u => throw u.Error(),
                    _ => throw new ChatTemplateException($"'{PyValue.TypeName(target)}' object is not callable (TypeError)"),
                };
            }
            case FilterExpr f:
            {
                var value = Evaluate(f.Value, scope);
                var (args, kwargs) = EvaluateArguments(f.Args, scope);
                return TemplateFilters.Apply(f.Name, value, args, kwargs);
            }
            case TestExpr t:
            {
                var value = Evaluate(t.Value, scope);
                var (args, _) = EvaluateArguments(t.Args, scope);
                return TemplateTests.Apply(t.Name, value, args) != t.Negated;
            }
            case UnaryExpr u:
            {
                var operand = Evaluate(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !PyValue.IsTrue(operand),
                    "-" => Operators.Negate(operand),
                    _ => Operators.Plus(operand),
                };
            }
            case BinaryExpr b:
            {
                if (b.Op == "and")
                {
                    var left = Evaluate(b.Left, scope);
                    return PyValue.IsTrue(left) ? Evaluate(b.Right, scope) : left;
                }
                if (b.Op == "or")
                {
                    var left = Evaluate(b.Left, scope);
                    return PyValue.IsTrue(left) ? left : Evaluate(b.Right, scope);
                }
                return Operators.Binary(b.Op, Evaluate(b.Left, scope), Evaluate(b.Right, scope));
            }
            case CompareExpr c:
            {
                var left = Evaluate(c.First, scope);
                foreach (var (op, operandExpr) in c.Rest)
                {
                    var right = Evaluate(operandExpr, scope);
                    if (!Operators.Compare(op, left, right)) return false;
                    left = right;
                }
                return true;
            }
            case ConditionalExpr c:
                return PyValue.IsTrue(Evaluate(c.Condition, scope))
                    ? Evaluate(c.Then, scope)
                    : c.Else is null ? new Undefined("the else branch of an inline if") : Evaluate(c.Else, scope);
            default:
                throw new ChatTemplateException($"expression {expr.GetType().Name} is not supported");
        }
    }

    private object? Optional(Expr? expr, TemplateScope scope) => expr is null ? null : Evaluate(expr, scope);

    private (List<object?> Args, Dictionary<string, object?> Kwargs) EvaluateArguments(Arguments arguments, TemplateScope scope)
    {
        var args = arguments.Positional.Select(a => Evaluate(a, scope)).ToList();
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in arguments.Keywords) kwargs[name] = Evaluate(value, scope);
        return (args, kwargs);
    }
}
