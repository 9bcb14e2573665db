namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>Elementwise sum with leading-dimension broadcasting (see <see cref="Ops.Add"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    /// <summary>Elementwise difference with leading-dimension broadcasting (see <see cref="Ops.Sub"/>).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);

    /// <summary>Elementwise product with leading-dimension broadcasting (see <see cref="Ops.Mul"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);

    /// <summary>Elementwise quotient with leading-dimension broadcasting (see <see cref="Ops.Div"/>).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);

    /// <summary><c>x + s</c> elementwise (see <see cref="Ops.AddScalar"/>).</summary>
    public static Tensor operator +(Tensor x, float s) => Ops.AddScalar(x, s);

    /// <summary><c>s + x</c> elementwise (see <see cref="Ops.AddScalar"/>).</summary>
    public static Tensor operator +(float s, Tensor x) => Ops.AddScalar(x, s);

    /// <summary><c>x − s</c> elementwise, computed exactly as x + (−s).</summary>
    public static Tensor operator -(Tensor x, float s) => Ops.AddScalar(x, -s);

    /// <summary><c>s − x</c> elementwise (see <see cref="Ops.RSub"/>).</summary>
    public static Tensor operator -(float s, Tensor x) => Ops.RSub(x, s);

    /// <summary><c>x · s</c> elementwise (see <see cref="Ops.MulScalar"/>).</summary>
    public static Tensor operator *(Tensor x, float s) => Ops.MulScalar(x, s);

    /// <summary><c>s · x</c> elementwise (see <see cref="Ops.MulScalar"/>).</summary>
    public static Tensor operator *(float s, Tensor x) => Ops.MulScalar(x, s);

    /// <summary><c>x / s</c> elementwise (see <see cref="Ops.DivScalar"/>).</summary>
    public static Tensor operator /(Tensor x, float s) => Ops.DivScalar(x, s);

    /// <summary><c>s / x</c> elementwise (see <see cref="Ops.RDiv"/>).</summary>
    public static Tensor operator /(float s, Tensor x) => Ops.RDiv(x, s);

    /// <summary><c>−x</c> elementwise (see <see cref="Ops.Neg"/>).</summary>
    public static Tensor operator -(Tensor x) => Ops.Neg(x);
}
