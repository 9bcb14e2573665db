using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.IO;

public class SafetensorsRangeReadTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void ReadAsFloat32_of_a_range_equals_that_slice_of_the_whole_tensor(DType dtype)
    {
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        var random = new TensorRandom(3);
        var values = Enumerable.Range(0, 1031).Select(_ => random.NextSingle() * 8 - 4).ToArray();
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray([1f, 2f], 2), ["w"] = Tensor.FromArray(values, 1031).To(dtype) });
        using var file = SafetensorsFile.Open(path);
        var whole = file.ReadTensorAsFloat32("w").ToArray();
        foreach (var (start, length) in new[] { (0, 1031), (0, 0), (1, 17), (512, 519), (1030, 1) })
        {
            var part = new float[length];
            file.ReadAsFloat32("w", start, part);
            TensorAssert.BitEqual(whole.AsSpan(start, length).ToArray(), part, $"{dtype} [{start}, {start + length})");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadAsFloat32("w", 1000, new float[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadAsFloat32("w", -1, new float[1]));
    }

    [Fact]
    public void ReleasePages_leaves_every_tensor_readable_with_the_same_values()
    {
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        var first = Tensor.FromArray(Enumerable.Range(0, 5000).Select(i => i * 0.5f).ToArray(), 5000);
        var second = Tensor.FromArray(Enumerable.Range(0, 3).Select(i => -i - 1f).ToArray(), 3);
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["first"] = first, ["second"] = second });
        using var file = SafetensorsFile.Open(path);
        var before = file.ReadTensor("second").ToArray();
        file.ReleasePages("first"); // shares a page with "second"
        file.ReleasePages("second");
        TensorAssert.BitEqual(first.ToArray(), file.ReadTensor("first").ToArray(), "first after release");
        TensorAssert.BitEqual(before, file.ReadTensor("second").ToArray(), "second after release");
        Assert.Throws<KeyNotFoundException>(() => file.ReleasePages("third"));
    }
}
