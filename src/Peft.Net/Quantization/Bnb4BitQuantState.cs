using System.Globalization;
using System.Text;
using System.Text.Json;
using Peft.Net.Core;

namespace Peft.Net.Quantization;

/// <summary>
/// The non-tensor items of a bitsandbytes <c>QuantState</c>, stored as the UTF-8 JSON bytes of
/// <c>&lt;name&gt;.quant_state.bitsandbytes__nf4</c> (or <c>__fp4</c>): quant_type, blocksize, dtype, shape and, when
/// double-quantized, nested_blocksize, nested_dtype and nested_offset (nf4-format.md §6).
/// </summary>
/// <param name="QuantType">NF4 or FP4.</param>
/// <param name="BlockSize">Elements per absmax.</param>
/// <param name="DType">The original tensor's dtype (F32, F16 or BF16).</param>
/// <param name="Shape">The original tensor's shape.</param>
/// <param name="IsNested">Whether the absmax are double-quantized.</param>
/// <param name="NestedOffset">The nested offset (0 when not nested).</param>
/// <param name="NestedBlockSize">The nested blocksize (256).</param>
internal sealed record Bnb4BitQuantState(QuantType QuantType, int BlockSize, DType DType, int[] Shape, bool IsNested,
    float NestedOffset, int NestedBlockSize = DoubleQuantReference.NestedBlockSize)
{
    /// <summary>The state of <paramref name="tensor"/>.</summary>
    public static Bnb4BitQuantState Of(QuantizedTensor tensor) =>
        new(tensor.QuantType, tensor.BlockSize, tensor.OriginalDType, tensor.Shape, tensor.IsDoubleQuantized, tensor.Offset);

    /// <summary>"nf4" or "fp4", as bitsandbytes spells the quant type.</summary>
    public static string QuantTypeName(QuantType type) => type == QuantType.Nf4 ? "nf4" : "fp4";

    /// <summary>
    /// The JSON exactly as bitsandbytes' <c>pack_dict_to_tensor</c> writes it (<c>json.dumps</c> with its default
    /// separators, keys in <c>QuantState.as_dict</c> order, nested_offset as Python's repr of the float32 widened to
    /// double), encoded as UTF-8.
    /// </summary>
    public byte[] ToJsonBytes()
    {
        var json = new StringBuilder(192);
        json.Append("{\"quant_type\": \"").Append(QuantTypeName(QuantType)).Append("\", ");
        json.Append("\"blocksize\": ").Append(BlockSize.ToString(CultureInfo.InvariantCulture)).Append(", ");
        json.Append("\"dtype\": \"").Append(TorchName(DType)).Append("\", ");
        json.Append("\"shape\": [").Append(string.Join(", ", Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))).Append(']');
        if (IsNested)
        {
            json.Append(", \"nested_blocksize\": ").Append(NestedBlockSize.ToString(CultureInfo.InvariantCulture));
            json.Append(", \"nested_dtype\": \"float32\"");
            json.Append(", \"nested_offset\": ").Append(PythonFloatFormat.Repr(NestedOffset));
        }
        json.Append('}');
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    /// <summary>
    /// Parses and checks the JSON of a quant_state tensor whose key names <paramref name="keyQuantType"/>.
    /// Unknown keys are ignored, as bitsandbytes' <c>QuantState.from_dict</c> does.
    /// </summary>
    /// <param name="utf8">The tensor's bytes.</param>
    /// <param name="keyQuantType">The quant type the key's suffix names.</param>
    /// <param name="error">Makes the exception to throw from a problem description.</param>
    public static Bnb4BitQuantState Parse(ReadOnlySpan<byte> utf8, QuantType keyQuantType, Func<string, Exception> error)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
            throw error("the quant_state is not valid UTF-8");
        try
        {
            return ParseJson(utf8, keyQuantType, error);
        }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
        {
            // A string escape that is not valid UTF-16 (an unpaired surrogate such as "\ud800") fails only when read.
            throw error($"the quant_state JSON holds a string that is not valid Unicode ({e.Message})");
        }
    }

    private static Bnb4BitQuantState ParseJson(ReadOnlySpan<byte> utf8, QuantType keyQuantType, Func<string, Exception> error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray());
        }
        catch (JsonException e)
        {
            throw error($"the quant_state is not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw error($"the quant_state JSON is a {root.ValueKind}, not an object");

            string quantType = RequiredString(root, "quant_type", error);
            if (quantType != QuantTypeName(keyQuantType))
                throw error($"the quant_state says quant_type \"{quantType}\" but its key says {QuantTypeName(keyQuantType)}");
            int blockSize = RequiredInt(root, "blocksize", error);
            if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
                throw error($"blocksize {blockSize} is not one bitsandbytes uses ({string.Join(", ", QuantizedTensor.SupportedBlockSizes)})");
            string dtypeName = RequiredString(root, "dtype", error);
            var dtype = ParseTorchName(dtypeName) ?? throw error($"dtype \"{dtypeName}\" is not float32, float16 or bfloat16");
            if (!root.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
                throw error("the quant_state has no \"shape\" list");
            var shape = new int[shapeElement.GetArrayLength()];
            int i = 0;
            foreach (var d in shapeElement.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                    throw error($"shape entry {i} ({d.GetRawText()}) is not a non-negative integer");
                i++;
            }

            bool hasBlock = root.TryGetProperty("nested_blocksize", out _);
            bool hasDtype = root.TryGetProperty("nested_dtype", out _);
            bool hasOffset = root.TryGetProperty("nested_offset", out var offsetElement);
            if (!hasBlock && !hasDtype && !hasOffset)
                return new Bnb4BitQuantState(keyQuantType, blockSize, dtype, shape, false, 0f);
            if (!(hasBlock && hasDtype && hasOffset))
                throw error("the quant_state has only some of nested_blocksize, nested_dtype and nested_offset");
            int nestedBlockSize = RequiredInt(root, "nested_blocksize", error);
            if (nestedBlockSize != DoubleQuantReference.NestedBlockSize)
                throw error($"nested_blocksize {nestedBlockSize} is not supported (bitsandbytes uses 256)");
            string nestedDtype = RequiredString(root, "nested_dtype", error);
            if (nestedDtype != "float32")
                throw error($"nested_dtype \"{nestedDtype}\" is not supported (bitsandbytes uses float32)");
            if (offsetElement.ValueKind != JsonValueKind.Number || !offsetElement.TryGetDouble(out double offset) || !double.IsFinite((float)offset))
                throw error($"nested_offset ({offsetElement.GetRawText()}) is not a finite float32 number");
            // A float32 printed as a double: the cast back is exact (nf4-format.md §6).
            return new Bnb4BitQuantState(keyQuantType, blockSize, dtype, shape, true, (float)offset, nestedBlockSize);
        }
    }

    /// <summary>torch's dtype name without "torch.": float32, float16, bfloat16.</summary>
    public static string TorchName(DType dtype) => dtype switch
    {
        DType.F32 => "float32",
        DType.F16 => "float16",
        DType.BF16 => "bfloat16",
        _ => throw new ArgumentException($"A 4-bit tensor's original dtype is F32, F16 or BF16, not {dtype}.", nameof(dtype)),
    };

    private static DType? ParseTorchName(string name) => name switch
    {
        "float32" => DType.F32,
        "float16" => DType.F16,
        "bfloat16" => DType.BF16,
        _ => null,
    };

    private static string RequiredString(JsonElement root, string key, Func<string, Exception> error) =>
        root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw error($"the quant_state has no \"{key}\" string");

    private static int RequiredInt(JsonElement root, string key, Func<string, Exception> error) =>
        root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw error($"the quant_state has no integer \"{key}\"");
}
