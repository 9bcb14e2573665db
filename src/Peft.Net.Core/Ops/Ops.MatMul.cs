using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Batched matrix product. <paramref name="a"/> is [..., M, K] ([..., K, M] when <paramref name="transposeA"/>),
    /// <paramref name="b"/> is [..., K, N] ([..., N, K] when <paramref name="transposeB"/>) with the same leading
    /// dimensions, or 2-D and shared by every batch. Result: [..., M, N]. Both inputs F32; recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentException">Ranks or inner dimensions do not match (the message gives both shapes).</exception>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"MatMul needs rank ≥ 2 operands; got {a.Describe()} and {b.Describe()}.");
        int m = transposeA ? a.Dim(-1) : a.Dim(-2);
        int ka = transposeA ? a.Dim(-2) : a.Dim(-1);
        int kb = transposeB ? b.Dim(-1) : b.Dim(-2);
        int n = transposeB ? b.Dim(-2) : b.Dim(-1);
        if (ka != kb)
            throw new ArgumentException($"MatMul inner dimensions differ: {a.Describe()}{(transposeA ? "ᵀ" : "")} · {b.Describe()}{(transposeB ? "ᵀ" : "")}.");
        bool sharedB = b.Rank == 2;
        if (!sharedB && !a.Shape[..^2].SequenceEqual(b.Shape[..^2]))
            throw new ArgumentException($"MatMul batch dimensions differ: {a.Describe()} and {b.Describe()}.");
        int k = ka;
        int batch = a.OuterCount(a.Rank - 2);
        var shape = a.ShapeArray();
        shape[^2] = m;
        shape[^1] = n;
        var c = Tensor.NewResult(shape);

        var av = a.AsSpan();
        var bv = b.AsSpan();
        var cv = c.AsSpan();
        int aSize = m * k, bSize = sharedB ? 0 : k * n, cSize = m * n;
        if (sharedB && !transposeA)
            Gemm.Multiply(av, false, bv, transposeB, cv, batch * m, n, k, accumulate: false); // fold batch into M
        else
            for (int i = 0; i < batch; i++)
                Gemm.Multiply(av.Slice(i * aSize, aSize), transposeA, bv.Slice(i * bSize, k * n), transposeB,
                    cv.Slice(i * cSize, cSize), m, n, k, accumulate: false);

        return GradMode.Record(c, "matmul", g =>
        {
            var gv = g.AsSpan();
            var av = a.AsSpan();
            var bv = b.AsSpan();
            if (a.RequiresGrad)
            {
                // A fresh gradient buffer is written, not added to: every element is stored once, so it needs no zeroing.
                var ga = a.GradBufferToWrite(out bool overwriteA);
                if (sharedB && !transposeA)
                {
                    // dA[BM, K] += dC[BM, N] · op(B)ᵀ
                    Gemm.Multiply(gv, false, bv, !transposeB, ga, batch * m, k, n, accumulate: !overwriteA);
                }
                else
                    for (int i = 0; i < batch; i++)
                    {
                        var bi = bv.Slice(i * bSize, k * n);
                        var gi = gv.Slice(i * cSize, cSize);
                        if (!transposeA) // dA[M,K] += dC[M,N] · op(B)ᵀ
                            Gemm.Multiply(gi, false, bi, !transposeB, ga.Slice(i * aSize, aSize), m, k, n, accumulate: !overwriteA);
                        else // dA[K,M] += op(B)[K,N] · dC[M,N]ᵀ
                            Gemm.Multiply(bi, transposeB, gi, true, ga.Slice(i * aSize, aSize), k, m, n, accumulate: !overwriteA);
                    }
            }
            if (b.RequiresGrad)
            {
                var gb = b.GradBufferToWrite(out bool overwriteB);
                if (overwriteB && batch == 0) gb.Clear(); // no batch writes a shared B's gradient: it is zero
                if (sharedB && !transposeA)
                {
                    if (!transposeB) // dB[K,N] += A[BM,K]ᵀ · dC[BM,N]
                        Gemm.Multiply(av, true, gv, false, gb, k, n, batch * m, accumulate: !overwriteB);
                    else // dB[N,K] += dC[BM,N]ᵀ · A[BM,K]
                        Gemm.Multiply(gv, true, av, false, gb, n, k, batch * m, accumulate: !overwriteB);
                }
                else
                    for (int i = 0; i < batch; i++)
                    {
                        var ai = av.Slice(i * aSize, aSize);
                        var gi = gv.Slice(i * cSize, cSize);
                        var gbi = gb.Slice(i * bSize, k * n);
                        bool accumulateB = !overwriteB || (bSize == 0 && i > 0); // a shared B sums every batch's product
                        if (!transposeB) // dB[K,N] += op(A)ᵀ[K,M] · dC[M,N]
                            Gemm.Multiply(ai, !transposeA, gi, false, gbi, k, n, m, accumulate: accumulateB);
                        else // dB[N,K] += dC[M,N]ᵀ · op(A)[M,K]
                            Gemm.Multiply(gi, true, ai, transposeA, gbi, n, k, m, accumulate: accumulateB);
                    }
            }
        }, a, b);
    }

    /// <summary>
    /// A linear map: <c>y = x·Wᵀ + bias</c> with x [..., K], <paramref name="weight"/> [N, K] and optional
    /// <paramref name="bias"/> [N]. Result [..., N]. An F16/BF16 weight is read through the GEMM's packing hook
    /// (it must be frozen); an F32 weight may require a gradient.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (weight.DType == DType.F32)
        {
            var y = MatMul(x.Reshape(-1, x.Dim(-1)), weight, transposeB: true);
            var shape = x.ShapeArray();
            shape[^1] = weight.Dim(0);
            y = y.Reshape(shape);
            return bias is null ? y : Add(y, bias);
        }
        if (weight.RequiresGrad)
            throw new ArgumentException($"{weight.Describe()} requires a gradient but is stored as {weight.DType}; trainable weights must be F32.");
        return Linear(x, new TensorWeight(weight), bias);
    }

    /// <summary>
    /// A linear map with a frozen weight read through <see cref="IPackableWeight"/> (F16/BF16/4-bit):
    /// <c>y = x·Wᵀ + bias</c>, x [..., K], W [N, K], result [..., N]. Gradients flow to x and bias only.
    /// </summary>
    public static Tensor Linear(Tensor x, IPackableWeight weight, Tensor? bias = null)
    {
        int k = weight.Columns, n = weight.Rows;
        if (x.Rank < 1 || x.Dim(-1) != k)
            throw new ArgumentException($"Linear: input {x.Describe()} does not end in the weight's {k} input features.");
        int m = x.Count / Math.Max(k, 1);
        if (k == 0) m = x.Rank == 1 ? 1 : x.OuterCount(x.Rank - 1);
        var shape = x.ShapeArray();
        shape[^1] = n;
        var y = Tensor.NewResult(shape);
        Gemm.Multiply(x.AsSpan(), false, weight, true, y.AsSpan(), m, n, k, accumulate: false);
        y = GradMode.Record(y, "linear_frozen", g =>
        {
            // dX[M,K] += dY[M,N] · W[N,K]
            if (x.RequiresGrad) Gemm.Multiply(g.AsSpan(), false, weight, false, x.GradBuffer(), m, k, n, accumulate: true);
        }, x);
        return bias is null ? y : Add(y, bias);
    }
}
