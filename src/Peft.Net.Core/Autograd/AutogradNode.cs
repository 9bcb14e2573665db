namespace Peft.Net.Core.Autograd;

/// <summary>
/// Computes the gradients of an operation's inputs from the gradient of its output.
/// Implementations accumulate (+=) into <see cref="Tensor.GradBuffer"/> of every input that requires a gradient.
/// </summary>
/// <param name="outputGrad">Gradient of the loss with respect to the operation's output (same shape, F32).</param>
internal delegate void BackwardFunction(Tensor outputGrad);

/// <summary>One recorded operation on the tape: its inputs and how to push a gradient back into them.</summary>
internal sealed class AutogradNode(string operation, Tensor[] inputs, BackwardFunction backward)
{
    /// <summary>Operation name, for error messages and debugging.</summary>
    public string Operation { get; } = operation;

    /// <summary>The tensors the operation read (only those that may need gradients matter).</summary>
    public Tensor[] Inputs { get; } = inputs;

    /// <summary>The backward function.</summary>
    public BackwardFunction Backward { get; } = backward;
}
