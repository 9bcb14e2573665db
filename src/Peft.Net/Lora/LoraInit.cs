namespace Peft.Net;

/// <summary>How a new LoRA adapter's weights are initialised (PEFT's <c>init_lora_weights</c>).</summary>
public enum LoraInit
{
    /// <summary>
    /// PEFT's default (<c>init_lora_weights=True</c>): A kaiming-uniform with a = √5, i.e. U(±1/√in), and B = 0, so the
    /// new adapter changes nothing until trained. Embedding adapters: A = 0, B ~ N(0, 1).
    /// </summary>
    Default,

    /// <summary><c>"gaussian"</c>: A ~ N(0, σ = 1/r), B = 0. Embedding adapters initialise as <see cref="Default"/>.</summary>
    Gaussian,

    /// <summary>
    /// <c>"pissa"</c>: from the thin SVD W = U·diag(S)·Vh of the base weight, with S_r = S[:r]/scaling,
    /// A = diag(√S_r)·Vh[:r], B = U[:, :r]·diag(√S_r); the base keeps the residual W − scaling·B·A. Linear layers only.
    /// The leading triplets are computed to float32 accuracy; with <see cref="Lora.LoraAdapterOptions.PissaNiter"/>
    /// (<c>init_lora_weights="pissa_niter_K"</c>, PEFT's fast PiSSA) they come from a randomized SVD with K power
    /// iterations instead, fixed by the adapter's seed.
    /// </summary>
    PiSSA,
}
