using System.Numerics.Tensors;

namespace Peft.Net.Core.Kernels;

/// <summary>Span kernels shared by autograd plumbing. Each SIMD path has a scalar reference beside it.</summary>
internal static class ElementwiseKernels
{
    // destination, source: (N)
    /// <summary>destination[i] += source[i].</summary>
    public static void AddInPlace(Span<float> destination, ReadOnlySpan<float> source) =>
        TensorPrimitives.Add(destination, source, destination);

    /// <summary>Scalar reference of <see cref="AddInPlace"/>.</summary>
    public static void AddInPlaceReference(Span<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException("Lengths differ.", nameof(source));
        for (int i = 0; i < destination.Length; i++) destination[i] += source[i];
    }
}
