using System.Runtime.InteropServices;
using TorchSharp;
using EngineTensor = Peft.Net.Core.Tensor;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>Moves tensors between the engine (<see cref="EngineTensor"/>) and TorchSharp, for the shared NF4 and file code.</summary>
internal static class TensorBridge
{
    /// <summary>A float32 engine copy of any floating TorchSharp tensor (moved to the CPU first).</summary>
    public static EngineTensor ToEngine(Tensor tensor)
    {
        using var cpu = tensor.detach().to(ScalarType.Float32, CPU).contiguous();
        var values = MemoryMarshal.Cast<byte, float>(cpu.bytes).ToArray();
        return EngineTensor.Wrap(values, cpu.shape.Select(checked_int).ToArray());
    }

    /// <summary>An engine copy keeping the element type (uint8 or float32), for bitsandbytes state parts.</summary>
    public static EngineTensor ToEngineRaw(Tensor tensor)
    {
        using var cpu = tensor.detach().cpu().contiguous();
        int[] shape = cpu.shape.Select(checked_int).ToArray();
        return cpu.dtype switch
        {
            ScalarType.Byte => EngineTensor.Wrap(cpu.bytes.ToArray(), shape),
            ScalarType.Float32 => EngineTensor.Wrap(MemoryMarshal.Cast<byte, float>(cpu.bytes).ToArray(), shape),
            var other => throw new ArgumentException($"A bitsandbytes state tensor is uint8 or float32; got {other}."),
        };
    }

    /// <summary>A TorchSharp tensor that shares the memory of an engine tensor's array (uint8 or float32).</summary>
    public static Tensor ShareEngineStorage(EngineTensor tensor)
    {
        long[] shape = tensor.ShapeArray().Select(d => (long)d).ToArray();
        var type = tensor.Storage switch
        {
            byte[] => ScalarType.Byte,
            float[] => ScalarType.Float32,
            var other => throw new ArgumentException($"Cannot share an engine tensor stored as {other.GetType().Name}."),
        };
        return torch.frombuffer(tensor.Storage, type, tensor.Count, tensor.Offset).view(shape);
    }

    /// <summary>A new TorchSharp float32 tensor with an engine tensor's values and shape.</summary>
    public static Tensor FromEngine(EngineTensor tensor)
    {
        var values = tensor.ToArray();
        return torch.tensor(values, tensor.ShapeArray().Select(d => (long)d).ToArray());
    }

    private static int checked_int(long d) => checked((int)d);
}
