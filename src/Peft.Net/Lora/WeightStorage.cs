using Peft.Net.Core;

namespace Peft.Net.Lora;

/// <summary>Writes float32 values into a weight tensor of any floating storage dtype (F32, F16, BF16), rounding to nearest even.</summary>
internal static class WeightStorage
{
    public static void Write(Tensor target, Tensor values)
    {
        if (!target.SameShape(values) || values.DType != DType.F32)
            throw new ArgumentException($"Cannot write {values.Describe()} into {target.Describe()}: an F32 tensor of the same shape is needed.");
        var converted = values.To(target.DType);
        switch (target.DType)
        {
            case DType.F32: converted.AsSpan().CopyTo(target.AsSpan()); break;
            case DType.F16: converted.AsSpan<Half>().CopyTo(target.AsSpan<Half>()); break;
            case DType.BF16: converted.AsSpan<BFloat16>().CopyTo(target.AsSpan<BFloat16>()); break;
            default: throw new NotSupportedException($"{target.Describe()} is not a floating weight.");
        }
    }
}
