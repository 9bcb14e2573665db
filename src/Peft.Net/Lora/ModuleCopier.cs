using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// Deep copies of the layer types that <c>modules_to_save</c> can train: a new module of the same type and
/// hyper-parameters whose parameters are F32 copies of the original's (F16/BF16 storage is widened).
/// </summary>
internal static class ModuleCopier
{
    /// <exception cref="NotSupportedException">The module is of a type Peft.Net cannot copy; the message names it.</exception>
    public static Module Copy(Module original, string path)
    {
        Module copy = original switch
        {
            Linear l => new Linear(l.InFeatures, l.OutFeatures, l.Bias is not null),
            Embedding e => new Embedding(e.NumEmbeddings, e.EmbeddingDim),
            RmsNorm n => new RmsNorm(n.Dim, n.Eps),
            LayerNorm n => new LayerNorm(n.Dim, n.Eps, n.Weight is not null, n.Bias is not null),
            _ => throw new NotSupportedException(
                $"modules_to_save: module '{path}' is a {original.GetType().Name}; Peft.Net can copy Linear, Embedding, RmsNorm and LayerNorm modules."),
        };
        using (Tensor.NoGrad())
            copy.LoadStateDict(original.StateDict());
        copy.RequiresGrad(true);
        copy.Train(original.IsTraining);
        return copy;
    }
}
