namespace Peft.Net.Core.Optim;

/// <summary>The saved form of one <see cref="ParamGroup"/>: its name, hyper-parameters and per-parameter state.</summary>
/// <param name="Name">The group name.</param>
/// <param name="Hyperparameters">
/// "lr", "weight_decay", "initial_lr" (when a scheduler attached) and the optimizer's own options
/// (AdamW: "beta1", "beta2", "eps"; SGD: "momentum", "dampening", "nesterov" as 0/1).
/// </param>
/// <param name="Parameters">State of each parameter in group order; null for a parameter that has not stepped yet.</param>
public sealed record ParamGroupState(
    string Name,
    IReadOnlyDictionary<string, double> Hyperparameters,
    IReadOnlyList<ParameterState?> Parameters);
