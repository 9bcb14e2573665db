using System.Runtime.CompilerServices;
using Peft.Net.Lora;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>The adapters' configs and the active adapter of one TorchSharp model object.</summary>
internal sealed class TorchPeftState
{
    private static readonly ConditionalWeakTable<nn.Module, TorchPeftState> States = new();

    public OrderedDictionary<string, LoraConfig> Configs { get; } = new(StringComparer.Ordinal);

    public string? Active { get; set; }

    public static TorchPeftState? Find(nn.Module model) => States.TryGetValue(model, out var state) ? state : null;

    public static TorchPeftState GetOrCreate(nn.Module model) => States.GetValue(model, _ => new TorchPeftState());

    public static TorchPeftState Require(nn.Module model, string adapterName)
    {
        var state = Find(model);
        if (state is null || !state.Configs.ContainsKey(adapterName))
            throw new ArgumentException($"The {model.GetType().Name} has no adapter named '{adapterName}'" +
                (state is null || state.Configs.Count == 0 ? " (it has no adapters: call ApplyLora or LoadAdapter first)." : $"; it has [{string.Join(", ", state.Configs.Keys)}]."));
        return state;
    }

    public static void Remove(nn.Module model) => States.Remove(model);
}
