namespace Peft.Net.Models.Tokenization.Model;

/// <summary>
/// Reusable per-thread buffers for merging one word: the symbols as a doubly linked list over arrays and the
/// queue of candidate merges ordered by (merge rank, position), lowest first.
/// </summary>
internal sealed class BpeMergeWorkspace
{
    [ThreadStatic] private static BpeMergeWorkspace? _current;

    /// <summary>Symbol ids; -1 marks a symbol merged into its left neighbour.</summary>
    public int[] Ids = new int[64];

    /// <summary>Index of the previous live symbol, -1 at the start.</summary>
    public int[] Prev = new int[64];

    /// <summary>Index of the next live symbol, -1 at the end.</summary>
    public int[] Next = new int[64];

    public int Count;

    /// <summary>Candidate merges: (left symbol index, id of the merged token), priority rank &lt;&lt; 32 | index.</summary>
    public readonly PriorityQueue<(int Pos, int NewId), long> Queue = new();

    public static BpeMergeWorkspace Current => _current ??= new BpeMergeWorkspace();

    public void Reset(int capacity)
    {
        if (Ids.Length < capacity)
        {
            int size = Math.Max(capacity, Ids.Length * 2);
            Ids = new int[size];
            Prev = new int[size];
            Next = new int[size];
        }
        Count = 0;
        Queue.Clear();
    }

    public void Add(int id)
    {
        if (Count == Ids.Length)
        {
            Array.Resize(ref Ids, Count * 2);
            Array.Resize(ref Prev, Count * 2);
            Array.Resize(ref Next, Count * 2);
        }
        Ids[Count] = id;
        Prev[Count] = Count - 1;
        Next[Count] = -1;
        if (Count > 0) Next[Count - 1] = Count;
        Count++;
    }
}
