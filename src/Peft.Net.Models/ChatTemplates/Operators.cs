using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Python's arithmetic, concatenation and comparison operators, errors included.</summary>
internal static class Operators
{
    public static object? Binary(string op, object? a, object? b)
    {
        if (op == "~") return PyValue.Str(a) + PyValue.Str(b);
        if (a is Undefined ua) throw ua.Error();
        if (b is Undefined ub) throw ub.Error();
        switch (op)
        {
            case "+":
                if (a is string sa && b is string sb) return sa + sb;
                if (a is List<object?> la && b is List<object?> lb) return new List<object?>([.. la, .. lb]);
                if (a is PyTuple ta && b is PyTuple tb) return new PyTuple([.. ta.Items, .. tb.Items]);
                return Arithmetic(op, a, b);
            case "*":
                if (a is string s1 && b is long or bool) return Repeat(s1, PyValue.ToLong(b));
                if (b is string s2 && a is long or bool) return Repeat(s2, PyValue.ToLong(a));
                if (a is List<object?> l1 && b is long or bool) return Enumerable.Repeat(l1, (int)Math.Max(0, PyValue.ToLong(b))).SelectMany(x => x).ToList();
                return Arithmetic(op, a, b);
            case "%" when a is string:
                throw new ChatTemplateException("printf-style string formatting ('...' % x) is not supported by this renderer");
            default:
                return Arithmetic(op, a, b);
        }
    }

    private static string Repeat(string s, long n)
    {
        var sb = new StringBuilder();
        for (long i = 0; i < n; i++) sb.Append(s);
        return sb.ToString();
    }

    private static object Arithmetic(string op, object? a, object? b)
    {
        if (!PyValue.IsNumber(a) || !PyValue.IsNumber(b))
            throw new ChatTemplateException($"unsupported operand type(s) for {op}: '{PyValue.TypeName(a)}' and '{PyValue.TypeName(b)}' (TypeError)");
        bool isFloat = a is double || b is double;
        if (op == "/")
        {
            double d = PyValue.ToDouble(b);
            if (d == 0) throw new ChatTemplateException("division by zero (ZeroDivisionError)");
            return PyValue.ToDouble(a) / d;
        }
        if (isFloat)
        {
            double x = PyValue.ToDouble(a), y = PyValue.ToDouble(b);
            if (y == 0 && op is "//" or "%") throw new ChatTemplateException("float division by zero (ZeroDivisionError)");
            return op switch
            {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "//" => Math.Floor(x / y),
                "%" => x - y * Math.Floor(x / y),
                "**" => Math.Pow(x, y),
                _ => throw new ChatTemplateException($"operator '{op}' is not supported"),
            };
        }
        long p = PyValue.ToLong(a), q = PyValue.ToLong(b);
        switch (op)
        {
            case "+": return checked(p + q);
            case "-": return checked(p - q);
            case "*": return checked(p * q);
            case "//":
            case "%":
            {
                if (q == 0) throw new ChatTemplateException("integer division or modulo by zero (ZeroDivisionError)");
                long div = p / q, mod = p % q;
                if (mod != 0 && (mod < 0) != (q < 0)) { div--; mod += q; }
                return op == "//" ? div : mod;
            }
            case "**":
                if (q < 0) return Math.Pow(p, q);
                long r = 1;
                for (long i = 0; i < q; i++) r = checked(r * p);
                return r;
            default: throw new ChatTemplateException($"operator '{op}' is not supported");
        }
    }

    public static object Negate(object? v) => v switch
    {
        long l => (object)(-l),
        double d => -d,
        bool b => b ? -1L : 0L,
        Undefined u => throw u.Error(),
        _ => throw new ChatTemplateException($"bad operand type for unary -: '{PyValue.TypeName(v)}' (TypeError)"),
    };

    public static object Plus(object? v) => v switch
    {
        long or double => v,
        bool b => b ? 1L : 0L,
        Undefined u => throw u.Error(),
        _ => throw new ChatTemplateException($"bad operand type for unary +: '{PyValue.TypeName(v)}' (TypeError)"),
    };

    public static bool Compare(string op, object? a, object? b) => op switch
    {
        "==" => PyValue.Equal(a, b),
        "!=" => !PyValue.Equal(a, b),
        "<" => PyValue.Compare(a, b, op) < 0,
        ">" => PyValue.Compare(a, b, op) > 0,
        "<=" => PyValue.Compare(a, b, op) <= 0,
        ">=" => PyValue.Compare(a, b, op) >= 0,
        "in" => In(a, b),
        "not in" => !In(a, b),
        _ => throw new ChatTemplateException($"operator '{op}' is not supported"),
    };

    private static bool In(object? item, object? container)
    {
        if (container is null) throw new ChatTemplateException("argument of type 'NoneType' is not iterable (TypeError)");
        if (container is long or double or bool)
            throw new ChatTemplateException($"argument of type '{PyValue.TypeName(container)}' is not iterable (TypeError)");
        return PyValue.Contains(container, item);
    }
}
