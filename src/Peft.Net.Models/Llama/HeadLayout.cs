using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>
/// Moves attention heads between the projection layout [B, T, H, D] and the attention layout [B, H, T, D].
/// Both directions are built from <see cref="Tensor.TransposeLast2"/> so autograd records them; when T = 1 (a
/// decode step) or H = 1 the two layouts hold the same memory and a reshape is enough.
/// </summary>
internal static class HeadLayout
{
    // x: (B, T, H, D) → (B, H, T, D)
    public static Tensor ToHeads(Tensor x)
    {
        int b = x.Dim(0), t = x.Dim(1), h = x.Dim(2), d = x.Dim(3);
        if (t == 1 || h == 1) return x.Reshape(b, h, t, d);
        return x.Reshape(b, t, h * d).TransposeLast2().Reshape(b, h, d, t).TransposeLast2();
    }

    // x: (B, H, T, D) → (B, T, H·D)
    public static Tensor FromHeads(Tensor x)
    {
        int b = x.Dim(0), h = x.Dim(1), t = x.Dim(2), d = x.Dim(3);
        if (t == 1 || h == 1) return x.Reshape(b, t, h * d);
        return x.TransposeLast2().Reshape(b, h * d, t).TransposeLast2();
    }
}
