using System.Text.RegularExpressions;

namespace Peft.Net.Lora;

/// <summary>What a module is, as far as LoRA targeting cares.</summary>
internal enum TargetKind
{
    /// <summary>Anything LoRA cannot adapt (containers, norms, activations…).</summary>
    Other,

    /// <summary>A linear layer (plain, 4-bit, or already LoRA-adapted).</summary>
    Linear,

    /// <summary>An embedding (plain, NEFTune or already LoRA-adapted).</summary>
    Embedding,
}

/// <summary>
/// One module of a model tree as the targeting rules see it, whatever the backend: its dotted path (pre-order, as
/// PyTorch's <c>named_modules</c>), kind, type name (for messages), output size (linear layers) and vocabulary
/// (embeddings). The insides of LoRA layers and modules_to_save wrappers are never candidates.
/// </summary>
internal readonly record struct TargetCandidate(string Path, TargetKind Kind, string TypeName, long OutFeatures = 0, long? Vocabulary = null);

/// <summary>
/// PEFT's target rules (reference §3.1, <c>check_target_module_exists</c>), written once for every backend:
/// exclude_modules first, then modules_to_save (never targeted), then target_modules (list: exact name or dotted
/// suffix; string: full-name regex; "all-linear": every linear layer except the output head), then
/// layers_to_transform. The engine (<see cref="LoraTargets"/>) and Peft.Net.TorchSharp map their module trees to
/// <see cref="TargetCandidate"/> lists and call this.
/// </summary>
internal static class TargetSelection
{
    /// <summary>PEFT condenses "all-linear" targets to a suffix set from this many modules on (MIN_TARGET_MODULES_FOR_OPTIMIZATION).</summary>
    private const int MinTargetsForCondensing = 20;

