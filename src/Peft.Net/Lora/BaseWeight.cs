using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// The base layer's weight W [N, K] as a GEMM operand: the F32 parameter itself when there is one, otherwise the
/// frozen storage read through its packing hook (F16, BF16, 4-bit), so no float32 copy is made per step.
/// </summary>
internal readonly struct BaseWeight
{
    private readonly Tensor? _dense;
    private readonly IPackableWeight? _packed;

    private BaseWeight(Tensor? dense, IPackableWeight? packed, int rows, int columns)
    {
        _dense = dense;
        _packed = packed;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>N: output features.</summary>
    public int Rows { get; }

    /// <summary>K: input features.</summary>
    public int Columns { get; }

    public static BaseWeight Of(ILinearLayer layer)
    {
        if (layer is Linear { Weight.DType: DType.F32 } linear)
            return new BaseWeight(linear.Weight, null, layer.OutFeatures, layer.InFeatures);
        if (layer.PackableWeight is { } packed)
            return new BaseWeight(null, packed, layer.OutFeatures, layer.InFeatures);
        return new BaseWeight(layer.GetDenseWeight(), null, layer.OutFeatures, layer.InFeatures);
    }

    // x: (M, K) → (M, N), no bias; recorded by autograd (gradient to x)
    public Tensor Apply(Tensor x) => _dense is not null ? Ops.Linear(x, _dense) : Ops.Linear(x, _packed!);

    // rowSquares: (N) ← ‖W[o, :]‖², summed in float32 SIMD lanes (PEFT takes this norm in float32 too)
    public void RowSquaredNorms(double[] rowSquares) => RowSquaredNormsWork.Compute(_dense, _packed, Rows, Columns, rowSquares);

    /// <summary>Whether W is a parameter that trains (its gradient would be needed).</summary>
    public bool RequiresGrad => _dense?.RequiresGrad ?? false;

    // x: (M, K), u: (M, R), scaledB: (N, R) → y (M, N) = x·Wᵀ + u·scaledBᵀ
    /// <summary>The base product with a LoRA update added in the same pass over y.</summary>
    public void MultiplyPlusLowRank(ReadOnlySpan<float> x, ReadOnlySpan<float> u, ReadOnlySpan<float> scaledB, Span<float> y, int m, int r)
    {
        if (_dense is not null) Gemm.MultiplyPlusLowRank(x, _dense.AsSpan(), u, scaledB, y, m, Rows, Columns, r);
        else Gemm.MultiplyPlusLowRank(x, _packed!, u, scaledB, y, m, Rows, Columns, r);
    }

    // g: (M, N) → dx (M, K) (+)= g·W
    /// <summary>The input gradient of the base product.</summary>
    public void MultiplyInputGradient(ReadOnlySpan<float> g, Span<float> dx, int m, bool accumulate)
    {
        if (_dense is not null) Gemm.Multiply(g, false, _dense.AsSpan(), false, dx, m, Columns, Rows, accumulate);
        else Gemm.Multiply(g, false, _packed!, false, dx, m, Columns, Rows, accumulate);
    }

    // g: (M, N), du: (M, R), aT: (K, R) → dx (M, K) (+)= g·W + du·aTᵀ
    /// <summary>The input gradient of a fused base product and LoRA update (du·A added in the same pass over dx).</summary>
    public void MultiplyInputGradientPlusLowRank(ReadOnlySpan<float> g, ReadOnlySpan<float> du, ReadOnlySpan<float> aT, Span<float> dx,
        int m, int r, bool accumulate)
    {
        if (_dense is not null) Gemm.MultiplyPlusLowRank(g, false, _dense.AsSpan(), du, aT, dx, m, Columns, Rows, r, accumulate);
        else Gemm.MultiplyPlusLowRank(g, false, _packed!, du, aT, dx, m, Columns, Rows, r, accumulate);
    }

    // a: (R, K) → result (R, N) = A·Wᵀ
    public void MultiplyTransposed(ReadOnlySpan<float> a, int r, Span<float> result)
    {
        if (_dense is not null)
            Gemm.Multiply(a, false, _dense.AsSpan(), true, result, r, Rows, Columns, accumulate: false);
        else
            Gemm.Multiply(a, false, _packed!, true, result, r, Rows, Columns, accumulate: false);
    }
}
