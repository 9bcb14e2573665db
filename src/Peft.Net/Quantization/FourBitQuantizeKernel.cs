using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Quantization;

/// <summary>
/// Fast 4-bit blockwise quantization, bit-identical to <see cref="FourBitReference.Quantize"/>: vectorised absmax
/// (NaN ignored), the same float32 reciprocal and multiply, codes by counting thresholds below the value in every
/// lane, and nibble packing in registers. Runs of 32 elements are vectorised (every blocksize is a multiple of 32);
/// the rest of a short last block and the pad nibble go through the reference.
/// </summary>
internal static class FourBitQuantizeKernel
{
    /// <summary>Tensors with at least this many elements are quantized on several threads.</summary>
    private const int ParallelThreshold = 1 << 20;

    /// <summary>Elements per parallel work item (a multiple of every blocksize).</summary>
    private const int ChunkElements = 1 << 18;

    private const int Run = 32;

    [ThreadStatic] private static QuantizeWork? t_quantize;

    // x: (n) → packed: (ceil(n/2)), absmax: (ceil(n/B))
    /// <summary>
    /// Quantizes the whole input, splitting large inputs by whole blocks (<see cref="ChunkElements"/> elements a
    /// chunk) on the engine's shared thread pool (<see cref="ParallelRunner"/>). Blocks are independent, so the
    /// result does not depend on the chunks or the thread count.
    /// </summary>
    public static unsafe void QuantizeParallel(ReadOnlySpan<float> x, QuantType type, int blockSize, byte[] packed, float[] absmax)
    {
        int n = x.Length;
        int nb = absmax.Length;
        if (n < ParallelThreshold)
        {
            Quantize(x, type, blockSize, packed, absmax, 0, nb, KernelIsaInfo.Best);
            return;
        }
        var work = t_quantize ??= new QuantizeWork();
        fixed (float* xp = x, ap = absmax)
        fixed (byte* pp = packed)
        {
            work.X = xp;
            work.Packed = pp;
            work.Absmax = ap;
            work.Count = n;
            work.PackedLength = packed.Length;
            work.AbsmaxLength = nb;
            work.Type = type;
            work.BlockSize = blockSize;
            work.RunChunks(nb, Math.Max(1, ChunkElements / blockSize));
        }
    }

    /// <summary>Quantizes blocks [firstBlock, firstBlock + blockCount) with a chosen code path.</summary>
    internal static void Quantize(ReadOnlySpan<float> x, QuantType type, int blockSize, Span<byte> packed,
        Span<float> absmax, int firstBlock, int blockCount, KernelIsa isa)
    {
        int n = x.Length;
        for (int block = firstBlock; block < firstBlock + blockCount; block++)
        {
            int start = block * blockSize;
            int count = Math.Min(blockSize, n - start);
            var values = x.Slice(start, count);
            float max = Absmax(values, blockSize, isa);
            absmax[block] = max;
            float inv = 1f / max;
            int vectorised = isa == KernelIsa.Scalar ? 0 : count / Run * Run;
            for (int r = 0; r < vectorised; r += Run)
            {
                var run = values.Slice(r, Run);
                var target = packed.Slice((start + r) >> 1, Run / 2);
                if (isa == KernelIsa.Avx512) EncodeRun512(run, inv, type, target);
                else EncodeRun256(run, inv, type, target);
            }
            for (int i = vectorised; i < count; i++)
                FourBitReference.SetCode(packed, start + i, FourBitReference.Encode(type, values[i] * inv));
            if ((n & 1) == 1 && start + count == n)
                FourBitReference.SetCode(packed, n, FourBitReference.Encode(type, 0f * inv));
        }
    }

