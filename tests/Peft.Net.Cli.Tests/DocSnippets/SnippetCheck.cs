using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Peft.Net.Cli.Tests.DocSnippets;

/// <summary>
/// Compiles (and, for <see cref="SnippetKind.Run"/>, runs) one doc block with Roslyn against the Peft.Net assemblies
/// this test project references; every message names the page and the page line.
/// </summary>
/// <remarks>
/// Every block gets the SDK's implicit usings of a console app (System, System.IO, System.Linq,
/// System.Collections.Generic, System.Net.Http, System.Threading, System.Threading.Tasks) and nothing else.
/// A fragment's <c>given:</c> preamble is C#: <c>using</c> directives and declarations without initialiser, separated
/// by <c>;</c> (<c>given: using Peft.Net.Models; LlamaForCausalLM model; Func&lt;Tensor&gt; ComputeLoss</c>). The
/// directives join the fragment's own; each declaration becomes a local assigned <c>default!</c> ahead of the
/// fragment's statements, which then compile as a top-level program (a fragment of type declarations only compiles as
/// a library).
/// </remarks>
public static class SnippetCheck
{
    private static readonly string[] ImplicitUsings =
        ["System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    private static readonly Lazy<List<MetadataReference>> SharedReferences = new(() => References().ToList());

    /// <summary>Null when the block is fine, else what is wrong with it (page, line, compiler messages, code).</summary>
    /// <param name="snippet">The block.</param>
    /// <param name="repoRoot">The repository root (for excerpts' source files).</param>
    public static string? Check(DocSnippet snippet, string repoRoot) => snippet.Kind switch
    {
        SnippetKind.Unmarked => $"{snippet.File}:{snippet.Line}: a C# block needs a marker on the line before its fence: "
            + "<!-- snippet: run -->, <!-- snippet: program -->, <!-- snippet: fragment given: using …; Type name -->"
            + $" or <!-- snippet: excerpt src/….cs --> (found \"{snippet.Argument}\")",
        SnippetKind.Excerpt => CheckExcerpt(snippet, repoRoot),
        SnippetKind.Fragment => Compile(snippet, FragmentSource(snippet, out bool library), library, run: false),
        _ => Compile(snippet, $"#line {snippet.FirstCodeLine} \"{snippet.File}\"\n{snippet.Code}", library: false, run: snippet.Kind == SnippetKind.Run),
    };

    /// <summary>The fragment as a compilation unit: its usings and the preamble's, the declared locals, its body.</summary>
    private static string FragmentSource(DocSnippet snippet, out bool library)
    {
        var unit = CSharpSyntaxTree.ParseText(snippet.Code, ParseOptions).GetCompilationUnitRoot();
        int usingsEnd = unit.Usings.Count == 0 ? 0 : unit.Usings.Last().FullSpan.End;
        string ownUsings = snippet.Code[..usingsEnd], body = snippet.Code[usingsEnd..];
        int bodyLine = snippet.FirstCodeLine + ownUsings.Count(c => c == '\n');

        var preambleUsings = new List<string>();
        var locals = new List<string>();
        foreach (var part in snippet.Argument.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            if (part.StartsWith("using ", StringComparison.Ordinal)) preambleUsings.Add(part + ";");
            else locals.Add(part + " = default!;");

        library = locals.Count == 0 && !unit.Members.OfType<GlobalStatementSyntax>().Any();
        int markerLine = snippet.Line - 1;
        return $"#line {snippet.FirstCodeLine} \"{snippet.File}\"\n{ownUsings}"
            + $"#line {markerLine} \"{snippet.File}\"\n{string.Join(' ', preambleUsings.Concat(locals))}\n"   // one line: the marker's
            + $"#line {bodyLine} \"{snippet.File}\"\n{body}";
    }

    private static string? Compile(DocSnippet snippet, string source, bool library, bool run)
    {
        var usings = CSharpSyntaxTree.ParseText(string.Join('\n', ImplicitUsings.Select(u => $"global using global::{u};")), ParseOptions);
        var program = CSharpSyntaxTree.ParseText(source, ParseOptions, path: snippet.File + ".cs");
        var compilation = CSharpCompilation.Create("Snippet_" + Guid.NewGuid().ToString("N"), [usings, program], SharedReferences.Value,
            new CSharpCompilationOptions(library ? OutputKind.DynamicallyLinkedLibrary : OutputKind.ConsoleApplication,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        if (!result.Success)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString());
            return $"{snippet}: does not compile:\n{string.Join('\n', errors)}\n--- code ---\n{snippet.Code}";
        }
        if (!run) return null;
        image.Position = 0;
        return Run(snippet, image);
    }

    private static string? Run(DocSnippet snippet, Stream image)
    {
        var context = new AssemblyLoadContext(snippet.ToString(), isCollectible: true);
        string folder = Directory.CreateTempSubdirectory("peft-snippet-").FullName;
        string previous = Environment.CurrentDirectory;
        try
        {
            var entry = context.LoadFromStream(image).EntryPoint!;
            Environment.CurrentDirectory = folder;
            var output = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            return output is Task ? $"{snippet}: an async top-level program; make a run snippet synchronous" : null;
        }
        catch (TargetInvocationException e)
        {
            return $"{snippet}: threw {e.InnerException}";
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(folder, recursive: true);
            context.Unload();
        }
    }

    /// <summary>An excerpt's lines (comments and indentation aside) must appear, in order and adjacent, in its source file.</summary>
    private static string? CheckExcerpt(DocSnippet snippet, string repoRoot)
    {
        string path = Path.Combine(repoRoot, snippet.Argument);
        if (!File.Exists(path)) return $"{snippet}: the excerpt's source file {snippet.Argument} does not exist";
        var quoted = Normalize(snippet.Code.Split('\n'));
        var source = Normalize(File.ReadAllLines(path));
        if (quoted.Count == 0) return $"{snippet}: an empty excerpt";
        for (int start = 0; start + quoted.Count <= source.Count; start++)
            if (source.Skip(start).Take(quoted.Count).SequenceEqual(quoted)) return null;
        int longest = Enumerable.Range(0, source.Count).Max(s => quoted.TakeWhile((q, k) => s + k < source.Count && source[s + k] == q).Count());
        return $"{snippet}: the excerpt is not in {snippet.Argument} (comments and whitespace aside); its first {longest} line(s) match, "
            + $"then \"{quoted[Math.Min(longest, quoted.Count - 1)]}\" differs\n--- code ---\n{snippet.Code}";
    }

    private static readonly Regex LineComment = new(@"\s*//.*$", RegexOptions.CultureInvariant);

    private static List<string> Normalize(IEnumerable<string> lines) =>
        lines.Select(l => Regex.Replace(LineComment.Replace(l, ""), @"\s+", " ").Trim()).Where(l => l.Length > 0).ToList();

    private static IEnumerable<MetadataReference> References()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase).Select(g => g.First());
        foreach (var path in paths)
        {
            MetadataReference? reference = null;
            try
            {
                using var stream = File.OpenRead(path);
                using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
                if (pe.HasMetadata) reference = MetadataReference.CreateFromFile(path);
            }
            catch (BadImageFormatException)
            {
            }
            if (reference is not null) yield return reference;
        }
    }
}
