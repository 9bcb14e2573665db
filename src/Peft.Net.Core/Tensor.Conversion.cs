namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>
    /// A copy converted to <paramref name="dtype"/> (F32, F16 or BF16; float→half and float→bfloat16 round
    /// to nearest even). Returns this tensor when it already has that dtype. Not recorded by autograd.
    /// </summary>
    /// <exception cref="NotSupportedException">Either dtype is not a floating type.</exception>
    public Tensor To(DType dtype)
    {
        if (dtype == DType)
            return this;
        if (!dtype.IsFloatingPoint() || !DType.IsFloatingPoint())
            throw new NotSupportedException($"Cannot convert {Describe()} to {dtype}: only F32, F16 and BF16 convert.");
        var result = Empty(dtype, _shape);
        result.Name = Name;
        if (DType == DType.F32)
        {
            result.WriteFromFloat(0, AsSpan());
            return result;
        }
        var f32 = dtype == DType.F32 ? result : Empty(DType.F32, _shape);
        ReadAsFloat(f32.AsSpan());
        return dtype == DType.F32 ? f32 : f32.To(dtype);
    }

    /// <summary>
    /// Stores <paramref name="source"/> into elements [start, start + source.Length) of this F32, F16 or BF16 tensor,
    /// rounding to nearest even as <see cref="To"/> does (the inverse of <see cref="ReadAsFloat(int, Span{float})"/>).
    /// </summary>
    internal void WriteFromFloat(int start, ReadOnlySpan<float> source)
    {
        if ((uint)start > (uint)Count || source.Length > Count - start)
            throw new ArgumentOutOfRangeException(nameof(start), $"Range [{start}, {start + source.Length}) is outside {Describe()}.");
        switch (Storage)
        {
            case float[] f:
                source.CopyTo(f.AsSpan(Offset + start, source.Length));
                break;
            case Half[] h:
                var hs = h.AsSpan(Offset + start, source.Length);
                for (int i = 0; i < hs.Length; i++) hs[i] = (Half)source[i];
                break;
            case BFloat16[] b:
                var bs = b.AsSpan(Offset + start, source.Length);
                for (int i = 0; i < bs.Length; i++) bs[i] = BFloat16.FromSingle(source[i]);
                break;
            default:
                throw new InvalidOperationException($"{Describe()} is not a floating tensor.");
        }
    }

    /// <summary>Writes all elements as float32 into <paramref name="destination"/> (F32, F16 or BF16 storage).</summary>
    public void ReadAsFloat(Span<float> destination) => ReadAsFloat(0, destination);

    /// <summary>Writes elements [start, start + destination.Length) as float32 into <paramref name="destination"/>.</summary>
    public void ReadAsFloat(int start, Span<float> destination)
    {
        if ((uint)start > (uint)Count || destination.Length > Count - start)
            throw new ArgumentOutOfRangeException(nameof(start), $"Range [{start}, {start + destination.Length}) is outside {Describe()}.");
        switch (Storage)
        {
            case float[] f:
                f.AsSpan(Offset + start, destination.Length).CopyTo(destination);
                break;
            case Half[] h:
                var hs = h.AsSpan(Offset + start, destination.Length);
                for (int i = 0; i < hs.Length; i++) destination[i] = (float)hs[i];
                break;
            case BFloat16[] b:
                var bs = b.AsSpan(Offset + start, destination.Length);
                for (int i = 0; i < bs.Length; i++) destination[i] = bs[i].ToSingle();
                break;
            default:
                throw new InvalidOperationException($"{Describe()} is not a floating tensor.");
        }
    }
}
