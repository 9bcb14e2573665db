using System.Buffers.Binary;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Reliability.Tests.Testing;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>Mutated safetensors files either load or fail with <see cref="SafetensorsFormatException"/> / <see cref="NotSupportedException"/> naming the file.</summary>
[Trait("Category", "Fuzz")]
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Share of PEFT_FUZZ_CASES this target runs.</summary>
    public const double Share = 0.25;

    private static readonly DType[] DTypes = [DType.F32, DType.F16, DType.BF16, DType.I32, DType.I64, DType.U8, DType.I8, DType.Bool];

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MutatedFilesFailCleanly()
    {
        var seeds = BuildSeedFiles();
        string path = _folder.File("case.safetensors");
        new FuzzRunner
        {
            Target = "safetensors",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var seed = seeds[rng.Next(seeds.Count)];
                var bytes = Mutate(seed, rng, out string what);
                return new FuzzCase(0, 0, what, bytes);
            },
            Exercise = c =>
            {
                File.WriteAllBytes(path, c.Input);
                ReadEverything(path);
            },
            Allowed = [typeof(SafetensorsFormatException), typeof(NotSupportedException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.StartsWith(path, StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not start with the file's path");
            },
            // Reading copies the data out up to four times (tensor, F32 widening of a 16-bit tensor, raw bytes).
            AllocationFactor = 8,
            AllocationSlack = 512 << 10,
        }.Run(output);
    }

    /// <summary>Opens the file and reads every tensor every way the API offers.</summary>
    private static void ReadEverything(string path)
    {
        using var file = SafetensorsFile.Open(path);
        _ = file.Metadata.Count;
        foreach (var entry in file.Entries)
        {
            _ = file.ReadBytes(entry.Name);
            if (!entry.IsSupported) continue;
            var tensor = file.ReadTensor(entry.Name);
            if (tensor.DType.IsFloatingPoint())
                _ = file.ReadTensorAsFloat32(entry.Name);
        }
    }

    internal static byte[] Mutate(byte[] file, Random rng, out string what)
    {
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = file.AsSpan(8, (int)headerLength).ToArray();
        var data = file.AsSpan(8 + (int)headerLength).ToArray();
        switch (rng.Next(10))
        {
            case 0 or 1 or 2:
            {
                var edited = JsonMutator.Mutate(header, rng, out what);
                return Build(edited, data, (ulong)edited.Length);
            }
            case 3:
            {
                var edited = JsonMutator.Mutate(header, rng, out string json);
                var bytes = ByteMutator.Mutate(Build(edited, data, (ulong)edited.Length), rng, out string raw);
                what = $"{json} + {raw}";
                return bytes;
            }
            case 4 or 5:
                return ByteMutator.Mutate(file, rng, out what);
            case 6:
            {
                ulong[] lengths = [0, 1, 2, headerLength - 1, headerLength + 1, headerLength + (ulong)rng.Next(2, 64), (ulong)file.Length - 8,
                    (ulong)file.Length, (ulong)file.Length - 7, 100_000_000, 100_000_001, 1UL << 40, ulong.MaxValue, (ulong)rng.NextInt64()];
                ulong declared = lengths[rng.Next(lengths.Length)];
                what = $"header length {headerLength} -> {declared}";
                return Build(header, data, declared);
            }
            case 7:
            {
                int length = rng.Next(2) == 0 ? 8 + (int)headerLength + rng.Next(data.Length + 1) : rng.Next(file.Length);
                what = $"truncate to {length} of {file.Length} bytes";
                return file[..length];
            }
            case 8 when data.Length > 0:
            {
                var corrupted = (byte[])data.Clone();
                int count = 1 + rng.Next(Math.Min(16, data.Length));
                for (int i = 0; i < count; i++) corrupted[rng.Next(corrupted.Length)] = (byte)rng.Next(256);
                what = $"{count} random bytes in the data buffer";
                return Build(header, corrupted, headerLength);
            }
            default:
            {
                // Append or remove data while the header stays as it was.
                int delta = rng.Next(-8, 9);
                var resized = new byte[Math.Max(0, data.Length + delta)];
                data.AsSpan(0, Math.Min(data.Length, resized.Length)).CopyTo(resized);
                what = $"data buffer {data.Length} -> {resized.Length} bytes";
                return Build(header, resized, headerLength);
            }
        }
    }

    private static byte[] Build(byte[] header, byte[] data, ulong declaredLength)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>Valid files to mutate: random tensors of every loadable dtype and rank 0–3 (empty ones too), with and without metadata, plus the reference fixture.</summary>
    private List<byte[]> BuildSeedFiles()
    {
        var rng = new Random(7);
        var seeds = new List<byte[]> { File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "reference.safetensors")) };
        for (int f = 0; f < 12; f++)
        {
            var tensors = new Dictionary<string, Tensor>();
            int count = 1 + rng.Next(5);
            for (int t = 0; t < count; t++)
            {
                var shape = Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(f == 3 ? 0 : 1, 5)).ToArray();
                var dtype = DTypes[rng.Next(DTypes.Length)];
                var values = Tensor.Uniform(shape, -3, 3, new TensorRandom((ulong)(f * 10 + t)));
                var data = values.AsSpan().ToArray();
                tensors[$"layer.{t}.{(t % 2 == 0 ? "weight" : "bias")}"] = dtype switch
                {
                    DType.Bool => Tensor.Wrap(data.Select(v => v > 0).ToArray(), shape),
                    DType.I32 => Tensor.Wrap(data.Select(v => (int)(v * 1000)).ToArray(), shape),
                    DType.I64 => Tensor.Wrap(data.Select(v => (long)(v * 1e6)).ToArray(), shape),
                    DType.U8 => Tensor.Wrap(data.Select(v => (byte)(v * 40 + 128)).ToArray(), shape),
                    DType.I8 => Tensor.Wrap(data.Select(v => (sbyte)(v * 40)).ToArray(), shape),
                    _ => values.To(dtype),
                };
            }
            var metadata = f % 2 == 0 ? new Dictionary<string, string> { ["format"] = "pt", ["note"] = $"seed {f}" } : null;
            string path = _folder.File($"seed{f}.safetensors");
            Safetensors.Save(path, tensors, metadata);
            seeds.Add(File.ReadAllBytes(path));
        }
        return seeds;
    }
}
