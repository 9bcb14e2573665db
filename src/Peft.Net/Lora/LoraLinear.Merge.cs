using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

public partial class LoraLinear
{
    private readonly Dictionary<string, double[]> _doraMergeNorms = [];   // ‖W + ΔW‖ per row at merge time, for unmerge

    /// <inheritdoc/>
    public IReadOnlyList<string> MergedAdapters => _book.Merged;

    /// <inheritdoc/>
    public Tensor GetDeltaWeight(string adapterName)
    {
        _book.Check(adapterName);
        var a = LoraA.Get<Linear>(adapterName).Weight;
        var b = LoraB.Get<Linear>(adapterName).Weight;
        var delta = Tensor.Zeros(OutFeatures, InFeatures);
        // ΔW[N,K] = scaling · B[N,R] · A[R,K]
        Gemm.Multiply(b.AsSpan(), false, a.AsSpan(), false, delta.AsSpan(), OutFeatures, InFeatures, a.Dim(0), accumulate: false);
        TensorPrimitives.Multiply(delta.AsSpan(), _book[adapterName].Scaling, delta.AsSpan());
        return delta;
    }

    /// <inheritdoc/>
    public void Merge(IReadOnlyList<string>? adapterNames = null)
    {
        var names = _book.ToMerge(adapterNames);
        if (names.Count == 0) return;
        foreach (var name in names)
            if (GetLoraBias(name) is not null && Bias is null)
                throw new InvalidOperationException(
                    $"Adapter '{name}' has a lora_B bias (lora_bias) but this layer's base has no bias to merge it into (PEFT cannot merge it either); keep the adapter unmerged.");
        var weight = Base.GetDenseWeight();
        var w = weight.AsSpan();
        foreach (var name in names)
        {
            var delta = GetDeltaWeight(name).AsSpan();
            if (!_book[name].UseDora)
            {
                TensorPrimitives.Add(w, delta, w);
            }
            else
            {
                // W' = (m / ‖W + ΔW‖) ⊙ (W + ΔW), the norm kept for unmerge
                TensorPrimitives.Add(w, delta, w);
                var norms = DoraWeightNorm.RowNorms(w, OutFeatures, InFeatures);
                var m = Magnitudes.Get<DoraMagnitudeVector>(name).Weight.AsSpan();
                for (int o = 0; o < OutFeatures; o++)
                    TensorPrimitives.Multiply(w.Slice(o * InFeatures, InFeatures), (float)(m[o] / norms[o]), w.Slice(o * InFeatures, InFeatures));
                _doraMergeNorms[name] = norms;
            }
            AddLoraBias(name, +1f);
            _book.Merged.Add(name);
        }
        Base.SetDenseWeight(weight);
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        var merged = _book.Merged;
        if (merged.Count == 0) return;
        var weight = Base.GetDenseWeight();
        var w = weight.AsSpan();
        for (int i = merged.Count - 1; i >= 0; i--)
        {
            var name = merged[i];
            var delta = GetDeltaWeight(name).AsSpan();
            if (_book[name].UseDora)
            {
                // W = W' / (m / n) − ΔW
                var norms = _doraMergeNorms[name];
                var m = Magnitudes.Get<DoraMagnitudeVector>(name).Weight.AsSpan();
                for (int o = 0; o < OutFeatures; o++)
                    TensorPrimitives.Multiply(w.Slice(o * InFeatures, InFeatures), (float)(norms[o] / m[o]), w.Slice(o * InFeatures, InFeatures));
                _doraMergeNorms.Remove(name);
            }
            TensorPrimitives.Subtract(w, delta, w);
            AddLoraBias(name, -1f);
        }
        merged.Clear();
        Base.SetDenseWeight(weight);
    }

    // base bias [out] += sign · scaling · lora_B bias [out] (PEFT's merge of lora_bias)
    private void AddLoraBias(string name, float sign)
    {
        if (GetLoraBias(name) is not { } loraBias) return;
        var bias = Bias!;
        if (bias.DType != DType.F32)
            throw new NotSupportedException($"Merging lora_bias needs an F32 base bias; this layer's bias is {bias.DType}.");
        var target = bias.AsSpan();
        var add = loraBias.AsSpan();
        float s = sign * _book[name].Scaling;
        for (int i = 0; i < target.Length; i++) target[i] += s * add[i];
    }

    /// <inheritdoc/>
    public Tensor GetDenseWeight() => Base.GetDenseWeight();

    /// <inheritdoc/>
    public void SetDenseWeight(Tensor weight) => Base.SetDenseWeight(weight);
}
