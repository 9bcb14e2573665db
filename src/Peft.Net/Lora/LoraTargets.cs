using System.Text.RegularExpressions;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// Chooses the modules a <see cref="LoraConfig"/> adapts (reference §3.1, PEFT's <c>check_target_module_exists</c>):
/// exclude_modules first, then modules_to_save (never targeted), then target_modules (list: exact name or dotted
/// suffix; string: full-name regex; "all-linear": every linear layer except the output head), then
/// layers_to_transform. The insides of LoRA layers and modules_to_save wrappers are not candidates; a LoRA layer
/// itself is (a second adapter goes on the same layer).
/// </summary>
internal static class LoraTargets
{
    /// <summary>PEFT condenses "all-linear" targets to a suffix set from this many modules on (MIN_TARGET_MODULES_FOR_OPTIMIZATION).</summary>
    private const int MinTargetsForCondensing = 20;

    /// <summary>The modules to adapt, in model order, and the target_modules list to record for saving.</summary>
    /// <exception cref="ArgumentException">Nothing matches, or a matched module is neither a linear layer nor an embedding.</exception>
    public static (IReadOnlyList<(string Path, Module Module)> Targets, IReadOnlyList<string>? ResolvedList) Resolve(Module model, LoraConfig config)
    {
        if (config.TargetModules is null && config.TargetModulesRegex is null)
            throw new ArgumentException("The LoRA config has no target_modules: give a list of module names, a regex, or \"all-linear\".");
        var candidates = Candidates(model);
        Module? head = config.TargetsAllLinear ? OutputHead(model, candidates) : null;
        var targetRegex = config.TargetModulesRegex is { } pattern && !config.TargetsAllLinear ? TargetRegexes.FullMatch(pattern) : null;
        var excludeRegex = config.ExcludeModulesRegex is { } ex ? TargetRegexes.FullMatch(ex) : null;
        var saveRegexes = (config.ModulesToSave ?? []).Select(n => new Regex($"(^|.*\\.){Regex.Escape(n)}($|\\..*)", RegexOptions.CultureInvariant)).ToList();

        var targets = new List<(string, Module)>();
        foreach (var (path, module) in candidates)
        {
            if (excludeRegex?.IsMatch(path) == true || config.ExcludeModules?.Any(e => TargetRegexes.IsNameOrDottedSuffix(path, e)) == true)
                continue;
            if (saveRegexes.Any(r => r.IsMatch(path)))
                continue;
            bool matched = config.TargetsAllLinear
                ? module is ILinearLayer && !ReferenceEquals(module, head)
                : targetRegex?.IsMatch(path) ?? config.TargetModules!.Any(t => TargetRegexes.IsNameOrDottedSuffix(path, t));
            if (!matched || !InSelectedLayer(path, config))
                continue;
            if (module is not (ILoraLayer or ILinearLayer or Embedding or Neftune.NeftuneEmbedding))
                throw new ArgumentException(
                    $"Target module '{path}' is a {module.GetType().Name}; LoRA adapts linear layers (ILinearLayer) and embeddings. Narrow target_modules.");
            targets.Add((path, module));
        }
        if (targets.Count == 0)
            throw new ArgumentException(
                $"target_modules {Describe(config)} matched no module of the {model.GetType().Name}; module names look like [{string.Join(", ", candidates.Take(8).Select(c => c.Path))}{(candidates.Count > 8 ? ", …" : "")}].");
        IReadOnlyList<string>? resolved = config.TargetsAllLinear ? Condense(targets.Select(t => t.Item1).ToList(), candidates) : null;
        return (targets, resolved);
    }

    /// <summary>
    /// The model's output head, excluded by "all-linear": the linear layer named <c>lm_head</c>, else the last linear
    /// layer whose output size is the input embedding's vocabulary size, else none.
    /// </summary>
    public static Module? OutputHead(Module model, IReadOnlyList<(string Path, Module Module)> candidates)
    {
        var linears = candidates.Where(c => c.Module is ILinearLayer).ToList();
        var named = linears.LastOrDefault(c => LastSegment(c.Path) == "lm_head");
        if (named.Module is not null) return named.Module;
        if (InputVocabulary(model) is not { } vocabulary) return null;
        return linears.LastOrDefault(c => ((ILinearLayer)c.Module).OutFeatures == vocabulary).Module;
    }

    /// <summary>
    /// The vocabulary size of the input embedding: a module named <c>embed_tokens</c> or <c>wte</c>, else the first
    /// embedding (plain, LoRA-adapted or NEFTune), or null when the model has none.
    /// </summary>
    public static int? InputVocabulary(Module model)
    {
        var embeddings = Candidates(model).Where(m => Vocabulary(m.Module) is not null).ToList();
        var found = embeddings.FirstOrDefault(m => LastSegment(m.Path) is "embed_tokens" or "wte");
        return Vocabulary((found.Module ?? embeddings.FirstOrDefault().Module)!);
    }

    private static int? Vocabulary(Module? module) => module switch
    {
        Embedding e => e.NumEmbeddings,
        LoraEmbedding e => e.NumEmbeddings,
        Neftune.NeftuneEmbedding e => e.NumEmbeddings,
        _ => null,
    };

    /// <summary>Named modules except the root and anything inside a LoRA layer or a modules_to_save wrapper.</summary>
    public static List<(string Path, Module Module)> Candidates(Module model)
    {
        var result = new List<(string, Module)>();
        var blocked = new List<string>();
        foreach (var (path, module) in model.NamedModules())
        {
            if (path.Length == 0 || blocked.Any(b => path.StartsWith(b + ".", StringComparison.Ordinal)))
                continue;
            result.Add((path, module));
            if (module is ILoraLayer or ModulesToSaveWrapper)
                blocked.Add(path);
        }
        return result;
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
    private static IReadOnlyList<string> Condense(List<string> targets, List<(string Path, Module Module)> candidates)
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
