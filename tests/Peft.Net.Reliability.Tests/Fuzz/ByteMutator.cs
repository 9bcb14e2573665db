using System.Buffers.Binary;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>Format-blind mutations of a byte array: bit flips, byte edits, insertions, deletions, truncation, splices, integer overwrites.</summary>
internal static class ByteMutator
{
    private static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, 0xC0, 0xED, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'-', (byte)'9', (byte)'\n'];

    private static readonly long[] InterestingIntegers =
        [0, 1, -1, 2, 7, 8, 255, 256, 65535, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, uint.MaxValue, long.MaxValue, long.MinValue, 100_000_000, 1L << 40];

    /// <summary>Applies 1–3 random mutations; <paramref name="what"/> describes them.</summary>
    public static byte[] Mutate(byte[] input, Random rng, out string what)
    {
        var bytes = input;
        var steps = new List<string>();
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            bytes = MutateOnce(bytes, rng, out string step);
            steps.Add(step);
        }
        what = string.Join(" + ", steps);
        return bytes;
    }

    public static byte[] MutateOnce(byte[] input, Random rng, out string what)
    {
        var bytes = (byte[])input.Clone();
        int n = bytes.Length;
        switch (n == 0 ? 2 : rng.Next(8))
        {
            case 0:
            {
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++) bytes[rng.Next(n)] ^= (byte)(1 << rng.Next(8));
                what = $"flip {flips} bits";
                return bytes;
            }
            case 1:
            {
                int at = rng.Next(n);
                bytes[at] = InterestingBytes[rng.Next(InterestingBytes.Length)];
                what = $"set byte {at} to 0x{bytes[at]:X2}";
                return bytes;
            }
            case 2:
            {
                int at = rng.Next(n + 1), length = 1 + rng.Next(16);
                var inserted = new byte[length];
                rng.NextBytes(inserted);
                what = $"insert {length} bytes at {at}";
                return [.. bytes.AsSpan(0, at), .. inserted, .. bytes.AsSpan(at)];
            }
            case 3:
            {
                int at = rng.Next(n), length = Math.Min(n - at, 1 + rng.Next(32));
                what = $"delete {length} bytes at {at}";
                return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(at + length)];
            }
            case 4:
            {
                int length = rng.Next(n);
                what = $"truncate to {length} of {n} bytes";
                return bytes[..length];
            }
            case 5:
            {
                int from = rng.Next(n), length = Math.Min(n - from, 1 + rng.Next(64)), at = rng.Next(n + 1);
                what = $"copy {length} bytes from {from} to {at}";
                return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(from, length), .. bytes.AsSpan(at)];
            }
            case 6 when n >= 4:
            {
                int at = rng.Next(n - 3);
                int value = (int)InterestingIntegers[rng.Next(InterestingIntegers.Length)];
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), value);
                what = $"write int32 {value} at {at}";
                return bytes;
            }
            case 7 when n >= 8:
            {
                int at = rng.Next(n - 7);
                long value = InterestingIntegers[rng.Next(InterestingIntegers.Length)];
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), value);
                what = $"write int64 {value} at {at}";
                return bytes;
            }
            default:
                bytes[rng.Next(n)] = (byte)rng.Next(256);
                what = "random byte";
                return bytes;
        }
    }
}
