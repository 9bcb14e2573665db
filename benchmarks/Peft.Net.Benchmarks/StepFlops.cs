using Peft.Net.Models;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The floating-point operations of one LoRA training step of a Llama-style model with an adapter of rank r on every
/// decoder linear layer (<c>all-linear</c>: q, k, v, o, gate, up, down) and a frozen head, counted from the shapes as
/// docs/performance.md §2 does (64.5 GFLOP for the <c>bench train</c> default shape):
/// <list type="bullet">
/// <item>forward products of the decoder's linear layers and the head: 2 · tokens · parameters;</item>
/// <item>their input gradients, the same, less layer 0's q/k/v (their input, the normed embedding, needs none);</item>
/// <item>causal attention: 2 products forward and 5 backward (flash-style, the scores recomputed), each
/// 2 · B · H · T(T+1)/2 · D;</item>
/// <item>the rank-r products: x·Aᵀ and u·Bᵀ forward, four backward, 2 · tokens · r · (in + out) each pair.</item>
/// </list>
/// </summary>
internal static class StepFlops
{
    public static (double Total, double Linear, double InputGradients, double Attention, double LowRank) Of(
        LlamaConfig config, int batch, int seq, int rank)
    {
        double tokens = (double)batch * seq;
        long dim = config.HiddenSize, ffn = config.IntermediateSize, layers = config.NumHiddenLayers;
        long headDim = dim / config.NumAttentionHeads, kvDim = headDim * config.KeyValueHeads;
        long attentionParams = dim * dim + 2 * dim * kvDim + dim * dim;   // q, k, v, o
        long mlpParams = 3 * dim * ffn;                                    // gate, up, down
        long head = (long)config.VocabSize * dim;
        double linear = 2 * tokens * ((attentionParams + mlpParams) * layers + head);
        double inputGradients = linear - 2 * tokens * (dim * dim + 2 * dim * kvDim);   // layer 0's q, k, v need none
        double causalPairs = seq * (seq + 1) / 2.0;
        double attentionProduct = 2.0 * batch * config.NumAttentionHeads * causalPairs * headDim;
        double attention = (2 + 5) * attentionProduct * layers;
        // in + out features of every adapted layer: q, k, v, o, gate, up, down
        long adaptedSides = (dim + dim) + 2 * (dim + kvDim) + (dim + dim) + 2 * (dim + ffn) + (ffn + dim);
        double lowRank = 3 * 2 * tokens * rank * adaptedSides * layers;   // 2 products forward, 4 backward
        return (linear + inputGradients + attention + lowRank, linear, inputGradients, attention, lowRank);
    }
}
