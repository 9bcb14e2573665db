using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Peft.Net.Cli.Tests;

/// <summary>
/// Every C# block of README.md and docs/*.md, compiled with Roslyn against the Peft.Net assemblies.
/// </summary>
/// <remarks>
/// <para>Conventions for doc authors (a block is a fence opened with <c>```csharp</c> or <c>```cs</c>):</para>
/// <list type="bullet">
/// <item>By default a block is a <b>whole program</b> (top-level statements with the SDK's implicit usings: System,
/// System.IO, System.Linq, System.Collections.Generic, System.Net.Http, System.Threading, System.Threading.Tasks); it must
/// compile with no error.</item>
/// <item><c>&lt;!-- snippet: run --&gt;</c> on the line just before the fence: a whole program that is also run (in
/// process, its entry point invoked); it must return without an exception. Use it for programs that need no files.</item>
/// <item><c>&lt;!-- snippet: fragment --&gt;</c> on the line just before the fence: a deliberate fragment (it uses
/// variables declared elsewhere, or shows a member of a class); it is only parsed and must have no syntax error.</item>
/// </list>
/// <para>Markdown files added later under docs/ are picked up automatically.</para>
/// </remarks>
public class DocSnippetTests
{
    private static readonly Regex Fence = new(@"^```(?<lang>\S*)\s*$", RegexOptions.CultureInvariant);

    private static readonly string[] ImplicitUsings =
        ["System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    public sealed record Snippet(string File, int Line, string Kind, string Code)
    {
        public override string ToString() => $"{File}:{Line} ({Kind})";
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "docs")) && File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No repository root (README.md, docs/, Peft.Net.sln) above {AppContext.BaseDirectory}.");
    }

    public static List<Snippet> All()
    {
        string root = RepoRoot();
        var files = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var snippets = new List<Snippet>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var open = Fence.Match(lines[i]);
                if (!open.Success || open.Groups["lang"].Value is not ("csharp" or "cs" or "c#")) continue;
                string marker = i > 0 ? lines[i - 1].Trim() : "";
                string kind = marker switch
                {
                    "<!-- snippet: run -->" => "run",
                    "<!-- snippet: fragment -->" => "fragment",
                    _ => "program",
                };
                int end = i + 1;
                while (end < lines.Length && lines[end].Trim() != "```") end++;
                snippets.Add(new Snippet(Path.GetRelativePath(root, file), i + 1, kind, string.Join('\n', lines[(i + 1)..end])));
                i = end;
            }
        }
        return snippets;
    }

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var s in All()) data.Add(s.ToString());
        return data;
    }

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

    private static readonly Lazy<List<MetadataReference>> SharedReferences = new(() => References().ToList());

    [Fact]
    public void TheDocsHaveCSharpBlocksAndTheKeyPagesAreWholePrograms()
    {
        var all = All();
        Assert.True(all.Count >= 10, $"found only {all.Count} C# blocks");
        Assert.Contains(all, s => s.File == "README.md" && s.Kind == "program");
        Assert.Contains(all, s => s.File == Path.Combine("docs", "getting-started.md") && s.Kind == "run");
        Assert.Contains(all, s => s.File == Path.Combine("docs", "api-guide.md") && s.Kind == "program");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCSharpBlockCompiles(string name)
    {
        var snippet = All().Single(s => s.ToString() == name);
        var parseOptions = new CSharpParseOptions(LanguageVersion.Preview);
        if (snippet.Kind == "fragment")
        {
            // Statements parse as top-level code, member declarations (a method, a property) as script code.
            var errors = new[] { SourceCodeKind.Regular, SourceCodeKind.Script }
                .Select(kind => CSharpSyntaxTree.ParseText(snippet.Code, parseOptions.WithKind(kind)).GetDiagnostics()
                    .Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList())
                .MinBy(e => e.Count)!;
            Assert.True(errors.Count == 0, $"{snippet}: syntax errors:\n{string.Join('\n', errors)}\n--- code ---\n{snippet.Code}");
            return;
        }
        var usings = CSharpSyntaxTree.ParseText(string.Join('\n', ImplicitUsings.Select(u => $"global using global::{u};")), parseOptions);
        var program = CSharpSyntaxTree.ParseText(snippet.Code, parseOptions, path: snippet.File);
        var compilation = CSharpCompilation.Create("Snippet_" + Guid.NewGuid().ToString("N"), [usings, program], SharedReferences.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var compileErrors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(result.Success, $"{snippet}: does not compile (mark deliberate fragments with <!-- snippet: fragment -->):\n{string.Join('\n', compileErrors)}\n--- code ---\n{snippet.Code}");
        if (snippet.Kind != "run") return;

        image.Position = 0;
        var context = new AssemblyLoadContext(snippet.ToString(), isCollectible: true);
        try
        {
            var entry = context.LoadFromStream(image).EntryPoint!;
            string folder = Directory.CreateTempSubdirectory("peft-snippet-").FullName;
            string previous = Environment.CurrentDirectory;
            try
            {
                Environment.CurrentDirectory = folder;
                var output = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
                Assert.False(output is Task, $"{snippet}: an async top-level program; make the run snippet synchronous");
            }
            catch (TargetInvocationException e)
            {
                Assert.Fail($"{snippet}: threw {e.InnerException}");
            }
            finally
            {
                Environment.CurrentDirectory = previous;
                Directory.Delete(folder, recursive: true);
            }
        }
        finally
        {
            context.Unload();
        }
    }
}
