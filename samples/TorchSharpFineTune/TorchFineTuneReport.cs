namespace TorchSharpFineTune;

/// <summary>What a run of the sample measured (the test of the quick mode checks it).</summary>
/// <param name="EvalLossBefore">Eval loss of the base model (adapter at zero).</param>
/// <param name="EvalLossAfter">Eval loss after LoRA fine-tuning on TorchSharp.</param>
/// <param name="TrainableParameters">Trainable parameters after <c>ApplyLora(rank: 8)</c>.</param>
/// <param name="TotalParameters">All parameters of the model.</param>
/// <param name="TorchIds">TorchSharp's greedy ids for each showcase prompt.</param>
/// <param name="EngineIds">The engine's greedy ids (base + saved adapter) for the same prompts.</param>
/// <param name="AdapterDirectory">Where the adapter was saved (HF PEFT layout).</param>
/// <param name="BaseDirectory">The HF checkpoint the TorchSharp model was loaded from.</param>
public sealed record TorchFineTuneReport(double EvalLossBefore, double EvalLossAfter, long TrainableParameters, long TotalParameters,
    IReadOnlyList<int[]> TorchIds, IReadOnlyList<int[]> EngineIds, string AdapterDirectory, string BaseDirectory)
{
    /// <summary>Whether TorchSharp and the engine chose the same ids for every prompt.</summary>
    public bool IdsMatch => TorchIds.Count == EngineIds.Count && TorchIds.Zip(EngineIds).All(p => p.First.SequenceEqual(p.Second));

    /// <summary>Whether fine-tuning lowered the eval loss.</summary>
    public bool EvalLossFell => EvalLossAfter < EvalLossBefore;
}
