using System.Numerics;
using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>Writes the case files the host emulator reads (format in kernels/host/dequant_host.cpp).</summary>
internal static class CaseFile
{
    private const int OpDequantize = 0, OpGemv = 1;

    /// <summary>A dequantization case: <paramref name="tensor"/> decoded to <paramref name="dtype"/>.</summary>
    public static void WriteDequantize(string path, QuantizedTensor tensor, DType dtype)
    {
        int outType = dtype switch { DType.F32 => 0, DType.F16 => 1, DType.BF16 => 2, _ => throw new ArgumentException($"dtype {dtype}") };
        Write(path, OpDequantize, outType, tensor, 0, 0, null);
    }

    /// <summary>A GEMV case: y [N] = <paramref name="weight"/> [N, K] · <paramref name="x"/> [K].</summary>
    public static void WriteGemv(string path, QuantizedTensor weight, float[] x)
    {
        int[] shape = weight.Shape;
        Write(path, OpGemv, 0, weight, shape[0], shape[1], x);
    }

    private static void Write(string path, int op, int outType, QuantizedTensor t, long rows, long cols, float[]? x)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write("PNQ4CASE"u8);
        w.Write(op);
        w.Write(outType);
        w.Write(t.IsDoubleQuantized ? 1 : 0);
        w.Write(BitOperations.Log2((uint)t.BlockSize));
        w.Write(t.IsDoubleQuantized ? BitOperations.Log2((uint)t.NestedBlockSize) : 0);
        w.Write(t.ElementCount);
        w.Write(rows);
        w.Write(cols);
        w.Write(t.Offset);
        WriteRaw(w, t.QuantMap);
        WriteArray(w, t.Packed);
        if (!t.IsDoubleQuantized)
        {
            WriteArray(w, t.Absmax!);
        }
        else
        {
            WriteArray(w, t.QuantizedAbsmax!);
            WriteArray(w, t.NestedAbsmax!);
            WriteRaw(w, t.NestedQuantMap!);
        }
        if (x is not null)
            WriteRaw(w, x);
    }

    private static void WriteArray<T>(BinaryWriter w, T[] values) where T : unmanaged
    {
        w.Write((long)values.Length);
        WriteRaw(w, values);
    }

    private static void WriteRaw<T>(BinaryWriter w, T[] values) where T : unmanaged =>
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>Reads an output file of raw <typeparamref name="T"/> values.</summary>
    public static T[] ReadOutput<T>(string path) where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(File.ReadAllBytes(path)).ToArray();
}
