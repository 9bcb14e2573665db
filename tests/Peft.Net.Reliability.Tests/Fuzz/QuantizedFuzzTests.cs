using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Mutated 4-bit parts (lengths, shapes, blocksizes, scales, maps, offsets) either assemble into a tensor that
/// decodes without error or are rejected by <see cref="QuantizedTensor.FromParts"/> with <see cref="ArgumentException"/>.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class QuantizedFuzzTests(ITestOutputHelper output)
{
    public const double Share = 0.10;

    private sealed record Parts(QuantType Type, int BlockSize, int[] Shape, DType Original, byte[] Packed, float[]? Absmax,
        byte[]? Codes, float[]? Nested, float[]? NestedMap, float Offset, int NestedBlockSize, float[]? Map);

    private static readonly float[] HostileFloats = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -1f, 0f, -0f, float.MaxValue, float.Epsilon, 1e30f];

    [Fact]
    public void MutatedPartsFailCleanly()
    {
        var seeds = new List<QuantizedTensor>();
        int s = 0;
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
        foreach (int blockSize in new[] { 32, 64, 256 })
        foreach (bool doubleQuant in new[] { false, true })
        {
            int[] shape = [(s % 3) + 3, 37 + 50 * s];
            seeds.Add(Nf4Quantizer.Quantize(Tensor.Normal(shape, 0, 1, new TensorRandom((ulong)++s)), type, blockSize, doubleQuant));
        }
        Parts? current = null;
        new FuzzRunner
        {
            Target = "quantized-parts",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var q = seeds[rng.Next(seeds.Count)];
                var parts = new Parts(q.QuantType, q.BlockSize, q.Shape, q.OriginalDType, (byte[])q.Packed.Clone(), (float[]?)q.Absmax?.Clone(),
                    (byte[]?)q.QuantizedAbsmax?.Clone(), (float[]?)q.NestedAbsmax?.Clone(), (float[]?)q.NestedQuantMap?.Clone(), q.Offset,
                    q.NestedBlockSize, rng.Next(2) == 0 ? null : (float[])q.QuantMap.Clone());
                var steps = new List<string>();
                for (int i = 1 + rng.Next(2); i > 0; i--) parts = Mutate(parts, rng, steps);
                current = parts;
                return new FuzzCase(0, 0, string.Join(" + ", steps), Bytes(parts));
            },
            Exercise = c =>
            {
                var p = current!;
                var q = QuantizedTensor.FromParts(p.Type, p.BlockSize, p.Shape, p.Original, p.Packed, p.Absmax, p.Codes, p.Nested,
                    p.NestedMap, p.Offset, p.NestedBlockSize, p.Map);
                var all = q.Dequantize();
                _ = q.GetAbsmax();
                if (q.Rows > 0 && q.Columns > 0)
                {
                    var tile = new float[q.Columns];
                    q.DecodeTile(q.Rows - 1, 1, 0, q.Columns, tile, q.Columns);
                    if (!MemoryMarshal.AsBytes(tile.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(all.AsSpan()[^q.Columns..])))
                        throw new InvalidOperationException("a tile decodes differently from the whole tensor");
                }
            },
            Allowed = [typeof(ArgumentException)],
            // Decoding to float32 takes 8 bytes per packed byte, plus the tile and the absmax copies.
            AllocationFactor = 24,
            AllocationSlack = 256 << 10,
        }.Run(output);
    }

    private static Parts Mutate(Parts p, Random rng, List<string> steps)
    {
        switch (rng.Next(12))
        {
            case 0:
            {
                var shape = (int[])p.Shape.Clone();
                int[] choices = [0, 1, -1, shape.Length > 0 ? shape[0] + 1 : 2, int.MaxValue, 1 << 20];
                if (shape.Length > 0) shape[rng.Next(shape.Length)] = choices[rng.Next(choices.Length)];
                steps.Add($"shape [{string.Join(", ", shape)}]");
                return p with { Shape = shape };
            }
            case 1:
            {
                int[] sizes = [16, 32, 48, 64, 128, 4096, 8192, 0, -64];
                int size = sizes[rng.Next(sizes.Length)];
                steps.Add($"blocksize {size}");
                return p with { BlockSize = size };
            }
            case 2:
                steps.Add("resize packed");
                return p with { Packed = Resize(p.Packed, rng) };
            case 3 when p.Absmax is not null:
                steps.Add("resize absmax");
                return p with { Absmax = Resize(p.Absmax, rng) };
            case 4 when p.Absmax is not null && p.Absmax.Length > 0:
            {
                var absmax = (float[])p.Absmax.Clone();
                absmax[rng.Next(absmax.Length)] = HostileFloats[rng.Next(HostileFloats.Length)];
                steps.Add("hostile absmax value");
                return p with { Absmax = absmax };
            }
            case 5 when p.Codes is not null:
                steps.Add("resize absmax codes");
                return p with { Codes = Resize(p.Codes, rng) };
            case 6 when p.Nested is not null:
                steps.Add("resize nested absmax");
                return p with { Nested = rng.Next(2) == 0 ? Resize(p.Nested, rng) : [.. p.Nested.Select(_ => HostileFloats[rng.Next(HostileFloats.Length)])] };
            case 7 when p.NestedMap is not null:
            {
                var map = (float[])p.NestedMap.Clone();
                int i = rng.Next(map.Length), j = rng.Next(map.Length);
                (map[i], map[j]) = rng.Next(2) == 0 ? (map[j], map[i]) : (HostileFloats[rng.Next(HostileFloats.Length)], map[j]);
                steps.Add("corrupt nested map");
                return p with { NestedMap = rng.Next(4) == 0 ? Resize(map, rng) : map };
            }
            case 8:
            {
                float offset = HostileFloats[rng.Next(HostileFloats.Length)];
                steps.Add($"offset {offset}");
                return p with { Offset = offset };
            }
            case 9:
            {
                steps.Add("swap plain and double-quantized state");
                return p.Absmax is null ? p with { Absmax = new float[p.Codes!.Length] } : p with { Codes = new byte[p.Absmax.Length] };
            }
            case 10:
            {
                var type = (QuantType)rng.Next(-1, 4);
                var original = (DType)rng.Next(0, 10);
                steps.Add($"type {type}, original {original}");
                return p with { Type = type, Original = original };
            }
            default:
            {
                var map = p.Map is null ? new float[16] : (float[])p.Map.Clone();
                if (map.Length > 0) map[rng.Next(map.Length)] += 0.5f;
                steps.Add("edit quant map");
                return p with { Map = rng.Next(3) == 0 ? Resize(map, rng) : map, NestedBlockSize = rng.Next(4) == 0 ? 128 : p.NestedBlockSize };
            }
        }
    }

    private static T[] Resize<T>(T[] array, Random rng)
    {
        int length = Math.Max(0, array.Length + rng.Next(-3, 4) * (rng.Next(2) == 0 ? 1 : 17));
        var resized = new T[length];
        Array.Copy(array, resized, Math.Min(length, array.Length));
        return resized;
    }

    /// <summary>The parts' arrays, for the size budget and for saving a failing case.</summary>
    private static byte[] Bytes(Parts p) =>
    [
        .. p.Packed, .. MemoryMarshal.AsBytes((p.Absmax ?? []).AsSpan()), .. p.Codes ?? [],
        .. MemoryMarshal.AsBytes((p.Nested ?? []).AsSpan()), .. MemoryMarshal.AsBytes((p.NestedMap ?? []).AsSpan()),
    ];
}
