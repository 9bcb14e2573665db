using System.Numerics.Tensors;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Optim;

/// <summary>Gradient clipping, as <c>torch.nn.utils.clip_grad_norm_</c>.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> so that their global L2 norm (all gradients seen as one
    /// vector) is at most <paramref name="maxNorm"/>, and returns the norm before clipping. Parameters without a
    /// gradient are ignored (no gradients: returns 0).
    /// </summary>
    /// <remarks>
    /// The norm is accumulated in double precision (PyTorch reduces in float32, so the two can differ in the last
    /// float bit). The scale factor is computed as PyTorch computes it, in float32:
    /// <c>coef = min(1, maxNorm · 1/(norm + 1e-6))</c>; gradients are multiplied by it only when it is below 1.
    /// When the norm is NaN or infinite (a gradient holds NaN or ±∞) nothing is scaled and the non-finite norm is
    /// returned, so the caller can detect it (<c>!double.IsFinite(norm)</c>) and skip the optimizer step.
    /// </remarks>
    /// <param name="parameters">Parameters whose <see cref="Tensor.Grad"/> is clipped in place.</param>
    /// <param name="maxNorm">Largest allowed norm (finite, ≥ 0).</param>
    /// <returns>The global gradient norm before clipping (NaN or ∞ when a gradient is not finite).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or not finite.</exception>
    /// <exception cref="InvalidOperationException">A gradient is not F32.</exception>
    public static double ClipByGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!double.IsFinite(maxNorm) || maxNorm < 0)
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximal gradient norm must be finite and ≥ 0.");
        var gradients = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
        {
            if (p?.Grad is not { } grad || !seen.Add(grad)) continue;
            if (grad.DType != DType.F32)
                throw new InvalidOperationException($"The gradient of {p.Describe()} is {grad.DType}; gradients must be F32.");
            gradients.Add(grad);
        }
        double sumOfSquares = 0;
        foreach (var grad in gradients)
            sumOfSquares += SumOfSquaresKernel.SumOfSquares(grad.AsSpan());
        double norm = Math.Sqrt(sumOfSquares);
        if (!double.IsFinite(norm))
            return norm;
        float coefficient = 1f / ((float)norm + 1e-6f) * (float)maxNorm;
        if (coefficient < 1f)
            foreach (var grad in gradients)
                TensorPrimitives.Multiply(grad.AsSpan(), coefficient, grad.AsSpan());
        return norm;
    }
}
