namespace Peft.Net.Optim;

/// <summary>The four parameter groups of PEFT's <c>create_loraplus_optimizer</c>.</summary>
public enum LoraPlusGroup
{
    /// <summary><c>groupA</c>: lora_A and every other trainable ≥ 2-D parameter; learning rate lr, the LoRA+ weight decay.</summary>
    A,

    /// <summary><c>embedding</c>: parameters of LoRA embedding layers; the embedding learning rate (default 1e-6), the weight decay.</summary>
    Embedding,

    /// <summary><c>groupB</c>: lora_B and 1-D parameters in the decay set; lr·ratio, the weight decay.</summary>
    B,

    /// <summary><c>groupB_no_decay</c>: lora_B and 1-D parameters outside the decay set (biases, norm weights); lr·ratio, no decay.</summary>
    BNoDecay,
}
