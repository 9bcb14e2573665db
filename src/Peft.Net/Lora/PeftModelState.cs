using System.Runtime.CompilerServices;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>The PEFT state of one model (its adapters' configs and the active adapter), attached to the model object.</summary>
internal sealed class PeftModelState
{
    private static readonly ConditionalWeakTable<Module, PeftModelState> States = new();

    /// <summary>Adapter configs in the order the adapters were added.</summary>
    public OrderedDictionary<string, LoraConfig> Configs { get; } = new(StringComparer.Ordinal);

    /// <summary>The active adapter, or null (none, or all deleted).</summary>
    public string? Active { get; set; }

    /// <summary>Set once an adapter with a <c>bias</c> mode other than "none" was added: from then on, which base biases
    /// train follows the active adapter's mode (<see cref="BaseBiases.Sync"/>).</summary>
    public bool ManagesBiases { get; set; }

    /// <summary>The state of <paramref name="model"/>, or null when no adapter was applied.</summary>
    public static PeftModelState? Find(Module model) => States.TryGetValue(model, out var state) ? state : null;

    public static PeftModelState GetOrCreate(Module model) => States.GetValue(model, _ => new PeftModelState());

    /// <summary>The state of <paramref name="model"/>, which must have <paramref name="adapterName"/>.</summary>
    /// <exception cref="ArgumentException">The model has no adapter of that name; the message lists those it has.</exception>
    public static PeftModelState Require(Module model, string adapterName)
    {
        var state = Find(model);
        if (state is null || !state.Configs.ContainsKey(adapterName))
            throw new ArgumentException($"The model has no adapter named '{adapterName}' (adapters: [{string.Join(", ", state?.Configs.Keys.AsEnumerable() ?? [])}]).", nameof(adapterName));
        return state;
    }

    public static void Remove(Module model) => States.Remove(model);
}
