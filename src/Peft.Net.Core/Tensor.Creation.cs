namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>A new F32 tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[CheckShape(shape)], 0, (int[])shape.Clone(), DType.F32);

    /// <summary>
    /// A new F32 tensor for an operation's result (the shape array is kept, not copied): from the recording
    /// <see cref="Autograd.ActivationArena"/> of this thread when there is one, else a new array.
    /// </summary>
    /// <param name="shape">The result's shape; owned by the new tensor.</param>
    /// <param name="zeroed">Zero the elements; otherwise the caller overwrites every one.</param>
    internal static Tensor NewResult(int[] shape, bool zeroed = true) =>
        new(Autograd.ActivationArena.AllocateResult((int)CheckShape(shape), zeroed), 0, shape, DType.F32);

    /// <summary>A new F32 tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A new F32 tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.AsSpan().Fill(value);
        return t;
    }

    /// <summary>A zero-filled tensor with the same shape as <paramref name="like"/> (F32).</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(like._shape);

    /// <summary>A scalar (rank-0) F32 tensor.</summary>
    public static Tensor Scalar(float value) => new(new[] { value }, 0, [], DType.F32);

    /// <summary>
    /// An F32 tensor holding a copy of <paramref name="values"/>. With no shape the tensor is 1-D
    /// (use <see cref="Scalar"/> for a rank-0 tensor).
    /// </summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the number of values.</exception>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        if (shape.Length == 0)
            shape = [values.Length];
        long count = CheckShape(shape);
        if (count != values.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} elements but {values.Length} values were given.");
        return new Tensor(values.ToArray(), 0, (int[])shape.Clone(), DType.F32);
    }

    /// <summary>Wraps <paramref name="storage"/> without copying (the tensor aliases the array).</summary>
    /// <exception cref="ArgumentException">The array is not a supported element type or too short for the shape.</exception>
    public static Tensor Wrap(Array storage, params int[] shape) =>
        new(storage, 0, (int[])shape.Clone(), DTypeOfArray(storage));

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor Uniform(int[] shape, float low, float high, TensorRandom random)
    {
        var t = Zeros(shape);
        FillUniform(t.AsSpan(), low, high, random);
        return t;
    }

    /// <summary>Fills <paramref name="span"/> with the values <see cref="Uniform"/> draws, in the same order.</summary>
    internal static void FillUniform(Span<float> span, float low, float high, TensorRandom random)
    {
        double width = (double)high - low;
        for (int i = 0; i < span.Length; i++)
            span[i] = (float)(low + width * random.NextDouble());
    }

    /// <summary>Normal samples with the given mean and standard deviation.</summary>
    public static Tensor Normal(int[] shape, float mean, float std, TensorRandom random)
    {
        var t = Zeros(shape);
        FillNormal(t.AsSpan(), mean, std, random);
        return t;
    }

    /// <summary>Fills <paramref name="span"/> with the values <see cref="Normal"/> draws, in the same order.</summary>
    internal static void FillNormal(Span<float> span, float mean, float std, TensorRandom random)
    {
        for (int i = 0; i < span.Length; i++)
            span[i] = (float)(mean + std * random.NextGaussian());
    }

    /// <summary>
    /// Kaiming-uniform initialisation as PyTorch's <c>kaiming_uniform_(w, a)</c>: fan_in = shape[1] × the
    /// product of shape[2..]; bound = sqrt(6 / ((1 + a²) · fan_in)). With the default <c>a = √5</c> this is
    /// <c>nn.Linear</c>'s weight init for a weight [out, in]: bound = 1/sqrt(in).
    /// </summary>
    public static Tensor KaimingUniform(int[] shape, TensorRandom random, double a = 2.23606797749979)
    {
        if (shape.Length < 2)
            throw new ArgumentException("Kaiming initialisation needs at least 2 dimensions (fan-in is the last one).", nameof(shape));
        int fanIn = shape[1];
        for (int i = 2; i < shape.Length; i++) fanIn *= shape[i];
        float bound = KaimingUniformBound(fanIn, a);
        return Uniform(shape, -bound, bound, random);
    }

    /// <summary>The bound of <see cref="KaimingUniform"/>: sqrt(6 / ((1 + a²) · fan_in)).</summary>
    internal static float KaimingUniformBound(int fanIn, double a = 2.23606797749979) => (float)Math.Sqrt(6.0 / ((1 + a * a) * fanIn));

    /// <summary>0, 1, …, n−1 as F32.</summary>
    public static Tensor Arange(int n)
    {
        var t = Zeros(n);
        var span = t.AsSpan();
        for (int i = 0; i < n; i++) span[i] = i;
        return t;
    }

    // Matches the exact array type: the runtime lets an sbyte[] pass as byte[] (and uint[] as int[]), so `is` patterns would misclassify.
    internal static DType DTypeOfArray(Array storage) => storage.GetType() switch
    {
        var t when t == typeof(float[]) => DType.F32,
        var t when t == typeof(Half[]) => DType.F16,
        var t when t == typeof(BFloat16[]) => DType.BF16,
        var t when t == typeof(byte[]) => DType.U8,
        var t when t == typeof(sbyte[]) => DType.I8,
        var t when t == typeof(int[]) => DType.I32,
        var t when t == typeof(long[]) => DType.I64,
        var t when t == typeof(bool[]) => DType.Bool,
        var t => throw new ArgumentException($"Arrays of {t.GetElementType()?.Name} cannot back a tensor."),
    };

    internal static Array AllocateStorage(DType dtype, int count) => dtype switch
    {
        DType.F32 => new float[count],
        DType.F16 => new Half[count],
        DType.BF16 => new BFloat16[count],
        DType.U8 => new byte[count],
        DType.I8 => new sbyte[count],
        DType.I32 => new int[count],
        DType.I64 => new long[count],
        DType.Bool => new bool[count],
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>A new zero-filled tensor of any storage type.</summary>
    public static Tensor Empty(DType dtype, params int[] shape) =>
        new(AllocateStorage(dtype, (int)CheckShape(shape)), 0, (int[])shape.Clone(), dtype);
}
