using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Models;

namespace Peft.Net.Reliability.Tests.Concurrency;

/// <summary>One loaded Llama model serves several threads at once: logits and greedy generations equal the sequential ones bit for bit.</summary>
public sealed class ConcurrentLlamaTests
{
    private static LlamaForCausalLM Load() =>
        LlamaForCausalLM.FromPretrained(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama"));

    [Fact]
    public void ParallelForwardAndGenerateMatchSequential()
    {
        var model = Load();
        var random = new Random(9);
        var prompts = Enumerable.Range(0, 6).Select(i => Enumerable.Range(0, 8 + 5 * i).Select(_ => random.Next(3, 256)).ToArray()).ToArray();
        (float[] Logits, int[] Generated) Run(int[] prompt)
        {
            using var noGrad = Tensor.NoGrad();
            var logits = model.Forward(prompt, 1, prompt.Length).AsSpan().ToArray();
            return (logits, model.Generate(prompt, new GenerationOptions { MaxNewTokens = 12 }));
        }
        var expected = prompts.Select(Run).ToArray();

        var results = new (float[] Logits, int[] Generated)[6][];
        var threads = Enumerable.Range(0, results.Length).Select(t => new Thread(() =>
        {
            results[t] = new (float[], int[])[prompts.Length];
            foreach (int i in Enumerable.Range(0, prompts.Length).OrderBy(i => (i * 5 + t) % prompts.Length))
                results[t][i] = Run(prompts[i]);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int t = 0; t < results.Length; t++)
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.True(MemoryMarshal.AsBytes(expected[i].Logits.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(results[t][i].Logits.AsSpan())),
                $"thread {t}, prompt {i}: logits differ from the sequential run");
            Assert.Equal(expected[i].Generated, results[t][i].Generated);
        }
    }
}
