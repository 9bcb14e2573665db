using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static partial class AttentionKernels
{
    /// <summary>
    /// The arguments of one parallel forward call; item i runs <see cref="ForwardItem{TV}"/>. One instance per
    /// calling thread and register width is refilled for each call (<see cref="Rent"/>), so a call allocates nothing.
    /// </summary>
    private sealed class ForwardWork<TV> : IParallelWork where TV : struct, IFloatVector<TV>
    {
        [ThreadStatic] private static ForwardWork<TV>? t_cached;

        public ReadOnlyMemory<float> Q, K, V;
        public Memory<float> Output, LogSumExp;
        public AttentionShape Shape;
        /// <summary>Items per kv head (splits of its query tiles), or with <see cref="Decode"/> kv-head ranges per batch row.</summary>
        public int Splits;
        /// <summary>A decode step: item i runs <see cref="DecodeItem{TV}"/>.</summary>
        public bool Decode;
        private bool _inUse;

        /// <summary>This thread's cached instance, or a fresh one while the cached one is running a call.</summary>
        public static ForwardWork<TV> Rent()
        {
            var work = t_cached ??= new ForwardWork<TV>();
            if (work._inUse) work = new ForwardWork<TV>();
            work._inUse = true;
            return work;
        }

        /// <summary>Drops the buffers (so the cache keeps no tensor alive) and frees the instance.</summary>
        public void Return()
        {
            Q = K = V = default;
            Output = LogSumExp = default;
            _inUse = false;
        }

        public void Execute(int index)
        {
            if (Decode) DecodeItem(this, index);
            else ForwardItem(this, index);
        }
    }

    /// <summary>The arguments of one parallel backward call; item i runs <see cref="BackwardItem{TV}"/>. Cached as <see cref="ForwardWork{TV}"/>.</summary>
    private sealed class BackwardWork<TV> : IParallelWork where TV : struct, IFloatVector<TV>
    {
        [ThreadStatic] private static BackwardWork<TV>? t_cached;

        public ReadOnlyMemory<float> Q, K, V, Output, LogSumExp, DOutput;
        public Memory<float> Dq, Dk, Dv;
        /// <summary>Per (kv head, split) dK and dV of (Tk, D) when a kv head is split; null when written in place.</summary>
        public float[]? PartialK, PartialV;
        public AttentionShape Shape;
        public int Splits;
        /// <summary>dq, dk and dv are written, not added to: each item zeroes its rows before it adds into them.</summary>
        public bool Overwrite;
        private bool _inUse;

        /// <summary>This thread's cached instance, or a fresh one while the cached one is running a call.</summary>
        public static BackwardWork<TV> Rent()
        {
            var work = t_cached ??= new BackwardWork<TV>();
            if (work._inUse) work = new BackwardWork<TV>();
            work._inUse = true;
            return work;
        }

        /// <summary>Drops the buffers (so the cache keeps no tensor alive) and frees the instance.</summary>
        public void Return()
        {
            Q = K = V = Output = LogSumExp = DOutput = default;
            Dq = Dk = Dv = default;
            PartialK = PartialV = null;
            _inUse = false;
        }

        public void Execute(int index) => BackwardItem(this, index);
    }
}
