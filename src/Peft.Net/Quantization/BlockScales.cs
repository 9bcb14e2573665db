using System.Runtime.CompilerServices;

namespace Peft.Net.Quantization;

/// <summary>
/// The float32 absmax of each block of a <see cref="QuantizedTensor"/>, read directly or decoded from the nested
/// state on demand (two float32 operations per block), so double-quantized weights never hold a float copy.
/// </summary>
internal readonly struct BlockScales
{
    private readonly float[]? _absmax;
    private readonly byte[]? _codes;
    private readonly float[]? _nestedAbsmax;
    private readonly float[]? _map;
    private readonly float _offset;
    private readonly int _nestedBlockSize;

    public BlockScales(QuantizedTensor tensor)
    {
        _absmax = tensor.Absmax;
        _codes = tensor.QuantizedAbsmax;
        _nestedAbsmax = tensor.NestedAbsmax;
        _map = tensor.NestedQuantMap;
        _offset = tensor.Offset;
        _nestedBlockSize = tensor.NestedBlockSize;
    }

    /// <summary>absmax[block], or fl32(fl32(map[q] · absmax2) + offset) when double-quantized.</summary>
    public float this[int block]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _absmax is not null
            ? _absmax[block]
            : DoubleQuantReference.DequantizeOne(_codes, _nestedAbsmax, _map, _offset, _nestedBlockSize, block);
    }
}
