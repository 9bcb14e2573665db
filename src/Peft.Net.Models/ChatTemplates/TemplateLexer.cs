using System.Globalization;
using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Splits a template into text and tag tokens the way jinja2's lexer does with transformers' settings
/// (<c>trim_blocks=True, lstrip_blocks=True</c>, <c>keep_trailing_newline=False</c>): "\r\n" and "\r" become "\n",
/// one trailing newline is dropped, <c>-</c> markers strip all whitespace on their side, <c>trim_blocks</c> removes one
/// newline right after <c>%}</c>/<c>#}</c>, <c>lstrip_blocks</c> removes a line's indentation before <c>{%</c>/<c>{#</c>.
/// </summary>
internal sealed class TemplateLexer
{
    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", ";"];

    private readonly string _src;
    private readonly List<TemplateToken> _tokens = [];
    private int _pos;
    private int _line = 1;

    private TemplateLexer(string source)
    {
        source = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (source.EndsWith('\n')) source = source[..^1];
        _src = source;
    }

    public static List<TemplateToken> Tokenize(string source)
    {
        var lexer = new TemplateLexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        bool lineStarting = true;
        while (_pos < _src.Length)
        {
            int tag = FindTagStart(_pos);
            string text = _src[_pos..(tag < 0 ? _src.Length : tag)];
            if (tag < 0)
            {
                AddText(text);
                _pos = _src.Length;
                break;
            }
            char kind = _src[tag + 1];
            char sign = tag + 2 < _src.Length ? _src[tag + 2] : '\0';
            if (sign == '-')
            {
                text = text.TrimEnd(CodePoints.IsSpaceChars);
            }
            else if (sign != '+' && kind != '{')
            {
                int lineStart = text.LastIndexOf('\n') + 1;
                if ((lineStart > 0 || lineStarting) && text.AsSpan(lineStart).Trim(CodePoints.IsSpaceChars).Length == 0)
                    text = text[..lineStart];
            }
            AddText(text);
            _line += CountNewlines(_src, _pos, tag);
            _pos = tag + 2 + (sign is '-' or '+' ? 1 : 0);
            if (kind == '#') lineStarting = LexComment();
            else if (kind == '{') { _tokens.Add(new(TokenKind.VariableBegin, "{{", _line)); lineStarting = LexTag("}}", TokenKind.VariableEnd); }
            else
            {
                if (IsRawTag()) throw new ChatTemplateException($"line {_line}: the 'raw' block is not supported by this renderer");
                _tokens.Add(new(TokenKind.BlockBegin, "{%", _line));
                lineStarting = LexTag("%}", TokenKind.BlockEnd);
            }
        }
        _tokens.Add(new(TokenKind.End, "", _line));
    }

    private bool IsRawTag()
    {
        int p = _pos;
        while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
        return string.CompareOrdinal(_src, p, "raw", 0, 3) == 0 && (p + 3 >= _src.Length || !char.IsLetterOrDigit(_src[p + 3]));
    }

    private void AddText(string text)
    {
        if (text.Length > 0) _tokens.Add(new(TokenKind.Text, text, _line));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private static int CountNewlines(string s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++) if (s[i] == '\n') n++;
        return n;
    }

