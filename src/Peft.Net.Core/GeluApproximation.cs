namespace Peft.Net.Core;

/// <summary>Which GELU formula to use (PyTorch's <c>approximate</c> argument).</summary>
public enum GeluApproximation
{
    /// <summary>The exact x·Φ(x) with the normal distribution function (PyTorch <c>approximate='none'</c>).</summary>
    None,

    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch <c>approximate='tanh'</c>, GPT-2's "gelu_new").</summary>
    Tanh,
}
