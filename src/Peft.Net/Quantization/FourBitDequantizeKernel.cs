using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Quantization;

/// <summary>
/// Fast 4-bit decoding, bit-identical to <see cref="FourBitReference.Dequantize"/>: per block the 16 products
/// fl32(table[c] · absmax) are computed once in a register (the same float32 multiply the reference does per element),
/// then every element is a table lookup. AVX-512 looks up 16 outputs with one <c>vpermps</c>; AVX2 uses two 8-entry permutes and
/// a blend; other CPUs use the scalar lookup.
/// </summary>
internal static class FourBitDequantizeKernel
{
    /// <summary>Tensors with at least this many elements are decoded on several threads.</summary>
    internal const int ParallelThreshold = 1 << 20;

    /// <summary>Elements per parallel work item (a multiple of every blocksize).</summary>
    private const int ChunkElements = 1 << 18;

    [ThreadStatic] private static DecodeWork? t_decode;

    // tensor: (n) → destination: (n)
    /// <summary>
    /// Decodes the whole tensor, splitting large ones into chunks of <see cref="ChunkElements"/> on the engine's
    /// shared thread pool (<see cref="ParallelRunner"/>). Every element is decoded alone, so the result does not
    /// depend on the chunks or the thread count.
    /// </summary>
    public static unsafe void DecodeParallel(QuantizedTensor tensor, Span<float> destination)
    {
        int n = destination.Length;
        if (n < ParallelThreshold)
        {
            Decode(tensor, 0, destination);
            return;
        }
        var work = t_decode ??= new DecodeWork();
        fixed (float* pointer = destination)
        {
            work.Tensor = tensor;
            work.Destination = pointer;
            try
            {
                work.RunChunks(n, ChunkElements);
            }
            finally
            {
                work.Tensor = null; // the cached work must not keep the tensor alive
            }
        }
    }

    // tensor: (n) → destination: elements [start, start + destination.Length)
    /// <summary>Decodes a range of flat elements (any start, any length) on the calling thread.</summary>
    public static void Decode(QuantizedTensor tensor, long start, Span<float> destination) =>
        Decode(tensor.Packed, tensor.Scales, tensor.QuantMap, tensor.BlockSize, start, destination, KernelIsaInfo.Best);

    /// <summary>Decodes with a chosen instruction set (tests compare each with the reference).</summary>
    internal static void Decode(byte[] packed, BlockScales scales, float[] table, int blockSize, long start,
        Span<float> destination, KernelIsa isa)
    {
        long end = start + destination.Length;
        long index = start;
        int written = 0;
        while (index < end)
        {
            int block = (int)(index / blockSize);
            long runEnd = Math.Min((long)(block + 1) * blockSize, end);
            int runLength = (int)(runEnd - index);
            DecodeRun(packed, index, table, scales[block], destination.Slice(written, runLength), isa);
            written += runLength;
            index = runEnd;
        }
    }

    // packed: bytes of elements [start, start + destination.Length), all in one block with this scale → destination
    private static void DecodeRun(byte[] packed, long start, float[] table, float scale, Span<float> destination, KernelIsa isa)
    {
        int o = 0;
        long index = start;
        if ((index & 1) == 1 && destination.Length > 0)
        {
            destination[o++] = table[packed[index >> 1] & 0x0F] * scale;
            index++;
        }
        int byteIndex = (int)(index >> 1);
        int pairs = (destination.Length - o) >> 1;
        int simdBytes = pairs & ~15;
        if (simdBytes > 0 && isa == KernelIsa.Avx512)
            DecodeAvx512(packed, byteIndex, simdBytes, table, scale, destination.Slice(o));
        else if (simdBytes > 0 && isa == KernelIsa.Avx2)
            DecodeAvx2(packed, byteIndex, simdBytes, table, scale, destination.Slice(o));
        else
            simdBytes = 0;
        for (int p = simdBytes; p < pairs; p++)
        {
            int b = packed[byteIndex + p];
            destination[o + 2 * p] = table[b >> 4] * scale;
            destination[o + 2 * p + 1] = table[b & 0x0F] * scale;
        }
        o += 2 * pairs;
        if (o < destination.Length)
            destination[o] = table[packed[byteIndex + pairs] >> 4] * scale;
    }

