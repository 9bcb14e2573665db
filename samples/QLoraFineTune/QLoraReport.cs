namespace QLoraFineTune;

/// <summary>What the sample measured.</summary>
/// <param name="BaseBytesBefore">Bytes stored by all parameters and buffers of the base model in float32.</param>
/// <param name="BaseBytesAfter">The same after <c>QuantizeNf4(doubleQuant: true)</c>.</param>
/// <param name="LinearBytesBefore">Bytes of the converted linear weights before (from the quantization summary).</param>
/// <param name="LinearBytesAfter">Their bytes after: 4-bit codes, 8-bit absmax, the double-quantization scales.</param>
/// <param name="LoraEvalLoss">Eval loss after float32 LoRA.</param>
/// <param name="QLoraEvalLoss">Eval loss after QLoRA (same data, steps, seed).</param>
/// <param name="LoraCurve">(step, training loss) of float32 LoRA.</param>
/// <param name="QLoraCurve">(step, training loss) of QLoRA.</param>
/// <param name="LoraStartEvalLoss">Eval loss of the float32 model before fine-tuning (adapters at their zero start).</param>
/// <param name="QLoraStartEvalLoss">Eval loss of the NF4 model before fine-tuning.</param>
public sealed record QLoraReport(long BaseBytesBefore, long BaseBytesAfter, long LinearBytesBefore, long LinearBytesAfter,
    double LoraEvalLoss, double QLoraEvalLoss, IReadOnlyList<(double Step, double Loss)> LoraCurve, IReadOnlyList<(double Step, double Loss)> QLoraCurve,
    double LoraStartEvalLoss, double QLoraStartEvalLoss);
