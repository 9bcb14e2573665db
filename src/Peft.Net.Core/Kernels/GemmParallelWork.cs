namespace Peft.Net.Core.Kernels;

/// <summary>
/// The work of one parallel GEMM call: item i computes the i-th of <see cref="Items"/> slabs of C, each a run of
/// whole tiles (<see cref="TileSize"/> columns of C when <see cref="SplitN"/>, else rows). <see cref="Gemm"/> keeps
/// one per calling thread and refills it for each call, so a parallel GEMM allocates nothing; <see cref="InUse"/>
/// marks it taken while a call runs. A split-M call may first run a packing pass (<see cref="PackingSharedB"/>):
/// item i then packs the i-th piece of B (each block of B cut into <see cref="Items"/> slices) into
/// <see cref="SharedB"/>, which every slab reads afterwards.
/// </summary>
internal sealed unsafe class GemmParallelWork : IParallelWork
{
    public GemmProblem Problem;
    public GemmKernelPath Path;
    public bool Dot, SplitN, InUse, PackingSharedB;
    public int Tiles, TileSize, Items;
    public float* SharedB;

    public void Execute(int index)
    {
        if (PackingSharedB)
        {
            Gemm.PackSharedBPiece(Problem, Path, index, Items, SharedB);
            return;
        }
        int first = (int)((long)Tiles * index / Items) * TileSize;
        int last = (int)((long)Tiles * (index + 1) / Items) * TileSize;
        if (SplitN) Gemm.RunRectangle(Problem, Path, Dot, 0, Problem.M, first, Math.Min(last, Problem.N));
        else Gemm.RunRectangle(Problem, Path, Dot, first, Math.Min(last, Problem.M), 0, Problem.N, SharedB);
    }
}
