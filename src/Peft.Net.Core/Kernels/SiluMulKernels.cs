using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The SwiGLU inner product y = SiLU(gate)·up in one pass (no SiLU intermediate), and its backward in one pass:
/// d gate = g·up·SiLU'(gate), d up = g·SiLU(gate) (see <see cref="SiluKernels"/> for the stable SiLU').
/// </summary>
internal static partial class SiluMulKernels
{
    // gate, up, y: (N)  (e.g. N = B·T·hidden)
    /// <summary>y = gate·σ(gate)·up, in parallel chunks of <see cref="ChunkedWork.FloatsPerChunk"/> floats.</summary>
    public static unsafe void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        CheckLengths(y.Length, gate.Length, up.Length, y.Length, y.Length);
        fixed (float* pGate = gate, pUp = up, pY = y)
        {
            var work = t_forward ??= new ForwardWork();
            work.Gate = pGate;
            work.Up = pUp;
            work.Y = pY;
            work.RunChunks(y.Length, ChunkedWork.FloatsPerChunk);
        }
    }

    // g, gate, up, dGate, dUp: (N). An empty dGate or dUp is not computed.
    /// <summary>
    /// dGate += g·up·SiLU'(gate); dUp += g·SiLU(gate), in parallel chunks of <see cref="ChunkedWork.FloatsPerChunk"/> floats.
    /// With <paramref name="overwrite"/> both are stored instead of added (fresh gradient buffers: no zero-fill, no read).
    /// </summary>
    public static unsafe void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dGate, Span<float> dUp,
        bool overwrite = false)
    {
        CheckLengths(g.Length, gate.Length, up.Length, dGate.IsEmpty ? g.Length : dGate.Length, dUp.IsEmpty ? g.Length : dUp.Length);
        if (dGate.IsEmpty && dUp.IsEmpty) return;
        fixed (float* pG = g, pGate = gate, pUp = up, pDGate = dGate, pDUp = dUp)
        {
            var work = t_backward ??= new BackwardWork();
            work.G = pG;
            work.Gate = pGate;
            work.Up = pUp;
            work.DGate = pDGate;
            work.DUp = pDUp;
            work.Overwrite = overwrite;
            work.RunChunks(g.Length, ChunkedWork.FloatsPerChunk);
        }
    }

    // One chunk of Forward: gate, up, y are (n) slices.
    private static void ForwardChunk(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y) =>
        SimdLoop.Map(default(SiluMulOperator), gate, up, y);

    // One chunk of Backward: every span is an (n) slice; an empty dGate or dUp is not computed.
    private static void BackwardChunk(ReadOnlySpan<float> g, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dGate, Span<float> dUp,
        bool overwrite)
    {
        if (!dGate.IsEmpty && !dUp.IsEmpty)
        {
            if (overwrite) SimdLoop.MapPair(default(SiluMulGradients), g, gate, up, dGate, dUp);
            else SimdLoop.AccumulatePair(default(SiluMulGradients), g, gate, up, dGate, dUp);
        }
        else if (!dGate.IsEmpty)
        {
            if (overwrite) SimdLoop.Map(default(GateGradient), g, gate, up, dGate);
            else SimdLoop.Accumulate(default(GateGradient), g, gate, up, dGate);
        }
        else if (!dUp.IsEmpty)
        {
            if (overwrite) SimdLoop.Map(default(UpGradient), g, gate, up, dUp);
            else SimdLoop.Accumulate(default(UpGradient), g, gate, up, dUp);
        }
    }

    private static void CheckLengths(int g, int gate, int up, int dGate, int dUp)
    {
        if (gate != g || up != g || dGate != g || dUp != g)
            throw new ArgumentException($"SiluMul kernel: every operand must hold {g} floats; got gate {gate}, up {up}, gradients {dGate} and {dUp}.");
    }

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = (float)(gate[i] * ReferenceMath.Sigmoid(gate[i]) * up[i]);
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dGate, Span<float> dUp,
        bool overwrite = false)
    {
        for (int i = 0; i < g.Length; i++)
        {
            if (!dGate.IsEmpty) dGate[i] = (overwrite ? 0f : dGate[i]) + (float)((double)g[i] * up[i] * SiluKernels.Derivative(gate[i]));
            if (!dUp.IsEmpty) dUp[i] = (overwrite ? 0f : dUp[i]) + (float)(g[i] * gate[i] * ReferenceMath.Sigmoid(gate[i]));
        }
    }

    private readonly struct SiluMulOperator : IBinaryOperator // (gate, up)
    {
        public float Invoke(float gate, float up) => gate / (1f + MathF.Exp(-gate)) * up;
        public Vector128<float> Invoke(Vector128<float> gate, Vector128<float> up) => gate / (Vector128<float>.One + Vector128.Exp(-gate)) * up;
        public Vector256<float> Invoke(Vector256<float> gate, Vector256<float> up) => gate / (Vector256<float>.One + VectorMath.Exp(-gate)) * up;
        public Vector512<float> Invoke(Vector512<float> gate, Vector512<float> up) => gate / (Vector512<float>.One + VectorMath.Exp(-gate)) * up;
    }

    // Both gradients from one exponential: σ = 1/(1+e), SiLU = gate·σ, SiLU' = σ + gate·σ(1−σ).
    private readonly struct SiluMulGradients : ITernaryPairOperator // (g, gate, up) → (dGate, dUp)
    {
        public (float First, float Second) Invoke(float g, float gate, float up)
        {
            float e = MathF.Exp(-gate);
            float s = 1f / (1f + e);
            return (g * up * (s + gate * VectorMath.SigmoidSlope(e)), g * (gate * s));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector128<float> First, Vector128<float> Second) Invoke(Vector128<float> g, Vector128<float> gate, Vector128<float> up)
        {
            var e = Vector128.Exp(-gate);
            var s = Vector128<float>.One / (Vector128<float>.One + e);
            return (g * up * (s + gate * VectorMath.SigmoidSlope(e)), g * (gate * s));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> First, Vector256<float> Second) Invoke(Vector256<float> g, Vector256<float> gate, Vector256<float> up)
        {
            var e = VectorMath.Exp(-gate);
            var s = Vector256<float>.One / (Vector256<float>.One + e);
            return (g * up * (s + gate * VectorMath.SigmoidSlope(e)), g * (gate * s));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> First, Vector512<float> Second) Invoke(Vector512<float> g, Vector512<float> gate, Vector512<float> up)
        {
            var e = VectorMath.Exp(-gate);
            var s = Vector512<float>.One / (Vector512<float>.One + e);
            return (g * up * (s + gate * VectorMath.SigmoidSlope(e)), g * (gate * s));
        }
    }

    private readonly struct GateGradient : ITernaryOperator // (g, gate, up) → dGate
    {
        public float Invoke(float g, float gate, float up) => default(SiluMulGradients).Invoke(g, gate, up).First;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> gate, Vector128<float> up) => default(SiluMulGradients).Invoke(g, gate, up).First;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> gate, Vector256<float> up) => default(SiluMulGradients).Invoke(g, gate, up).First;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> gate, Vector512<float> up) => default(SiluMulGradients).Invoke(g, gate, up).First;
    }

    private readonly struct UpGradient : ITernaryOperator // (g, gate, up) → dUp
    {
        public float Invoke(float g, float gate, float up) => g * (gate / (1f + MathF.Exp(-gate)));
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> gate, Vector128<float> up) => g * (gate / (Vector128<float>.One + Vector128.Exp(-gate)));
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> gate, Vector256<float> up) => g * (gate / (Vector256<float>.One + VectorMath.Exp(-gate)));
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> gate, Vector512<float> up) => g * (gate / (Vector512<float>.One + VectorMath.Exp(-gate)));
    }
}
