namespace MethodsShowdown;

/// <summary>What one method reached under the shared budget.</summary>
/// <param name="Method">Display name.</param>
/// <param name="EvalLoss">Held-out loss after training.</param>
/// <param name="Elapsed">Wall time of the training loop (evaluations included).</param>
/// <param name="TokensPerSecond">Mean training throughput (tokens in the batches, padding excluded, per second).</param>
/// <param name="TrainableParameters">Parameters the optimizer updates.</param>
/// <param name="StoredWeightBytes">Bytes held by every parameter and buffer of the model after the method's setup.</param>
/// <param name="PeakManagedBytes">Peak of the managed heap during training (GC.GetTotalMemory sampled after every step, from a full GC before).</param>
/// <param name="LossCurve">(step, training loss) of every step.</param>
/// <param name="StartEvalLoss">Held-out loss before training (the method set up, adapters at their start).</param>
public sealed record MethodResult(string Method, double EvalLoss, TimeSpan Elapsed, double TokensPerSecond, long TrainableParameters,
    long StoredWeightBytes, long PeakManagedBytes, IReadOnlyList<(double Step, double Loss)> LossCurve, double StartEvalLoss);
