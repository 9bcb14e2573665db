using Peft.Net.Core;

namespace Peft.Net.Models;

// TEMPORARY until branch `elementwise` (Ops.SiluMul) is merged into main: forward only, no autograd.
internal static class PendingOps
{
    public static Tensor SiluMul(Tensor gate, Tensor up)
    {
        if (Tensor.IsGradEnabled && (gate.RequiresGrad || up.RequiresGrad))
            throw new NotSupportedException("SiluMul backward needs Ops.SiluMul (branch elementwise).");
        var result = Tensor.Zeros(gate.ShapeArray());
        var g = gate.AsSpan();
        var u = up.AsSpan();
        var r = result.AsSpan();
        for (int i = 0; i < r.Length; i++) r[i] = g[i] / (1f + MathF.Exp(-g[i])) * u[i];
        return result;
    }
}
