namespace Peft.Net.Core.Nn;

/// <summary>
/// Inverted dropout (PyTorch's <c>nn.Dropout</c>): in training mode each element is zeroed with probability
/// <see cref="P"/> and the rest scaled by 1/(1 − p); in eval mode the input passes through unchanged.
/// </summary>
public sealed class Dropout : Module
{
    private readonly TensorRandom _random;

    /// <summary>Creates a dropout layer drawing its masks from <paramref name="random"/>.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="random">Mask generator; a generator seeded with 0 when null. Give each layer its own
    /// generator (or seed) so that layers do not draw identical masks.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout(float p = 0.5f, TensorRandom? random = null)
    {
        if (!(p >= 0f && p <= 1f))
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1]; got {p}.");
        P = p;
        _random = random ?? new TensorRandom(0);
    }

    /// <summary>Creates a dropout layer with its own generator seeded by <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout(float p, ulong seed) : this(p, new TensorRandom(seed))
    {
    }

    /// <summary>Probability of zeroing an element.</summary>
    public float P { get; }

    /// <summary>The mask generator (its state can be saved with <see cref="TensorRandom.GetState"/> to resume runs).</summary>
    public TensorRandom Random => _random;

    // x: any shape → same shape
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Dropout(input, P, IsTraining, _random);
}
