using Peft.Net.Lora;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>The TorchSharp side of target selection: a module tree as <see cref="TargetCandidate"/>s for the shared rules.</summary>
internal static class TorchTargets
{
    /// <summary>Modules in PyTorch order except the root and anything inside a LoRA layer or a modules_to_save wrapper.</summary>
    public static List<(string Path, nn.Module Module)> Candidates(nn.Module model)
    {
        var result = new List<(string, nn.Module)>();
        var blocked = new List<string>();
        foreach (var (path, module) in ModuleTree.NamedModules(model))
        {
            if (path.Length == 0 || blocked.Any(b => path.StartsWith(b + ".", StringComparison.Ordinal))) continue;
            result.Add((path, module));
            if (module is ILoraModule or ModulesToSaveWrapper) blocked.Add(path);
        }
        return result;
    }

    public static List<TargetCandidate> Describe(List<(string Path, nn.Module Module)> candidates) =>
        candidates.Select(c => Describe(c.Path, c.Module)).ToList();

    private static TargetCandidate Describe(string path, nn.Module module) => module switch
    {
        Linear l => new TargetCandidate(path, TargetKind.Linear, nameof(Linear), l.out_features),
        Nf4Linear q => new TargetCandidate(path, TargetKind.Linear, nameof(Nf4Linear), q.OutFeatures),
        LoraLinear l => new TargetCandidate(path, TargetKind.Linear, module.GetType().Name, l.OutFeatures),
        Embedding e => new TargetCandidate(path, TargetKind.Embedding, nameof(Embedding), Vocabulary: e.weight!.shape[0]),
        NeftuneEmbedding n => new TargetCandidate(path, TargetKind.Embedding, nameof(NeftuneEmbedding), Vocabulary: n.weight.shape[0]),
        LoraEmbedding e => new TargetCandidate(path, TargetKind.Embedding, nameof(LoraEmbedding), Vocabulary: e.NumEmbeddings),
        _ => new TargetCandidate(path, TargetKind.Other, module.GetType().Name),
    };
}
