using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// The engine's side of target selection: maps a <see cref="Module"/> tree to <see cref="TargetCandidate"/>s and
/// applies the backend-neutral rules of <see cref="TargetSelection"/>. The insides of LoRA layers and
/// modules_to_save wrappers are not candidates; a LoRA layer itself is (a second adapter goes on the same layer).
/// </summary>
internal static class LoraTargets
{
    /// <summary>The modules to adapt, in model order, and the target_modules list to record for saving.</summary>
    /// <exception cref="ArgumentException">Nothing matches, or a matched module is neither a linear layer nor an embedding.</exception>
    public static (IReadOnlyList<(string Path, Module Module)> Targets, IReadOnlyList<string>? ResolvedList) Resolve(Module model, LoraConfig config)
    {
        var candidates = Candidates(model);
        var (indexes, resolved) = TargetSelection.Resolve(candidates.Select(Describe).ToList(), config, model.GetType().Name);
        return (indexes.Select(i => candidates[i]).ToList(), resolved);
    }

    /// <summary>
    /// The model's output head, excluded by "all-linear": the linear layer named <c>lm_head</c>, else the last linear
    /// layer whose output size is the input embedding's vocabulary size, else none.
    /// </summary>
    public static Module? OutputHead(Module model, IReadOnlyList<(string Path, Module Module)> candidates)
    {
        int head = TargetSelection.OutputHead(candidates.Select(Describe).ToList());
        return head < 0 ? null : candidates[head].Module;
    }

    /// <summary>
    /// The vocabulary size of the input embedding: a module named <c>embed_tokens</c> or <c>wte</c>, else the first
    /// embedding (plain, LoRA-adapted or NEFTune), or null when the model has none.
    /// </summary>
    public static int? InputVocabulary(Module model) => (int?)TargetSelection.InputVocabulary(Candidates(model).Select(Describe).ToList());

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

    private static TargetCandidate Describe((string Path, Module Module) candidate) => candidate.Module switch
    {
        ILinearLayer linear => new TargetCandidate(candidate.Path, TargetKind.Linear, linear.GetType().Name, linear.OutFeatures),
        Embedding e => new TargetCandidate(candidate.Path, TargetKind.Embedding, nameof(Embedding), Vocabulary: e.NumEmbeddings),
        LoraEmbedding e => new TargetCandidate(candidate.Path, TargetKind.Embedding, nameof(LoraEmbedding), Vocabulary: e.NumEmbeddings),
        Neftune.NeftuneEmbedding e => new TargetCandidate(candidate.Path, TargetKind.Embedding, nameof(Neftune.NeftuneEmbedding), Vocabulary: e.NumEmbeddings),
        var other => new TargetCandidate(candidate.Path, TargetKind.Other, other.GetType().Name),
    };
}
