using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Core.IO;

namespace Peft.Net.Quantization;

/// <summary>
/// Reads and writes <see cref="QuantizedTensor"/>s in bitsandbytes' safetensors key layout (<c>Linear4bit</c>'s state
/// dict, nf4-format.md §6), so 4-bit checkpoints move both ways between Peft.Net and Python:
/// <list type="bullet">
/// <item><c>&lt;name&gt;</c>: U8 [ceil(n/2), 1], the packed nibbles;</item>
/// <item><c>&lt;name&gt;.absmax</c>: F32 [nb], or U8 [nb] codes when double-quantized;</item>
/// <item><c>&lt;name&gt;.quant_map</c>: F32 [16], the code book;</item>
/// <item><c>&lt;name&gt;.nested_absmax</c>: F32 [ceil(nb/256)] and <c>&lt;name&gt;.nested_quant_map</c>: F32 [256]
/// (double-quantized only);</item>
/// <item><c>&lt;name&gt;.quant_state.bitsandbytes__nf4</c> (or <c>__fp4</c>): U8 bytes of the JSON
/// <c>{"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [out, in], "nested_blocksize": 256,
/// "nested_dtype": "float32", "nested_offset": …}</c>, byte-identical to bitsandbytes' <c>json.dumps</c> output.</item>
/// </list>
/// A tensor is recognised as quantized by the presence of its quant_state key. Reading validates every part against
/// the JSON and throws an exception naming the file (or state dict) and tensor.
/// </summary>
public static class Bnb4BitSerializer
{
    /// <summary>What follows a tensor's name in the key of its quant_state JSON, before the quant type.</summary>
    public const string QuantStateInfix = ".quant_state.bitsandbytes__";

    /// <summary>Suffix of the absmax key.</summary>
    public const string AbsmaxSuffix = ".absmax";

    /// <summary>Suffix of the code book key.</summary>
    public const string QuantMapSuffix = ".quant_map";

    /// <summary>Suffix of the nested absmax key (double quantization).</summary>
    public const string NestedAbsmaxSuffix = ".nested_absmax";

    /// <summary>Suffix of the nested map key (double quantization).</summary>
    public const string NestedQuantMapSuffix = ".nested_quant_map";

