namespace Peft.Net.Models.Gguf;

/// <summary>
/// llama.cpp's q/k row permutation (conversion/llama.py <c>LlamaModel.permute</c>): within each head of size hd, GGUF
/// row h·hd + 2j + s holds HF row h·hd + s·hd/2 + j (j &lt; hd/2, s ∈ {0, 1}), so HF's rotate-half weights work with
/// llama.cpp's adjacent-pair rotation. Only whole rows move.
/// </summary>
internal static class QkPermutation
{
    // hf: (heads·hd, cols) → gguf: (heads·hd, cols)
    public static float[] ToGguf(float[] hf, int heads, int columns) => Move(hf, heads, columns, toGguf: true);

    // gguf: (heads·hd, cols) → hf: (heads·hd, cols)
    public static float[] ToHf(float[] gguf, int heads, int columns) => Move(gguf, heads, columns, toGguf: false);

    private static float[] Move(float[] source, int heads, int columns, bool toGguf)
    {
        int rows = source.Length / columns;
        if (heads <= 0 || rows % heads != 0 || rows / heads % 2 != 0)
            throw new ArgumentException($"Cannot permute {rows} rows for {heads} heads: each head needs an even number of rows.");
        int hd = rows / heads, half = hd / 2;
        var result = new float[source.Length];
        for (int h = 0; h < heads; h++)
        for (int j = 0; j < half; j++)
        for (int s = 0; s < 2; s++)
        {
            int gguf = h * hd + 2 * j + s, hf = h * hd + s * half + j;
            int from = toGguf ? hf : gguf, to = toGguf ? gguf : hf;
            Array.Copy(source, (long)from * columns, result, (long)to * columns, columns);
        }
        return result;
    }
}
