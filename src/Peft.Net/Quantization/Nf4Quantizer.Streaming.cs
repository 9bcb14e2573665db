using System.Buffers;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Quantization;

public static partial class Nf4Quantizer
{
    /// <summary>Elements widened to float32 at a time (a multiple of every blocksize): 1 MiB of scratch per chunk.</summary>
    private const int StreamChunkElements = 1 << 18;

    [ThreadStatic] private static StreamQuantizeWork? t_stream;

    /// <summary>
    /// Quantizes tensor <paramref name="name"/> of a safetensors file straight from its memory mapping, a chunk of
    /// 2^18 elements at a time, so no 16-bit or float32 copy of the whole tensor is ever made: the only large arrays
    /// allocated are the 4-bit result's. The bytes equal those of <see cref="Quantize(Tensor, QuantType, int, bool)"/>
    /// on the tensor read with <see cref="SafetensorsFile.ReadTensor"/> and converted to <paramref name="storeAs"/>.
    /// The tensor's pages are released from the process's resident set afterwards
    /// (<see cref="SafetensorsFile.ReleasePages"/>).
    /// </summary>
    /// <param name="file">The open file.</param>
    /// <param name="name">The tensor (F32, F16 or BF16).</param>
    /// <param name="quantType">NF4 (QLoRA) or FP4.</param>
    /// <param name="blockSize">Elements per absmax: 32 … 4096.</param>
    /// <param name="doubleQuant">Also quantize the absmax (bitsandbytes' <c>compress_statistics</c>).</param>
    /// <param name="storeAs">The dtype the weight is taken to have before quantizing (its values rounded to it, and
    /// recorded as the original dtype); null keeps the file's.</param>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="ArgumentException">The tensor is not F32, F16 or BF16, or the blocksize, quant type or
    /// <paramref name="storeAs"/> is not supported.</exception>
    /// <exception cref="NotSupportedException">The tensor has more elements than an array holds.</exception>
    public static QuantizedTensor Quantize(SafetensorsFile file, string name, QuantType quantType = QuantType.Nf4, int blockSize = 64,
        bool doubleQuant = false, DType? storeAs = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(name);
        var entry = file.GetEntry(name);
        string what = $"{file.FilePath}: tensor '{name}'";
        if (!entry.IsSupported || !entry.DType.IsFloatingPoint())
            throw new ArgumentException($"{what} is {entry.DTypeName}; only F32, F16 and BF16 tensors can be quantized.", nameof(name));
        var original = storeAs ?? entry.DType;
        if (!original.IsFloatingPoint())
            throw new ArgumentException($"{what}: a quantized weight's original dtype is F32, F16 or BF16, not {original}.", nameof(storeAs));
        if (!Enum.IsDefined(quantType))
            throw new ArgumentException($"Unknown quant type {(int)quantType}; expected Nf4 or Fp4.", nameof(quantType));
        if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentException($"Blocksize {blockSize} is not supported for {what}; use one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}.", nameof(blockSize));
        if (entry.ElementCount > Array.MaxLength)
            throw new NotSupportedException($"{what} has {entry.ElementCount} elements, more than a tensor holds ({Array.MaxLength}).");

        int n = (int)entry.ElementCount;
        int nb = (n + blockSize - 1) / blockSize;
        var packed = new byte[(n + 1) / 2];
        // With double quantization the float32 absmax are only an intermediate: borrowed, not left behind as garbage.
        var absmax = doubleQuant ? ArrayPool<float>.Shared.Rent(nb) : new float[nb];
        // Rounding to a narrower dtype than the file's is what loading with that dtype would have done first.
        bool round = original != DType.F32 && original != entry.DType;
        var work = t_stream ??= new StreamQuantizeWork();
        work.File = file;
        work.Name = name;
        work.Packed = packed;
        work.Absmax = absmax;
        work.QuantType = quantType;
        work.BlockSize = blockSize;
        work.RoundTo = round ? original : null;
        try
        {
            work.RunChunks(n, StreamChunkElements, minParallelChunks: 2);
        }
        finally
        {
            work.Clear(); // the cached work must not keep the file or the arrays alive
        }
        file.ReleasePages(name);
        try
        {
            return FromBlocks(quantType, blockSize, entry.ShapeArray(), original, packed, absmax, doubleQuant, nb);
        }
        finally
        {
            if (doubleQuant) ArrayPool<float>.Shared.Return(absmax);
        }
    }

    /// <summary>Rounds float32 values to the nearest <paramref name="dtype"/> value (ties to even), as <see cref="Tensor.To"/>.</summary>
    private static void RoundTo(DType dtype, Span<float> values)
    {
        if (dtype == DType.F16)
            for (int i = 0; i < values.Length; i++) values[i] = (float)(Half)values[i];
        else
            for (int i = 0; i < values.Length; i++) values[i] = BFloat16.FromSingle(values[i]).ToSingle();
    }

    /// <summary>
    /// Chunk i of the streaming quantization: elements [i·2^18, (i + 1)·2^18) widened into scratch, rounded if asked,
    /// and quantized into their own blocks of the result. One instance per calling thread.
    /// </summary>
    /// <remarks>
    /// Each chunk borrows its 1 MiB of scratch from the shared array pool and gives it back when done: a model loads
    /// hundreds of tensors, and fresh 1 MiB arrays would pile up on the large-object heap between collections,
    /// raising the peak for nothing, while the pool keeps one per thread, so steady state allocates nothing.
    /// </remarks>
    private sealed class StreamQuantizeWork : ChunkedWork
    {
        public SafetensorsFile? File;
        public string? Name;
        public byte[] Packed = [];
        public float[] Absmax = [];
        public int BlockSize;
        public QuantType QuantType;
        public DType? RoundTo;

        protected override void Run(int start, int end)
        {
            // x: (count) float32 values of elements [start, end); every chunk starts on a block (and byte) boundary.
            int count = end - start;
            var scratch = ArrayPool<float>.Shared.Rent(StreamChunkElements);
            try
            {
                var x = scratch.AsSpan(0, count);
                File!.ReadAsFloat32(Name!, start, x);
                if (RoundTo is { } dtype) Nf4Quantizer.RoundTo(dtype, x);
                int firstBlock = start / BlockSize;
                int blocks = (count + BlockSize - 1) / BlockSize;
                FourBitQuantizeKernel.Quantize(x, QuantType, BlockSize, Packed.AsSpan(start / 2, (count + 1) / 2),
                    Absmax.AsSpan(firstBlock, blocks), 0, blocks, KernelIsaInfo.Best);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        public void Clear()
        {
            File = null;
            Name = null;
            Packed = [];
            Absmax = [];
        }
    }
}