    /// <summary>
    /// The tensors that store <paramref name="tensor"/> under <paramref name="name"/>, in the order above. The packed
    /// data, absmax and maps are wrapped, not copied.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> ToTensors(string name, QuantizedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tensor);
        var state = Bnb4BitQuantState.Of(tensor);
        var parts = new List<KeyValuePair<string, Tensor>>(6)
        {
            new(name, Tensor.Wrap(tensor.Packed, tensor.Packed.Length, 1)),
            tensor.IsDoubleQuantized
                ? new(name + AbsmaxSuffix, Tensor.Wrap(tensor.QuantizedAbsmax!, tensor.QuantizedAbsmax!.Length))
                : new(name + AbsmaxSuffix, Tensor.Wrap(tensor.Absmax!, tensor.Absmax!.Length)),
            new(name + QuantMapSuffix, Tensor.Wrap(tensor.QuantMap, tensor.QuantMap.Length)),
        };
        if (tensor.IsDoubleQuantized)
        {
            parts.Add(new(name + NestedAbsmaxSuffix, Tensor.Wrap(tensor.NestedAbsmax!, tensor.NestedAbsmax!.Length)));
            parts.Add(new(name + NestedQuantMapSuffix, Tensor.Wrap(tensor.NestedQuantMap!, tensor.NestedQuantMap!.Length)));
        }
        byte[] json = state.ToJsonBytes();
        parts.Add(new(QuantStateKey(name, tensor.QuantType), Tensor.Wrap(json, json.Length)));
        return parts;
    }

    /// <summary>
    /// The declarations (name, dtype, shape) of the tensors <see cref="ToTensors"/> would produce for a tensor of
    /// <paramref name="shape"/> and <paramref name="originalDType"/>, without quantizing it, so a streaming writer can
    /// write the header first. The quant_state's length depends on the nested offset: pass the one
    /// <see cref="Nf4Quantizer.DoubleQuantOffset"/> computes, or null when not double-quantizing.
    /// </summary>
    public static IReadOnlyList<SafetensorsTensorSpec> PlanSpecs(string name, int[] shape, DType originalDType,
        QuantType quantType, int blockSize, float? nestedOffset)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long n = shape.Aggregate(1L, (count, d) => count * d);
        int nb = checked((int)((n + blockSize - 1) / blockSize));
        bool nested = nestedOffset is not null;
        var specs = new List<SafetensorsTensorSpec>(6)
        {
            new(name, DType.U8, [checked((int)((n + 1) / 2)), 1]),
            new(name + AbsmaxSuffix, nested ? DType.U8 : DType.F32, [nb]),
            new(name + QuantMapSuffix, DType.F32, [16]),
        };
        if (nested)
        {
            specs.Add(new(name + NestedAbsmaxSuffix, DType.F32, [(nb + DoubleQuantReference.NestedBlockSize - 1) / DoubleQuantReference.NestedBlockSize]));
            specs.Add(new(name + NestedQuantMapSuffix, DType.F32, [DynamicMap8.Size]));
        }
        var state = new Bnb4BitQuantState(quantType, blockSize, originalDType, (int[])shape.Clone(), nested, nestedOffset ?? 0f);
        specs.Add(new(QuantStateKey(name, quantType), DType.U8, [state.ToJsonBytes().Length]));
        return specs;
    }

    /// <summary>The key of the quant_state JSON of <paramref name="name"/>: <c>&lt;name&gt;.quant_state.bitsandbytes__nf4</c> or <c>__fp4</c>.</summary>
    public static string QuantStateKey(string name, QuantType quantType) => name + QuantStateInfix + Bnb4BitQuantState.QuantTypeName(quantType);

    /// <summary>
    /// The names of the quantized tensors among <paramref name="keys"/> (those with a quant_state key, whatever quant
    /// type it names), in order of appearance.
    /// </summary>
    public static IReadOnlyList<string> FindQuantizedTensors(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            int at = key.LastIndexOf(QuantStateInfix, StringComparison.Ordinal);
            if (at > 0 && seen.Add(key[..at])) names.Add(key[..at]);
        }
        return names;
    }

    /// <summary>
    /// Reads the layout of quantized tensor <paramref name="name"/> from <paramref name="file"/>'s header and quant_state
    /// JSON, checking every part's dtype and shape against it.
    /// </summary>
    /// <exception cref="SafetensorsFormatException">A part is missing, has the wrong dtype or length, the quant type is
    /// unknown, or the JSON is malformed or disagrees with the tensors; the message names the file and tensor.</exception>
    public static Bnb4BitTensorInfo ReadInfo(SafetensorsFile file, string name)
    {
        ArgumentNullException.ThrowIfNull(file);
        var source = new FilePartSource(file);
        var (state, keys) = ReadLayout(source, name);
        return new Bnb4BitTensorInfo(name, state.QuantType, state.BlockSize, state.Shape, state.DType, state.IsNested, keys);
    }

    /// <summary>Reads quantized tensor <paramref name="name"/> from <paramref name="file"/>, validating every part.</summary>
    /// <exception cref="SafetensorsFormatException">The layout is invalid (see <see cref="ReadInfo"/>), or the quant_map
    /// is not the standard table, or the nested map is not ascending; the message names the file and tensor.</exception>
    public static QuantizedTensor Read(SafetensorsFile file, string name)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Read(new FilePartSource(file), name);
    }

    /// <summary>
    /// Rebuilds quantized tensor <paramref name="name"/> from a state dict holding its parts (as
    /// <see cref="ToTensors"/> or <c>Safetensors.Load</c> give them). The data is copied.
    /// </summary>
    /// <exception cref="ArgumentException">A part is missing or invalid; the message names the tensor.</exception>
    public static QuantizedTensor FromTensors(string name, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Read(new DictionaryPartSource(tensors), name);
    }

    private static QuantizedTensor Read(PartSource source, string name)
    {
        var (state, _) = ReadLayout(source, name);
        byte[] packed = source.ReadBytes(name);
        byte[] absmaxBytes = source.ReadBytes(name + AbsmaxSuffix);
        float[] quantMap = source.ReadFloats(name + QuantMapSuffix);
        try
        {
            if (!state.IsNested)
                return QuantizedTensor.FromParts(state.QuantType, state.BlockSize, state.Shape, state.DType, packed,
                    MemoryMarshal.Cast<byte, float>(absmaxBytes).ToArray(), quantMap: quantMap);
            return QuantizedTensor.FromParts(state.QuantType, state.BlockSize, state.Shape, state.DType, packed, null,
                absmaxBytes, source.ReadFloats(name + NestedAbsmaxSuffix), source.ReadFloats(name + NestedQuantMapSuffix),
                state.NestedOffset, state.NestedBlockSize, quantMap);
        }
        catch (ArgumentException e)
        {
            throw source.Error(name, e.Message);
        }
    }

    private static (Bnb4BitQuantState State, IReadOnlyList<string> Keys) ReadLayout(PartSource source, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string prefix = name + QuantStateInfix;
        var stateKeys = source.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (stateKeys.Count == 0)
            throw source.Error(name, $"no quant_state key ('{prefix}nf4' or '{prefix}fp4'): not a bitsandbytes 4-bit tensor");
        if (stateKeys.Count > 1)
            throw source.Error(name, $"several quant_state keys: {string.Join(", ", stateKeys)}");
        string stateKey = stateKeys[0];
        QuantType keyType = stateKey[prefix.Length..] switch
        {
            "nf4" => QuantType.Nf4,
            "fp4" => QuantType.Fp4,
            var other => throw source.Error(stateKey, $"unknown quant type '{other}' (bitsandbytes 4-bit tensors are nf4 or fp4)"),
        };
        var (stateDType, stateShape) = source.Describe(stateKey) ?? throw source.Error(stateKey, "missing");
        if (stateDType != "U8" || stateShape.Length != 1)
            throw source.Error(stateKey, $"is {stateDType} [{string.Join(", ", stateShape)}]; a quant_state is U8 [length] (UTF-8 JSON)");
        var state = Bnb4BitQuantState.Parse(source.ReadBytes(stateKey), keyType, problem => source.Error(stateKey, problem));

        long n = state.Shape.Aggregate(1L, (count, d) => count * d);
        long nb = (n + state.BlockSize - 1) / state.BlockSize;
        string what = $"the quant_state's shape [{string.Join(", ", state.Shape)}] with blocksize {state.BlockSize}";
        Expect(source, name, "U8", [(n + 1) / 2, 1], $"packed data: {what} needs ceil(n/2) = {(n + 1) / 2} bytes");
        Expect(source, name + AbsmaxSuffix, state.IsNested ? "U8" : "F32", [nb],
            $"absmax: {what} needs nb = {nb} {(state.IsNested ? "8-bit codes (double-quantized)" : "float32 values")}");
        Expect(source, name + QuantMapSuffix, "F32", [16], "quant_map: 16 float32 code values");
        var keys = new List<string> { name, name + AbsmaxSuffix, name + QuantMapSuffix };
        if (state.IsNested)
        {
            long groups = (nb + state.NestedBlockSize - 1) / state.NestedBlockSize;
            Expect(source, name + NestedAbsmaxSuffix, "F32", [groups], $"nested absmax: nb = {nb} needs ceil(nb/256) = {groups} float32 values");
            Expect(source, name + NestedQuantMapSuffix, "F32", [DynamicMap8.Size], "nested quant map: 256 float32 values");
            keys.Add(name + NestedAbsmaxSuffix);
            keys.Add(name + NestedQuantMapSuffix);
        }
        else
        {
            foreach (string nestedKey in new[] { name + NestedAbsmaxSuffix, name + NestedQuantMapSuffix })
                if (source.Describe(nestedKey) is not null)
                    throw source.Error(nestedKey, "present, but the quant_state has no nested_* items (not double-quantized)");
        }
        keys.Add(stateKey);
        return (state, keys);
    }

    private static void Expect(PartSource source, string key, string dtype, long[] shape, string expected)
    {
        var found = source.Describe(key) ?? throw source.Error(key, $"missing; expected {dtype} [{string.Join(", ", shape)}] ({expected})");
        if (found.DType != dtype || !found.Shape.Select(d => (long)d).SequenceEqual(shape))
            throw source.Error(key, $"is {found.DType} [{string.Join(", ", found.Shape)}]; expected {dtype} [{string.Join(", ", shape)}] ({expected})");
    }

    /// <summary>Where the parts come from: a safetensors file or a state dict.</summary>
    private abstract class PartSource
    {
        public abstract IEnumerable<string> Keys { get; }

        /// <summary>The part's dtype name (safetensors spelling) and shape, or null when it is absent.</summary>
        public abstract (string DType, int[] Shape)? Describe(string key);

        public abstract byte[] ReadBytes(string key);

        public float[] ReadFloats(string key) => MemoryMarshal.Cast<byte, float>(ReadBytes(key)).ToArray();

        public abstract Exception Error(string key, string problem);
    }

    private sealed class FilePartSource(SafetensorsFile file) : PartSource
    {
        public override IEnumerable<string> Keys => file.Entries.Select(e => e.Name);

        public override (string DType, int[] Shape)? Describe(string key) =>
            file.TryGetEntry(key, out var entry) ? (entry.DTypeName, entry.ShapeArray()) : null;

        public override byte[] ReadBytes(string key) => file.ReadBytes(key);

        public override Exception Error(string key, string problem) => new SafetensorsFormatException(file.FilePath, key, problem);
    }

    private sealed class DictionaryPartSource(IReadOnlyDictionary<string, Tensor> tensors) : PartSource
    {
        public override IEnumerable<string> Keys => tensors.Keys;

        public override (string DType, int[] Shape)? Describe(string key) =>
            tensors.TryGetValue(key, out var t) ? (SafetensorsName(t.DType), t.ShapeArray()) : null;

        public override byte[] ReadBytes(string key)
        {
            return AsByteSpan(tensors[key]).ToArray();
        }

        public override Exception Error(string key, string problem) => new ArgumentException($"State tensor '{key}': {problem}.");

        private static ReadOnlySpan<byte> AsByteSpan(Tensor t) => t.DType switch
        {
            DType.U8 => t.AsSpan<byte>(),
            DType.F32 => MemoryMarshal.AsBytes<float>(t.AsSpan()),
            _ => throw new ArgumentException($"State tensor '{t.Name}' is {t.DType}; 4-bit parts are U8 or F32."),
        };

        private static string SafetensorsName(DType dtype) => dtype switch
        {
            DType.F32 => "F32",
            DType.F16 => "F16",
            DType.BF16 => "BF16",
            DType.U8 => "U8",
            DType.I8 => "I8",
            DType.I32 => "I32",
            DType.I64 => "I64",
            DType.Bool => "BOOL",
            _ => dtype.ToString(),
        };
    }
}
