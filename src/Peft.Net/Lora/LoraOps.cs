using System.Buffers;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Peft.Net.Core;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Lora;

/// <summary>
/// Fused autograd operations of the LoRA family. Each computes its result with GEMMs on the small factors, never
/// forming B·A, and records one backward function. Shapes: M rows (batch·time), K input features, N output
/// features, R rank, V vocabulary.
/// </summary>
internal static class LoraOps
{
    // a: (R, V), ids: (M) → (M, R)
    /// <summary>Rows of Aᵀ picked by <paramref name="ids"/>: <c>result[m, r] = a[r, ids[m]]</c> (PEFT's embedding LoRA lookup).</summary>
    public static Tensor GatherColumns(Tensor a, int[] ids)
    {
        int r = a.Dim(0), v = a.Dim(1), m = ids.Length;
        var result = Tensor.Zeros(m, r);
        var av = a.AsSpan();
        var rv = result.AsSpan();
        for (int i = 0; i < m; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)v)
                throw new ArgumentOutOfRangeException(nameof(ids), $"LoRA embedding: id {id} at position {i} is outside [0, {v}) of {a.Describe()}.");
            for (int j = 0; j < r; j++) rv[i * r + j] = av[j * v + id];
        }
        return GradMode.Record(result, "lora_embedding_gather", g =>
        {
            if (!a.RequiresGrad) return;
            var ga = a.GradBuffer();
            var gv = g.AsSpan();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < r; j++) ga[j * v + ids[i]] += gv[i * r + j];
        }, a);
    }

    // y0: (M, N), u: (M, R), b: (N, R) → (M, N)
    /// <summary>
    /// The LoRA update <c>y0 + scaling · u·Bᵀ</c>, where u = x·Aᵀ was computed by the caller. With
    /// <paramref name="overwriteInput"/> the result is written over y0's storage instead of a copy: the caller
    /// promises that y0 is a fresh result no one reads again (no backward function saved it).
    /// </summary>
    public static Tensor AddLowRank(Tensor y0, Tensor u, Tensor b, float scaling, bool overwriteInput = false)
    {
        var (m, n, r) = CheckLowRank(y0, u, b);
        var scaledB = ScaleRows(b.AsSpan(), null, scaling, n, r);
        var y = overwriteInput ? y0.Detach() : Tensor.NewResult(y0.ShapeArray(), zeroed: false);
        if (!overwriteInput) y0.AsSpan().CopyTo(y.AsSpan());
        Gemm.Multiply(u.AsSpan(), false, scaledB, true, y.AsSpan(), m, n, r, accumulate: true);
        return GradMode.Record(y, "lora_add_low_rank", g =>
        {
            LowRankGradients(g.AsSpan(), u, b, scaledB, scaling, m, n, r);
            // Last use of g: y0 takes the buffer itself (no copy).
            if (y0.RequiresGrad) y0.AccumulateGrad(g, handOver: true);
        }, y0, u, b);
    }

    // x: (M, K), w: (N, K) frozen, u: (M, R), b: (N, R) → (M, N)
    /// <summary>
    /// A bias-free base layer and one LoRA update in one GEMM: <c>x·Wᵀ + scaling · u·Bᵀ</c>, the update added while
    /// each tile of the result is still in L1 (<see cref="Gemm.MultiplyPlusLowRank(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, int)"/>),
    /// where the base product followed by <see cref="AddLowRank"/> makes a second pass over it. The same bits as
    /// that pair, forward and backward; gradients reach x, u and B (never W).
    /// </summary>
    public static Tensor LinearPlusLowRank(Tensor x, BaseWeight w, Tensor u, Tensor b, float scaling) =>
        LinearPlusLowRank(x, w, LowRankInput.Given(u), b, scaling);

    // x: (M, K), w: (N, K) frozen, down: u (M, R) or A (R, K), b: (N, R) → (M, N)
    /// <summary>
    /// <see cref="LinearPlusLowRank(Tensor, BaseWeight, Tensor, Tensor, float)"/> with the down-projection given or
    /// made here (<see cref="LowRankInput"/>). Made here (u = x·Aᵀ, no dropout), the backward pass adds du·A to dx
    /// inside the base input-gradient GEMM instead of a pass of its own, with the bits of the three-op form.
    /// </summary>
    public static Tensor LinearPlusLowRank(Tensor x, BaseWeight w, LowRankInput down, Tensor b, float scaling)
    {
        var (m, n, r) = CheckFusedBase(x, w, down, b, "LoRA linear");
        var u = down.Project(x, r);
        var scaledB = ScaleRows(b.AsSpan(), null, scaling, n, r);
        var y = Tensor.NewResult([m, n], zeroed: false);
        w.MultiplyPlusLowRank(x.AsSpan(), u.AsSpan(), scaledB, y.AsSpan(), m, r);
        return GradMode.Record(y, "lora_linear", g => FusedBackward(g.AsSpan(), x, w, down, u, b, scaledB, scaling, m, n, r),
            down.Inputs(x, b));
    }

    // x: (M, K), w: (N, K) frozen, u: (M, R), b: (N, R), magnitude, norm: (N) → (M, N)
    /// <summary>
    /// DoRA over a bias-free base without dropout in one GEMM: <c>s ⊙ (x·Wᵀ + scaling · u·Bᵀ)</c> with
    /// <c>s = magnitude / norm</c> per output feature (norm constant), the same value as <see cref="DoraCompose"/>
    /// reusing the base output, summed in another order. With z = x·Wᵀ + scaling·u·Bᵀ: dz = s ⊙ g, and the magnitude's
    /// gradient is Σ_m g⊙z / norm (the low-rank parts of Σ g⊙p and of scaling·Σ_r B⊙(gᵀu) cancel), which is
    /// Σ_m g⊙y / magnitude: y is scaled in place over z and only y is kept (no second [M, N] activation), unless a
    /// magnitude is 0 (its column of y is then 0 and z cannot be recovered from it), when z is kept as well. Gradients
    /// reach x, u, B and the magnitude.
    /// </summary>
    public static Tensor DoraLinearPlusLowRank(Tensor x, BaseWeight w, Tensor u, Tensor b, Tensor magnitude, Tensor norm, float scaling) =>
        DoraLinearPlusLowRank(x, w, LowRankInput.Given(u), b, magnitude, norm, scaling);

    /// <summary>
    /// <see cref="DoraLinearPlusLowRank(Tensor, BaseWeight, Tensor, Tensor, Tensor, Tensor, float)"/> with the
    /// down-projection given or made here (<see cref="LowRankInput"/>, as in <see cref="LinearPlusLowRank(Tensor, BaseWeight, LowRankInput, Tensor, float)"/>).
    /// </summary>
    public static Tensor DoraLinearPlusLowRank(Tensor x, BaseWeight w, LowRankInput down, Tensor b, Tensor magnitude, Tensor norm, float scaling)
    {
        var (m, n, r) = CheckFusedBase(x, w, down, b, "DoRA linear");
        if (magnitude.Rank != 1 || magnitude.Dim(0) != n || norm.Rank != 1 || norm.Dim(0) != n)
            throw new ArgumentException($"DoRA linear: magnitude {magnitude.Describe()} and norm {norm.Describe()} must be vectors of the {n} output features.");
        var scale = new float[n];          // s = m / ‖W + scaling·B·A‖
        TensorPrimitives.Divide(magnitude.AsSpan(), norm.AsSpan(), scale);
        var u = down.Project(x, r);
        var scaledB = ScaleRows(b.AsSpan(), null, scaling, n, r);
        var y = Tensor.NewResult([m, n], zeroed: false);
        w.MultiplyPlusLowRank(x.AsSpan(), u.AsSpan(), scaledB, y.AsSpan(), m, r); // z, scaled in place below
        // For the magnitude's gradient: the magnitudes of this forward pass (it divides by them), and z itself only
        // where one is 0. Nothing of either without that gradient (inference, a frozen magnitude).
        var magnitudes = magnitude.RequiresGrad ? magnitude.AsSpan().ToArray() : null;
        Tensor? z = null;
        if (magnitudes is not null && Array.IndexOf(magnitudes, 0f) >= 0)
        {
            z = Tensor.NewResult([m, n], zeroed: false);
            y.AsSpan().CopyTo(z.AsSpan());
        }
        DoraRowKernels.ScaleRows(y.AsSpan(), scale, default, y.AsSpan(), m, n);
        return GradMode.Record(y, "dora_linear", g =>
        {
            var gv = g.AsSpan();
            // One pass over g: Σ_m g⊙y (or g⊙z) for the magnitude, then g becomes dz = s ⊙ g in place (g is read last here).
            if (magnitudes is not null && magnitude.RequiresGrad)
            {
                var columnDots = new float[n];
                DoraRowKernels.AddColumnDotsThenScale(gv, (z ?? y).AsSpan(), scale, columnDots, m, n);
                var gm = magnitude.GradBuffer();
                var normv = norm.AsSpan();
                for (int o = 0; o < n; o++) gm[o] += z is null ? columnDots[o] / magnitudes[o] : columnDots[o] / normv[o];
            }
            else DoraRowKernels.ScaleRows(gv, scale, default, gv, m, n);
            FusedBackward(gv, x, w, down, u, b, scaledB, scaling, m, n, r);
        }, [.. down.Inputs(x, b), magnitude]);
    }

    // y0: (M, N), p: (M, N) or null, bias: (N) or null, u: (M, R), b: (N, R), magnitude: (N), norm: (N) → (M, N)
    /// <summary>
    /// DoRA's composition (PEFT <c>DoraLinearLayer.forward</c> added to the running result):
    /// <c>y0 + (s − 1)⊙p + s⊙(scaling · u·Bᵀ)</c> with <c>s = magnitude / norm</c> per output feature, norm constant.
    /// With <paramref name="p"/> null the base output is reused: <c>p = y0 − bias</c> (no dropout, or eval mode).
    /// Gradients reach y0, p, bias (through p = y0 − bias), u, B and the magnitude; none reach the norm.
    /// </summary>
    public static Tensor DoraCompose(Tensor y0, Tensor? p, Tensor? bias, Tensor u, Tensor b, Tensor magnitude, Tensor norm, float scaling)
    {
        var (m, n, r) = CheckLowRank(y0, u, b);
        if (p is not null && !p.SameShape(y0))
            throw new ArgumentException($"DoRA: the base term {p.Describe()} must be shaped like the result {y0.Describe()}.");
        if (magnitude.Rank != 1 || magnitude.Dim(0) != n || norm.Rank != 1 || norm.Dim(0) != n)
            throw new ArgumentException($"DoRA: magnitude {magnitude.Describe()} and norm {norm.Describe()} must be vectors of the {n} output features.");
        if (bias is not null && (bias.Rank != 1 || bias.Dim(0) != n))
            throw new ArgumentException($"DoRA: the bias {bias.Describe()} must be a vector of the {n} output features.");

        var scale = new float[n];          // s = m / ‖W + scaling·B·A‖
        TensorPrimitives.Divide(magnitude.AsSpan(), norm.AsSpan(), scale);
        var scaleMinusOne = new float[n];  // s − 1
        TensorPrimitives.Subtract(scale, 1f, scaleMinusOne);
        var scaledB = ScaleRows(b.AsSpan(), scale, scaling, n, r);   // diag(s·scaling)·B
        bool reuseBase = p is null;
        float[]? biasView = bias is null ? null : ReadFloat(bias);

        var y = Tensor.NewResult([m, n]);
        var yv = y.AsSpan();
        var y0v = y0.AsSpan();
        if (!reuseBase)
        {
            var pv = p!.AsSpan();
            for (int i = 0; i < m; i++)
                TensorPrimitives.MultiplyAdd(pv.Slice(i * n, n), scaleMinusOne, y0v.Slice(i * n, n), yv.Slice(i * n, n));
        }
        else
        {
            // y0 + (s−1)⊙(y0 − b) = s⊙y0 − (s−1)⊙b
            var shift = new float[n];
            if (biasView is not null) TensorPrimitives.Multiply(scaleMinusOne, biasView, shift);
            TensorPrimitives.Negate(shift, shift);
            DoraRowKernels.ScaleRows(y0v, scale, shift, yv, m, n);
        }
        Gemm.Multiply(u.AsSpan(), false, scaledB, true, yv, m, n, r, accumulate: true);

        var inputs = new List<Tensor> { y0, u, b, magnitude };
        if (p is not null) inputs.Add(p);
        if (bias is not null) inputs.Add(bias);
        return GradMode.Record(y, "dora_compose", g =>
        {
            var gv = g.AsSpan();
            if (p is not null && p.RequiresGrad)
            {
                var gp = p.GradBuffer();
                for (int i = 0; i < m; i++)
                    TensorPrimitives.MultiplyAdd(gv.Slice(i * n, n), scaleMinusOne, gp.Slice(i * n, n), gp.Slice(i * n, n));
            }
            bool needColumnSum = reuseBase && bias is not null && (bias.RequiresGrad || magnitude.RequiresGrad);
            float[]? columnSum = null;  // Σ_m g
            if (needColumnSum)
            {
                columnSum = new float[n];
                for (int i = 0; i < m; i++) TensorPrimitives.Add(columnSum, gv.Slice(i * n, n), columnSum);
                if (bias!.RequiresGrad)
                {
                    // through p = y0 − bias: dbias −= (s − 1)⊙Σ_m g
                    var gbias = bias.GradBuffer();
                    for (int o = 0; o < n; o++) gbias[o] -= scaleMinusOne[o] * columnSum[o];
                }
            }
            float[]? gu = null;  // gᵀ·u [N,R]
            if (b.RequiresGrad || magnitude.RequiresGrad)
            {
                gu = new float[n * r];
                Gemm.Multiply(gv, true, u.AsSpan(), false, gu, n, r, m, accumulate: false);
            }
            // du[M,R] += g[M,N] · diag(s·scaling)·B [N,R]
            if (u.RequiresGrad) Gemm.Multiply(gv, false, scaledB, false, u.GradBuffer(), m, r, n, accumulate: true);
            if (b.RequiresGrad)
            {
                // dB[N,R] += diag(s·scaling) · gᵀu
                var gb = b.GradBuffer();
                for (int o = 0; o < n; o++)
                    TensorPrimitives.MultiplyAdd(gu.AsSpan(o * r, r), scale[o] * scaling, gb.Slice(o * r, r), gb.Slice(o * r, r));
            }

            // The rest reads g for the last time. With the base reused and y0 still without a gradient, one pass both
            // sums Σ_m g⊙y0 for the magnitude and scales g by s in place, and y0 takes the buffer (no copy).
            bool scaleAndHandOver = reuseBase && y0.RequiresGrad && y0.Grad is null;
            float[]? basePart = null;  // Σ_m g⊙p
            if (magnitude.RequiresGrad)
            {
                basePart = new float[n];
                if (scaleAndHandOver) DoraRowKernels.AddColumnDotsThenScale(gv, y0.AsSpan(), scale, basePart, m, n);
                else DoraRowKernels.AddColumnDots(gv, reuseBase ? y0.AsSpan() : p!.AsSpan(), basePart, m, n);
            }
            else if (scaleAndHandOver)
            {
                DoraRowKernels.ScaleRows(gv, scale, default, gv, m, n);
            }
            if (magnitude.RequiresGrad)
            {
                // dm = (Σ_m g⊙p + scaling·Σ_r B⊙(gᵀu)) / norm
                if (columnSum is not null)
                    for (int o = 0; o < n; o++) basePart![o] -= biasView![o] * columnSum[o];
                var gm = magnitude.GradBuffer();
                var bv = b.AsSpan();
                var normv = norm.AsSpan();
                for (int o = 0; o < n; o++)
                {
                    float lowRank = TensorPrimitives.Dot(bv.Slice(o * r, r), gu.AsSpan(o * r, r));
                    gm[o] += (basePart![o] + scaling * lowRank) / normv[o];
                }
            }

            // dy0 = g without the base reuse, s⊙g with it.
            if (!y0.RequiresGrad) return;
            if (!reuseBase || scaleAndHandOver) y0.AccumulateGrad(g, handOver: true);
            else
            {
                var gy0 = y0.Grad!.AsSpan();
                for (int i = 0; i < m; i++)
                    TensorPrimitives.MultiplyAdd(gv.Slice(i * n, n), scale, gy0.Slice(i * n, n), gy0.Slice(i * n, n));
            }
        }, inputs.ToArray());
    }

    // g: (M, N) the gradient of y0 + u·(scaling·B)ᵀ, u: (M, R), b: (N, R), scaledB: (N, R) = scaling·B
    /// <summary>The low-rank term's gradients: dB += scaling · gᵀ·u and du += g·(scaling·B).</summary>
    private static void LowRankGradients(ReadOnlySpan<float> g, Tensor u, Tensor b, float[] scaledB, float scaling, int m, int n, int r)
    {
        if (b.RequiresGrad) BGradient(g, u.AsSpan(), b, scaling, m, n, r);
        // du[M,R] += g[M,N] · (scaling·B)[N,R]
        if (u.RequiresGrad) Gemm.Multiply(g, false, scaledB, false, u.GradBuffer(), m, r, n, accumulate: true);
    }

    // g: (M, N), u: (M, R), b: (N, R)
    /// <summary>dB[N,R] += scaling · gᵀ[N,M] · u[M,R].</summary>
    private static void BGradient(ReadOnlySpan<float> g, ReadOnlySpan<float> u, Tensor b, float scaling, int m, int n, int r)
    {
        var rented = ArrayPool<float>.Shared.Rent(n * r); // gᵀ·u, a step's scratch: no garbage a step
        try
        {
            var gu = rented.AsSpan(0, n * r);
            Gemm.Multiply(g, true, u, false, gu, n, r, m, accumulate: false);
            var gb = b.GradBuffer();
            TensorPrimitives.MultiplyAdd(gu, scaling, gb, gb);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    // g: (M, N) the gradient of z = x·Wᵀ + u·(scaling·B)ᵀ, x: (M, K), w: (N, K), u: (M, R), b: (N, R)
    /// <summary>
    /// The backward pass of a fused base product and low-rank term. A given u gets du += g·(scaling·B) (autograd
    /// carries it on) and x gets g·W. A u made here from A gets no tensor gradient: dA (+)= duᵀ·x, and dx (+)= g·W + du·A
    /// in one GEMM, the low-rank part riding on its last depth block.
    /// </summary>
    private static void FusedBackward(ReadOnlySpan<float> g, Tensor x, BaseWeight w, LowRankInput down, Tensor u, Tensor b,
        float[] scaledB, float scaling, int m, int n, int r)
    {
        if (down.A is not { } a)
        {
            LowRankGradients(g, down.U!, b, scaledB, scaling, m, n, r);
            if (!x.RequiresGrad) return;
            var gx = x.GradBufferToWrite(out bool overwrite);
            w.MultiplyInputGradient(g, gx, m, accumulate: !overwrite);
            return;
        }
        if (b.RequiresGrad) BGradient(g, u.AsSpan(), b, scaling, m, n, r);
        if (!a.RequiresGrad && !x.RequiresGrad) return;
        int k = w.Columns;
        var du = ArrayPool<float>.Shared.Rent(m * r);
        var aT = ArrayPool<float>.Shared.Rent(k * r);
        try
        {
            // du[M,R] = g[M,N] · (scaling·B)[N,R]
            Gemm.Multiply(g, false, scaledB, false, du, m, r, n, accumulate: false);
            if (a.RequiresGrad)
            {
                // dA[R,K] (+)= duᵀ[R,M] · x[M,K]
                var ga = a.GradBufferToWrite(out bool overwriteA);
                Gemm.Multiply(du, true, x.AsSpan(), false, ga, r, k, m, accumulate: !overwriteA);
            }
            if (x.RequiresGrad)
            {
                var gx = x.GradBufferToWrite(out bool overwriteX);
                TransposeKernels.Transpose(a.AsSpan(), aT, 1, r, k);   // Aᵀ (K, R): the term's factor in the GEMM's (N, K2) layout
                w.MultiplyInputGradientPlusLowRank(g, du, aT, gx, m, r, accumulate: !overwriteX);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(du);
            ArrayPool<float>.Shared.Return(aT);
        }
    }

    // x: (M, K), w: (N, K), down: u (M, R) or A (R, K), b: (N, R)
    private static (int M, int N, int R) CheckFusedBase(Tensor x, BaseWeight w, LowRankInput down, Tensor b, string what)
    {
        var factor = down.U ?? down.A!;
        int r = down.U is not null ? factor.Dim(-1) : factor.Dim(0);
        bool downFits = factor.Rank == 2 && (down.U is not null ? factor.Dim(0) == x.Dim(0) : factor.Dim(1) == w.Columns);
        if (x.Rank != 2 || x.Dim(1) != w.Columns || !downFits || b.Rank != 2 || b.Dim(0) != w.Rows || b.Dim(1) != r)
            throw new ArgumentException(down.U is not null
                ? $"{what}: input {x.Describe()}, down-projection {factor.Describe()} and B {b.Describe()} must be [M, {w.Columns}], [M, R] and [{w.Rows}, R]."
                : $"{what}: input {x.Describe()}, A {factor.Describe()} and B {b.Describe()} must be [M, {w.Columns}], [R, {w.Columns}] and [{w.Rows}, R].");
        if (w.RequiresGrad)
            throw new ArgumentException($"{what}: the fused base product needs a frozen base weight.");
        return (x.Dim(0), w.Rows, r);
    }

    private static (int M, int N, int R) CheckLowRank(Tensor y0, Tensor u, Tensor b)
    {
        if (y0.Rank != 2 || u.Rank != 2 || b.Rank != 2 || u.Dim(0) != y0.Dim(0) || b.Dim(0) != y0.Dim(1) || b.Dim(1) != u.Dim(1))
            throw new ArgumentException($"Low-rank update: result {y0.Describe()}, down-projection {u.Describe()} and B {b.Describe()} must be [M, N], [M, R] and [N, R].");
        return (y0.Dim(0), y0.Dim(1), u.Dim(1));
    }

    // b: (N, R) → (N, R): row o times rowScale[o]·scaling
    // b: (N, R) → (N, R) in the first N·R floats of an array that may be longer
    /// <summary>
    /// diag(rowScale)·scaling·B, in an array lent by the recording graph's arena when there is one (the backward pass
    /// reads it; the arena takes it back with the graph), so a training step allocates no garbage for it.
    /// </summary>
    private static float[] ScaleRows(ReadOnlySpan<float> b, float[]? rowScale, float scaling, int n, int r)
    {
        var scaled = ActivationArena.AllocateResult(n * r, zeroed: false);
        for (int o = 0; o < n; o++)
            TensorPrimitives.Multiply(b.Slice(o * r, r), (rowScale is null ? 1f : rowScale[o]) * scaling, scaled.AsSpan(o * r, r));
        return scaled;
    }

    private static float[] ReadFloat(Tensor t)
    {
        var values = new float[t.Count];
        t.ReadAsFloat(values);
        return values;
    }
}