    // packed: byteCount bytes (a multiple of 16) from byteIndex → destination: 2·byteCount floats
    private static void DecodeAvx512(byte[] packed, int byteIndex, int byteCount, float[] table, float scale, Span<float> destination)
    {
        var lut = Vector512.Create(table.AsSpan()) * Vector512.Create(scale); // lane c: fl32(table[c] · scale)
        var lowNibble = Vector128.Create((byte)0x0F);
        ref byte source = ref packed[byteIndex];
        ref float target = ref destination[0];
        for (int p = 0; p < byteCount; p += 16)
        {
            var bytes = Vector128.LoadUnsafe(ref source, (nuint)p);
            var high = (bytes.AsUInt16() >>> 4).AsByte() & lowNibble;
            var low = bytes & lowNibble;
            var first = Sse2.UnpackLow(high, low);   // codes of elements 0..15 of this chunk, in order
            var second = Sse2.UnpackHigh(high, low); // elements 16..31
            Avx512F.PermuteVar16x32(lut, Avx512F.ConvertToVector512Int32(first)).StoreUnsafe(ref target, (nuint)(2 * p));
            Avx512F.PermuteVar16x32(lut, Avx512F.ConvertToVector512Int32(second)).StoreUnsafe(ref target, (nuint)(2 * p + 16));
        }
    }

    // packed: byteCount bytes (a multiple of 16) from byteIndex → destination: 2·byteCount floats
    private static void DecodeAvx2(byte[] packed, int byteIndex, int byteCount, float[] table, float scale, Span<float> destination)
    {
        var scaleVector = Vector256.Create(scale);
        var lutLow = Vector256.Create(table.AsSpan(0, 8)) * scaleVector;
        var lutHigh = Vector256.Create(table.AsSpan(8, 8)) * scaleVector;
        var lowNibble = Vector128.Create((byte)0x0F);
        ref byte source = ref packed[byteIndex];
        ref float target = ref destination[0];
        for (int p = 0; p < byteCount; p += 16)
        {
            var bytes = Vector128.LoadUnsafe(ref source, (nuint)p);
            var high = (bytes.AsUInt16() >>> 4).AsByte() & lowNibble;
            var low = bytes & lowNibble;
            var first = Sse2.UnpackLow(high, low);
            var second = Sse2.UnpackHigh(high, low);
            ref float out0 = ref Unsafe.Add(ref target, 2 * p);
            Lookup8(first, lutLow, lutHigh).StoreUnsafe(ref out0);
            Lookup8(Sse2.ShiftRightLogical128BitLane(first, 8), lutLow, lutHigh).StoreUnsafe(ref out0, 8);
            Lookup8(second, lutLow, lutHigh).StoreUnsafe(ref out0, 16);
            Lookup8(Sse2.ShiftRightLogical128BitLane(second, 8), lutLow, lutHigh).StoreUnsafe(ref out0, 24);
        }
    }

    // codes: the low 8 bytes (each 0..15) → the 8 table entries
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lookup8(Vector128<byte> codes, Vector256<float> lutLow, Vector256<float> lutHigh)
    {
        var index = Avx2.ConvertToVector256Int32(codes);
        var fromLow = Avx2.PermuteVar8x32(lutLow, index);   // uses index & 7
        var fromHigh = Avx2.PermuteVar8x32(lutHigh, index);
        return Avx.BlendVariable(fromLow, fromHigh, (index << 28).AsSingle()); // bit 3 of the code picks the half
    }

    /// <summary>Elements [start, end) of <see cref="DecodeParallel"/>; one instance per calling thread.</summary>
    private sealed unsafe class DecodeWork : ChunkedWork
    {
        public QuantizedTensor? Tensor;
        public float* Destination;

        protected override void Run(int start, int end) =>
            Decode(Tensor!, start, new Span<float>(Destination + start, end - start));
    }
}