    /// <summary>The indexes (into <paramref name="candidates"/>, in order) of the modules to adapt, and the target_modules list to record for saving.</summary>
    /// <exception cref="ArgumentException">Nothing matches, or a matched module is neither a linear layer nor an embedding.</exception>
    public static (IReadOnlyList<int> Targets, IReadOnlyList<string>? ResolvedList) Resolve(IReadOnlyList<TargetCandidate> candidates, LoraConfig config, string modelTypeName)
    {
        if (config.TargetModules is null && config.TargetModulesRegex is null)
            throw new ArgumentException("The LoRA config has no target_modules: give a list of module names, a regex, or \"all-linear\".");
        int head = config.TargetsAllLinear ? OutputHead(candidates) : -1;
        var targetRegex = config.TargetModulesRegex is { } pattern && !config.TargetsAllLinear ? TargetRegexes.FullMatch(pattern) : null;
        var excludeRegex = config.ExcludeModulesRegex is { } ex ? TargetRegexes.FullMatch(ex) : null;
        var saveRegexes = (config.ModulesToSave ?? []).Select(n => new Regex($"(^|.*\\.){Regex.Escape(n)}($|\\..*)", RegexOptions.CultureInvariant)).ToList();

        var targets = new List<int>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var (path, kind, typeName, _, _) = candidates[i];
            if (excludeRegex?.IsMatch(path) == true || config.ExcludeModules?.Any(e => TargetRegexes.IsNameOrDottedSuffix(path, e)) == true)
                continue;
            if (saveRegexes.Any(r => r.IsMatch(path)))
                continue;
            bool matched = config.TargetsAllLinear
                ? kind == TargetKind.Linear && i != head
                : targetRegex?.IsMatch(path) ?? config.TargetModules!.Any(t => TargetRegexes.IsNameOrDottedSuffix(path, t));
            if (!matched || !InSelectedLayer(path, config))
                continue;
            if (kind == TargetKind.Other)
                throw new ArgumentException(
                    $"Target module '{path}' is a {typeName}; LoRA adapts linear layers and embeddings. Narrow target_modules.");
            targets.Add(i);
        }
        if (targets.Count == 0)
            throw new ArgumentException(
                $"target_modules {Describe(config)} matched no module of the {modelTypeName}; module names look like [{string.Join(", ", candidates.Take(8).Select(c => c.Path))}{(candidates.Count > 8 ? ", …" : "")}].");
        IReadOnlyList<string>? resolved = config.TargetsAllLinear ? Condense(targets.Select(t => candidates[t].Path).ToList(), candidates) : null;
        return (targets, resolved);
    }

    /// <summary>The indexes of the modules named by modules_to_save (exact names or dotted suffixes).</summary>
    /// <exception cref="ArgumentException">A non-empty list matches nothing.</exception>
    public static IReadOnlyList<int> ModulesToSave(IReadOnlyList<TargetCandidate> candidates, IReadOnlyList<string> names, string modelTypeName)
    {
        if (names.Count == 0) return [];
        var found = Enumerable.Range(0, candidates.Count).Where(i => names.Any(n => TargetRegexes.IsNameOrDottedSuffix(candidates[i].Path, n))).ToList();
        if (found.Count == 0)
            throw new ArgumentException($"modules_to_save [{string.Join(", ", names)}] matched no module of the {modelTypeName}.");
        return found;
    }

    /// <summary>
    /// The index of the model's output head, excluded by "all-linear": the linear layer named <c>lm_head</c>, else the
    /// last linear layer whose output size is the input embedding's vocabulary size, else -1.
    /// </summary>
    public static int OutputHead(IReadOnlyList<TargetCandidate> candidates)
    {
        int named = -1;
        for (int i = 0; i < candidates.Count; i++)
            if (candidates[i].Kind == TargetKind.Linear && LastSegment(candidates[i].Path) == "lm_head") named = i;
        if (named >= 0) return named;
        if (InputVocabulary(candidates) is not { } vocabulary) return -1;
        int last = -1;
        for (int i = 0; i < candidates.Count; i++)
            if (candidates[i].Kind == TargetKind.Linear && candidates[i].OutFeatures == vocabulary) last = i;
        return last;
    }

    /// <summary>
    /// The vocabulary size of the input embedding: a module named <c>embed_tokens</c> or <c>wte</c>, else the first
    /// embedding, or null when the model has none.
    /// </summary>
    public static long? InputVocabulary(IReadOnlyList<TargetCandidate> candidates)
    {
        var embeddings = candidates.Where(c => c.Vocabulary is not null).ToList();
        if (embeddings.Count == 0) return null;
        var named = embeddings.Where(c => LastSegment(c.Path) is "embed_tokens" or "wte").ToList();
        return (named.Count > 0 ? named[0] : embeddings[0]).Vocabulary;
    }

    /// <summary>PEFT's layers_to_transform filter: the integer after <c>&lt;layers_pattern&gt;.</c> (or after any segment) must be listed.</summary>
    private static bool InSelectedLayer(string path, LoraConfig config)
    {
        if (config.LayersToTransform is not { } layers) return true;
        Match? match = null;
        if (config.LayersPattern is not { Count: > 0 } patterns)
            match = Regex.Match(path, @"^.*\.[^.]*\.(\d+)\.", RegexOptions.CultureInvariant);
        else
            foreach (var pattern in patterns)
                if ((match = Regex.Match(path, $"^.*\\.{pattern}\\.(\\d+)\\.", RegexOptions.CultureInvariant)).Success)
                    break;
        return match is { Success: true } && int.TryParse(match.Groups[1].Value, out int index) && layers.Contains(index);
    }

    /// <summary>
    /// The target list to save for "all-linear": the full names, or from 20 targets on a condensed set of dotted
    /// suffixes (each the shortest that matches no other candidate), as PEFT saves it.
    /// </summary>
    private static IReadOnlyList<string> Condense(List<string> targets, IReadOnlyList<TargetCandidate> candidates)
    {
        if (targets.Count < MinTargetsForCondensing) return targets;
        var targetSet = targets.ToHashSet(StringComparer.Ordinal);
        var others = candidates.Select(c => c.Path).Where(p => !targetSet.Contains(p)).ToList();
        var suffixes = new List<string>();
        foreach (var target in targets)
        {
            var segments = target.Split('.');
            for (int take = 1; take <= segments.Length; take++)
            {
                string suffix = string.Join('.', segments[^take..]);
                if (others.Any(o => TargetRegexes.IsNameOrDottedSuffix(o, suffix))) continue;
                if (!suffixes.Contains(suffix)) suffixes.Add(suffix);
                break;
            }
        }
        return suffixes;
    }

    private static string Describe(LoraConfig config) =>
        config.TargetModulesRegex is { } r ? $"\"{r}\"" : "[" + string.Join(", ", config.TargetModules!) + "]";

    private static string LastSegment(string path) => path[(path.LastIndexOf('.') + 1)..];
}
