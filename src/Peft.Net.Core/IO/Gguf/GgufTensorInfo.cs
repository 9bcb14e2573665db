namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// One tensor of a GGUF file: its name, ggml dimensions (<see cref="Ne"/>, innermost first: a PyTorch shape reversed),
/// type, and where its bytes sit.
/// </summary>
/// <param name="Name">The tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Ne">ggml's ne[]: ne[0] is the contiguous dimension.</param>
/// <param name="Type">The ggml type.</param>
/// <param name="Offset">Offset of the data relative to the data section.</param>
/// <param name="ByteLength">Size of the data in bytes.</param>
public sealed record GgufTensorInfo(string Name, long[] Ne, GgmlType Type, long Offset, long ByteLength)
{
    /// <summary>Number of elements (product of <see cref="Ne"/>).</summary>
    public long ElementCount => Ne.Aggregate(1L, (a, b) => a * b);

    /// <summary>The PyTorch-order shape (ne reversed), as ints.</summary>
    public int[] Shape => Ne.Reverse().Select(n => checked((int)n)).ToArray();
}