    /// <summary>
    /// <see cref="FourBitReference.Absmax"/> vectorised: a lane keeps its running maximum when the comparison is
    /// false, so NaN is ignored; the maximum of non-NaN values does not depend on the order.
    /// </summary>
    internal static float Absmax(ReadOnlySpan<float> x, int blockSize, KernelIsa isa)
    {
        int i = 0;
        float max = -float.MaxValue;
        ref float source = ref MemoryMarshal.GetReference(x);
        if (isa == KernelIsa.Avx512 && x.Length >= Vector512<float>.Count)
        {
            var acc = Vector512.Create(-float.MaxValue);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var a = Vector512.Abs(Vector512.LoadUnsafe(ref source, (nuint)i));
                acc = Vector512.ConditionalSelect(Vector512.GreaterThan(a, acc), a, acc);
            }
            for (int lane = 0; lane < Vector512<float>.Count; lane++)
                if (acc[lane] > max) max = acc[lane];
        }
        else if (isa != KernelIsa.Scalar && x.Length >= Vector256<float>.Count)
        {
            var acc = Vector256.Create(-float.MaxValue);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var a = Vector256.Abs(Vector256.LoadUnsafe(ref source, (nuint)i));
                acc = Vector256.ConditionalSelect(Vector256.GreaterThan(a, acc), a, acc);
            }
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
                if (acc[lane] > max) max = acc[lane];
        }
        for (; i < x.Length; i++)
        {
            float a = MathF.Abs(x[i]);
            if (a > max) max = a;
        }
        return x.Length < blockSize && max < 0f ? 0f : max;
    }

    // run: (32) → packed: (16)
    private static void EncodeRun512(ReadOnlySpan<float> run, float inv, QuantType type, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(run);
        var scale = Vector512.Create(inv);
        var v0 = Vector512.LoadUnsafe(ref source) * scale;
        var v1 = Vector512.LoadUnsafe(ref source, 16) * scale;
        var c0 = type == QuantType.Nf4 ? EncodeNf4(v0) : EncodeFp4(v0);
        var c1 = type == QuantType.Nf4 ? EncodeNf4(v1) : EncodeFp4(v1);
        var bytes32 = Vector512.Narrow(PairToByte(c0), PairToByte(c1)); // 16 packed bytes, one per uint lane
        var bytes16 = Vector512.Narrow(bytes32, Vector512<uint>.Zero);
        var bytes8 = Vector512.Narrow(bytes16, Vector512<ushort>.Zero);
        bytes8.GetLower().GetLower().CopyTo(packed);
    }

    // run: (32) → packed: (16)
    private static void EncodeRun256(ReadOnlySpan<float> run, float inv, QuantType type, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(run);
        var scale = Vector256.Create(inv);
        var v0 = Vector256.LoadUnsafe(ref source) * scale;
        var v1 = Vector256.LoadUnsafe(ref source, 8) * scale;
        var v2 = Vector256.LoadUnsafe(ref source, 16) * scale;
        var v3 = Vector256.LoadUnsafe(ref source, 24) * scale;
        bool nf4 = type == QuantType.Nf4;
        var low = Vector256.Narrow(PairToByte(nf4 ? EncodeNf4(v0) : EncodeFp4(v0)), PairToByte(nf4 ? EncodeNf4(v1) : EncodeFp4(v1)));
        var high = Vector256.Narrow(PairToByte(nf4 ? EncodeNf4(v2) : EncodeFp4(v2)), PairToByte(nf4 ? EncodeNf4(v3) : EncodeFp4(v3)));
        var bytes16 = Vector256.Narrow(low, high);
        var bytes8 = Vector256.Narrow(bytes16, Vector256<ushort>.Zero);
        bytes8.GetLower().CopyTo(packed);
    }

    // codes: one per int lane → per 64-bit lane (code[2k] << 4) | code[2k + 1]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> PairToByte(Vector512<int> codes)
    {
        var pair = codes.AsUInt64();
        return ((pair << 4) | (pair >>> 32)) & Vector512.Create(0xFFUL);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> PairToByte(Vector256<int> codes)
    {
        var pair = codes.AsUInt64();
        return ((pair << 4) | (pair >>> 32)) & Vector256.Create(0xFFUL);
    }

    // Each true comparison is −1, so subtracting counts the thresholds strictly below the value (NaN: none).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> EncodeNf4(Vector512<float> v)
    {
        var code = Vector512<int>.Zero;
        foreach (float t in Nf4Reference.Thresholds)
            code -= Vector512.GreaterThan(v, Vector512.Create(t)).AsInt32();
        return code;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> EncodeNf4(Vector256<float> v)
    {
        var code = Vector256<int>.Zero;
        foreach (float t in Nf4Reference.Thresholds)
            code -= Vector256.GreaterThan(v, Vector256.Create(t)).AsInt32();
        return code;
    }

    // rank = thresholds below |v| (0..7); ranks 2, 3, 6, 7 (bit 1 set) flip bit 2 to give 110, 111, 010, 011; sign iff v < 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> EncodeFp4(Vector512<float> v)
    {
        var magnitude = Vector512.Abs(v);
        var rank = Vector512<int>.Zero;
        foreach (float t in Fp4Reference.Thresholds)
            rank -= Vector512.GreaterThan(magnitude, Vector512.Create(t)).AsInt32();
        var flip = (rank & Vector512.Create(0b10)) << 1;
        var sign = Vector512.LessThan(v, Vector512<float>.Zero).AsInt32() & Vector512.Create(0b1000);
        return (rank ^ flip) | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> EncodeFp4(Vector256<float> v)
    {
        var magnitude = Vector256.Abs(v);
        var rank = Vector256<int>.Zero;
        foreach (float t in Fp4Reference.Thresholds)
            rank -= Vector256.GreaterThan(magnitude, Vector256.Create(t)).AsInt32();
        var flip = (rank & Vector256.Create(0b10)) << 1;
        var sign = Vector256.LessThan(v, Vector256<float>.Zero).AsInt32() & Vector256.Create(0b1000);
        return (rank ^ flip) | sign;
    }

    /// <summary>Blocks [start, end) of <see cref="QuantizeParallel"/>; one instance per calling thread.</summary>
    private sealed unsafe class QuantizeWork : ChunkedWork
    {
        public float* X, Absmax;
        public byte* Packed;
        public int Count, PackedLength, AbsmaxLength, BlockSize;
        public QuantType Type;

        protected override void Run(int start, int end) =>
            Quantize(new ReadOnlySpan<float>(X, Count), Type, BlockSize, new Span<byte>(Packed, PackedLength),
                new Span<float>(Absmax, AbsmaxLength), start, end - start, KernelIsaInfo.Best);
    }
}
