namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>Elementwise sum with leading-dimension broadcasting (see <see cref="Ops.Add"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
}
