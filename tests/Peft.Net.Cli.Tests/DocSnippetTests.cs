using System.Text.RegularExpressions;
using Peft.Net.Cli.Tests.DocSnippets;

namespace Peft.Net.Cli.Tests;

/// <summary>
/// Every C# block of README.md and docs/*.md, compiled with Roslyn against the Peft.Net assemblies (and run, where it
/// is a whole program that needs no files).
/// </summary>
/// <remarks>
/// <para>Conventions for doc authors: the line just before a <c>```csharp</c> fence holds one marker.</para>
/// <list type="bullet">
/// <item><c>&lt;!-- snippet: run --&gt;</c>: a whole program (top-level statements, the SDK's implicit usings), compiled
/// and run in process; it must return without an exception.</item>
/// <item><c>&lt;!-- snippet: program --&gt;</c>: a whole program that is compiled only (it needs model files or a GPU).</item>
/// <item><c>&lt;!-- snippet: fragment given: using Peft.Net.Models; LlamaForCausalLM model --&gt;</c>: statements or
/// type declarations compiled with the declared context (<see cref="SnippetCheck"/>): the namespaces and typed names the
/// fragment takes from the text around it. Without <c>given:</c> the fragment needs nothing but its own usings.</item>
/// <item><c>&lt;!-- snippet: excerpt src/….cs --&gt;</c>: code quoted from the repository (internal code a user cannot
/// compile); the file must contain it, comments and whitespace aside.</item>
/// </list>
/// <para>A C# block without a marker fails. Markdown files added later under docs/ are picked up automatically.</para>
/// </remarks>
public class DocSnippetTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "docs")) && File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No repository root (README.md, docs/, Peft.Net.sln) above {AppContext.BaseDirectory}.");
    }

    public static List<DocSnippet> All()
    {
        string root = RepoRoot();
        var files = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        return files.SelectMany(f => DocSnippet.Parse(Path.GetRelativePath(root, f), File.ReadAllLines(f))).ToList();
    }

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var s in All()) data.Add(s.ToString());
        return data;
    }

    [Fact]
    public void TheDocsHaveCSharpBlocksAndTheKeyPagesCompileAsWritten()
    {
        var all = All();
        Assert.True(all.Count >= 25, $"found only {all.Count} C# blocks");
        Assert.Contains(all, s => s.File == "README.md" && s.Kind == SnippetKind.Program);
        Assert.Contains(all, s => s.File == Path.Combine("docs", "getting-started.md") && s.Kind == SnippetKind.Run);
        Assert.Contains(all, s => s.File == Path.Combine("docs", "api-guide.md") && s.Kind == SnippetKind.Program);
    }

    [Fact]
    public void AFragmentTakesOnlyNamespacesThatAnEarlierBlockOfItsPageShows()
    {
        // given: may name a namespace the reader was shown above (a fragment continues the page's program), never one
        // the page never shows: the reader could not guess it.
        var problems = new List<string>();
        foreach (var page in All().GroupBy(s => s.File))
        {
            var shown = new HashSet<string>(StringComparer.Ordinal);
            foreach (var snippet in page)
            {
                if (snippet.Kind == SnippetKind.Fragment)
                    foreach (var part in snippet.Argument.Split(';', StringSplitOptions.TrimEntries))
                        if (part.StartsWith("using ", StringComparison.Ordinal) && !shown.Contains(part))
                            problems.Add($"{snippet}: '{part}' in given: is not shown by an earlier block of {snippet.File}");
                foreach (var line in snippet.Code.Split('\n'))
                    if (Regex.Match(line, @"^\s*(using [A-Za-z0-9_.]+);") is { Success: true } m) shown.Add(m.Groups[1].Value);
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCSharpBlockCompiles(string name)
    {
        var snippet = All().Single(s => s.ToString() == name);
        string? error = SnippetCheck.Check(snippet, RepoRoot());
        Assert.True(error is null, error);
    }

    // The checker itself, on made-up pages: it must reject what the real pages must not contain.

    private static DocSnippet Only(params string[] page) => Assert.Single(DocSnippet.Parse("docs/made-up.md", page));

    [Fact]
    public void ABlockWithoutAMarkerFails()
    {
        var snippet = Only("Some text", "```csharp", "Console.WriteLine(1);", "```");
        Assert.Equal(SnippetKind.Unmarked, snippet.Kind);
        string? error = SnippetCheck.Check(snippet, RepoRoot());
        Assert.NotNull(error);
        Assert.Contains("docs/made-up.md:2", error);
        Assert.Contains("needs a marker", error);
        Assert.Equal(SnippetKind.Unmarked, Only("<!-- snippet: fragmnt -->", "```cs", "int a = 1;", "```").Kind);
        Assert.Empty(DocSnippet.Parse("x.md", ["```bash", "echo hi", "```", "```json", "{}", "```"]));
    }

    [Fact]
    public void AFragmentCompilesOnlyWithItsDeclaredContextAndErrorsNameThePageLine()
    {
        string[] body = ["```csharp", "using Peft.Net;", "", "model.ApplyLora(rank: 8, alpha: 16);", "```"];
        var declared = Only(["text", "<!-- snippet: fragment given: using Peft.Net.Core.Nn; Module model -->", .. body]);
        Assert.Equal(SnippetKind.Fragment, declared.Kind);
        Assert.Null(SnippetCheck.Check(declared, RepoRoot()));

        string? undeclared = SnippetCheck.Check(Only(["text", "<!-- snippet: fragment -->", .. body]), RepoRoot());
        Assert.NotNull(undeclared);
        Assert.Contains("docs/made-up.md(6,1): error CS0103", undeclared);   // 'model' on page line 6

        string? wrongType = SnippetCheck.Check(Only(["<!-- snippet: fragment given: using Peft.Net.Core.Nn; Linear model; Tensor x -->", .. body]), RepoRoot());
        Assert.NotNull(wrongType);
        Assert.True(wrongType.Contains("docs/made-up.md(1,"), wrongType);       // the unknown 'Tensor' of the marker line
        Assert.Contains("CS0246", wrongType);
    }

    [Fact]
    public void ARunSnippetThatThrowsFailsAndAnExcerptMustMatchItsSource()
    {
        string? thrown = SnippetCheck.Check(Only("<!-- snippet: run -->", "```csharp", "throw new InvalidOperationException(\"boom\");", "```"), RepoRoot());
        Assert.NotNull(thrown);
        Assert.Contains("boom", thrown);

        string[] real = ["public static Tensor Silu(Tensor x)", "{"];
        Assert.Null(SnippetCheck.Check(Only(["<!-- snippet: excerpt src/Peft.Net.Core/Ops/Ops.Activation.cs -->", "```csharp", .. real, "```"]), RepoRoot()));
        string? changed = SnippetCheck.Check(Only("<!-- snippet: excerpt src/Peft.Net.Core/Ops/Ops.Activation.cs -->", "```csharp", "public static Tensor Silu(Tensor y)", "```"), RepoRoot());
        Assert.NotNull(changed);
        Assert.Contains("is not in", changed);
    }
}
