using System.Runtime.InteropServices;
using Peft.Net.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A frozen linear layer whose weight is stored in bitsandbytes' 4-bit NF4/FP4 format (QLoRA's base layer), with the
/// same bytes as the engine's <see cref="Nf4Quantizer"/>. The state is held as TorchSharp buffers in bitsandbytes'
/// state-dict layout — <c>weight</c> (uint8 [⌈n/2⌉, 1]), <c>weight.absmax</c>, <c>weight.quant_map</c>, with double
/// quantization <c>weight.nested_absmax</c> and <c>weight.nested_quant_map</c>, and
/// <c>weight.quant_state.bitsandbytes__nf4</c> (the JSON) — plus an optional frozen <c>bias</c>. On the CPU the
/// buffers share memory with the project's <see cref="QuantizedTensor"/> (no second copy). The forward pass runs
/// through a custom autograd function that decodes the weight into a temporary float32 tensor, multiplies, and
/// frees it; the backward pass decodes it again for the input gradient, so no float copy of the weight lives
/// between or across calls, and the weight gets no gradient.
/// </summary>
public sealed class Nf4Linear : nn.Module<Tensor, Tensor>
{
    private const string WeightName = "weight";
    private QuantizedTensor _weight;
    private Tensor _packedBuffer = null!;

    /// <summary>Wraps an already quantized weight [out, in] and an optional bias [out] (copied, frozen).</summary>
    /// <exception cref="ArgumentException">The weight is not 2-D, or the bias does not fit.</exception>
    public Nf4Linear(QuantizedTensor weight, Tensor? bias = null) : base(nameof(Nf4Linear))
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Shape.Length != 2)
            throw new ArgumentException($"An Nf4Linear weight is [out, in]; got [{string.Join(", ", weight.Shape)}].", nameof(weight));
        _weight = weight;
        OutFeatures = weight.Rows;
        InFeatures = weight.Columns;
        RegisterStateBuffers();
        if (bias is not null)
        {
            if (bias.ndim != 1 || bias.shape[0] != OutFeatures)
                throw new ArgumentException($"The bias must be [{OutFeatures}]; got [{string.Join(", ", bias.shape)}].", nameof(bias));
            this.bias = new Parameter(bias.detach().to(ScalarType.Float32).clone(), requires_grad: false);
            register_parameter("bias", this.bias);
        }
    }

    /// <summary>Quantizes a TorchSharp <see cref="Linear"/>'s weight (bit-identical to the engine's <see cref="Nf4Quantizer"/>).</summary>
    /// <param name="linear">The layer to convert (left unchanged).</param>
    /// <param name="quantType">NF4 (default) or FP4.</param>
    /// <param name="blockSize">Elements per absmax block (bitsandbytes' 64 by default).</param>
    /// <param name="doubleQuant">Also quantize the absmax values (QLoRA's double quantization).</param>
    public static Nf4Linear FromLinear(Linear linear, QuantType quantType = QuantType.Nf4, int blockSize = 64, bool doubleQuant = true)
    {
        ArgumentNullException.ThrowIfNull(linear);
        var weight = TensorBridge.ToEngine(linear.weight!);
        var quantized = Nf4Quantizer.Quantize(weight, quantType, blockSize, doubleQuant);
        return new Nf4Linear(quantized, linear.bias);
    }

    /// <summary>in_features.</summary>
    public long InFeatures { get; }

    /// <summary>out_features.</summary>
    public long OutFeatures { get; }

    /// <summary>The frozen bias [out], or null.</summary>
#pragma warning disable IDE1006 // PyTorch's name
    public Parameter? bias { get; }
#pragma warning restore IDE1006

    /// <summary>The 4-bit weight as the engine's <see cref="QuantizedTensor"/> (CPU memory).</summary>
    public QuantizedTensor Weight => CurrentWeight();

    // x: (…, in) → (…, out)
    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (x.shape[^1] != InFeatures)
            throw new ArgumentException($"Nf4Linear expects inputs with {InFeatures} features in the last dimension; got [{string.Join(", ", x.shape)}].", nameof(x));
        return Nf4LinearFunction.Apply(x, this);
    }

    /// <summary>The weight decoded to a new float32 tensor [out, in] on the buffers' device.</summary>
    public Tensor DequantizeWeight()
    {
        if (_packedBuffer.device_type != DeviceType.CPU)
            return Nf4CudaPath.Dequantize(this, _packedBuffer.device);
        var weight = CurrentWeight();
        var result = torch.empty([OutFeatures, InFeatures], ScalarType.Float32);
        weight.DequantizeInto(MemoryMarshal.Cast<byte, float>(result.bytes));
        return result;
    }

    /// <summary>Re-quantizes a new dense weight [out, in] with this layer's settings (used by merging).</summary>
    public void SetDenseWeight(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.ndim != 2 || weight.shape[0] != OutFeatures || weight.shape[1] != InFeatures)
            throw new ArgumentException($"The weight must be [{OutFeatures}, {InFeatures}]; got [{string.Join(", ", weight.shape)}].", nameof(weight));
        var current = CurrentWeight();
        _weight = Nf4Quantizer.Quantize(TensorBridge.ToEngine(weight.cpu()), current.QuantType, current.BlockSize, current.IsDoubleQuantized);
        RegisterStateBuffers();
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>
    /// The CPU weight, rebuilt from the buffers when they no longer share memory with it (after <c>to(device)</c> or a
    /// <c>load_state_dict</c> that replaced them).
    /// </summary>
    private QuantizedTensor CurrentWeight()
    {
        var current = named_buffers(recurse: false).First(b => b.name == WeightName).buffer;
        if (ReferenceEquals(current, _packedBuffer) && current.device_type == DeviceType.CPU) return _weight;
        var parts = named_buffers(recurse: false).ToDictionary(b => b.name, b => TensorBridge.ToEngineRaw(b.buffer.cpu()));
        _weight = Bnb4BitSerializer.FromTensors(WeightName, parts);
        if (current.device_type == DeviceType.CPU) RegisterStateBuffers();
        return _weight;
    }

    /// <summary>(Re)registers the bitsandbytes-layout buffers as views of <see cref="_weight"/>'s arrays.</summary>
    private void RegisterStateBuffers()
    {
        foreach (var (key, part) in Bnb4BitSerializer.ToTensors(WeightName, _weight))
        {
            var buffer = TensorBridge.ShareEngineStorage(part);
            ConditionallyRegisterBuffer(key, buffer);
            if (key == WeightName) _packedBuffer = buffer;
        }
    }
}