    /// <summary>Skips a comment; returns whether what it consumed ended a line.</summary>
    private bool LexComment()
    {
        int end = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0) throw new ChatTemplateException($"line {_line}: unclosed comment");
        bool strip = end > _pos && _src[end - 1] == '-';
        _line += CountNewlines(_src, _pos, end);
        _pos = end + 2;
        return AfterTagEnd(strip, trimNewline: true);
    }

    /// <summary>Applies '-' (strip all whitespace) or trim_blocks (one newline) after a tag; returns whether a newline was consumed last.</summary>
    private bool AfterTagEnd(bool strip, bool trimNewline)
    {
        int start = _pos;
        if (strip) while (_pos < _src.Length && CodePoints.IsSpace(_src[_pos])) _pos++;
        else if (trimNewline && _pos < _src.Length && _src[_pos] == '\n') _pos++;
        _line += CountNewlines(_src, start, _pos);
        return _pos > start && _src[_pos - 1] == '\n';
    }

    /// <summary>Lexes the expression tokens of a {{ }} or {% %} tag up to its closer.</summary>
    private bool LexTag(string closer, TokenKind endKind)
    {
        int depth = 0; // open (, [ and { : a closer inside brackets is two operators, as jinja2's balancing does
        while (true)
        {
            if (_pos >= _src.Length) throw new ChatTemplateException($"line {_line}: unclosed tag (missing '{closer}')");
            char c = _src[_pos];
            if (c == '\n') { _line++; _pos++; continue; }
            if (char.IsWhiteSpace(c)) { _pos++; continue; }
            if (depth == 0 && (c == '-' || c == '+') && string.CompareOrdinal(_src, _pos + 1, closer, 0, 2) == 0)
            {
                _pos += 3;
                _tokens.Add(new(endKind, closer, _line));
                return AfterTagEnd(strip: c == '-', trimNewline: false);
            }
            if (depth == 0 && string.CompareOrdinal(_src, _pos, closer, 0, 2) == 0)
            {
                _pos += 2;
                _tokens.Add(new(endKind, closer, _line));
                return AfterTagEnd(strip: false, trimNewline: endKind == TokenKind.BlockEnd);
            }
            if (c is '"' or '\'') { LexString(c); continue; }
            if (char.IsAsciiDigit(c)) { LexNumber(); continue; }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < _src.Length && (char.IsAsciiLetterOrDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
                _tokens.Add(new(TokenKind.Name, _src[start.._pos], _line));
                continue;
            }
            string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(_src, _pos, o, 0, o.Length) == 0);
            if (op is null) throw new ChatTemplateException($"line {_line}: unexpected character '{c}' in a tag");
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth = Math.Max(0, depth - 1);
            _tokens.Add(new(TokenKind.Operator, op, _line));
            _pos += op.Length;
        }
    }

    private void LexNumber()
    {
        int start = _pos;
        while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
        bool isFloat = false;
        if (_pos + 1 < _src.Length && _src[_pos] == '.' && char.IsAsciiDigit(_src[_pos + 1]))
        {
            isFloat = true;
            _pos++;
            while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
        }
        if (_pos < _src.Length && _src[_pos] is 'e' or 'E')
        {
            int save = _pos;
            _pos++;
            if (_pos < _src.Length && _src[_pos] is '+' or '-') _pos++;
            if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
            {
                isFloat = true;
                while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) _pos++;
            }
            else _pos = save;
        }
        string text = _src[start.._pos].Replace("_", "", StringComparison.Ordinal);
        _tokens.Add(new(isFloat ? TokenKind.Float : TokenKind.Integer, text, _line));
    }

    /// <summary>A string literal with Python's unicode_escape rules (backslash-newline vanishes, unknown escapes stay).</summary>
    private void LexString(char quote)
    {
        var sb = new StringBuilder();
        int line = _line;
        _pos++;
        while (true)
        {
            if (_pos >= _src.Length) throw new ChatTemplateException($"line {line}: unclosed string literal");
            char c = _src[_pos++];
            if (c == quote) break;
            if (c == '\n') _line++;
            if (c != '\\') { sb.Append(c); continue; }
            if (_pos >= _src.Length) throw new ChatTemplateException($"line {line}: unclosed string literal");
            char e = _src[_pos++];
            switch (e)
            {
                case '\n': _line++; break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(Hex(2, line)); break;
                case 'u': sb.Append(Hex(4, line)); break;
                case 'U': sb.Append(Hex(8, line)); break;
                case >= '0' and <= '7':
                {
                    int value = e - '0', n = 1;
                    while (n < 3 && _pos < _src.Length && _src[_pos] is >= '0' and <= '7') { value = value * 8 + (_src[_pos++] - '0'); n++; }
                    sb.Append(char.ConvertFromUtf32(value));
                    break;
                }
                default: sb.Append('\\').Append(e); break;
            }
        }
        _tokens.Add(new(TokenKind.String, sb.ToString(), line));
    }

    private string Hex(int digits, int line)
    {
        if (_pos + digits > _src.Length || !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
            throw new ChatTemplateException($"line {line}: bad \\x/\\u escape in a string literal");
        _pos += digits;
        return char.ConvertFromUtf32(value);
    }
}
