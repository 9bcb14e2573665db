using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.IO;

/// <summary>Temporary files left by a crash mid-write are removed by the next write into the folder, and nothing else is.</summary>
public class StaleTemporaryFileTests
{
    private static string Leftover(TempFolder folder, string name, TimeSpan age)
    {
        string path = folder.File(name);
        File.WriteAllBytes(path, [1, 2, 3]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void The_next_atomic_write_into_the_folder_removes_a_crashed_writers_temporary_file()
    {
        using var folder = new TempFolder();
        Leftover(folder, "adapter_model.safetensors.tmp-0a1b2c3d", TimeSpan.FromHours(1));
        Leftover(folder, "adapter_config.json.tmp-99887766", TimeSpan.FromMinutes(1));
        AtomicFile.WriteAllText(folder.File("training_log.csv"), "step,loss\n");
        Assert.Equal(["training_log.csv"], folder.FileNames());
    }

    [Fact]
    public void The_streaming_safetensors_writer_cleans_the_folder_too()
    {
        using var folder = new TempFolder();
        Leftover(folder, "model.safetensors.tmp-deadbeef", TimeSpan.FromHours(2));
        Safetensors.Save(folder.File("model.safetensors"), new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray([1f, 2f], 2) });
        Assert.Equal(["model.safetensors"], folder.FileNames());
    }

    [Fact]
    public void A_temporary_file_still_held_by_a_writer_or_written_moments_ago_is_left_alone()
    {
        using var folder = new TempFolder();
        string held = Leftover(folder, "a.bin.tmp-00000001", TimeSpan.FromHours(1));
        string recent = Leftover(folder, "b.bin.tmp-00000002", TimeSpan.Zero);
        using (new FileStream(held, FileMode.Open, FileAccess.Write, FileShare.None)) // a live writer's lock
            AtomicFile.WriteAllText(folder.File("c.txt"), "x");
        Assert.True(File.Exists(held), "a temporary file a writer holds open must survive");
        Assert.True(File.Exists(recent), "a temporary file written within the quiet period must survive");
        AtomicFile.WriteAllText(folder.File("d.txt"), "y"); // the writer is gone now: the old file goes
        Assert.False(File.Exists(held));
        Assert.True(File.Exists(recent));
    }

    [Theory]
    [InlineData("notes.tmp-abc")]          // not 8 digits
    [InlineData("model.tmp-0A1B2C3D")]     // upper case: not a name AtomicFile makes
    [InlineData("model.tmp-0a1b2c3d.bak")] // something after the suffix
    [InlineData("data.tmp")]
    [InlineData(".tmp-01234567")]          // no target name
    public void Files_that_only_look_like_temporary_files_are_kept(string name)
    {
        using var folder = new TempFolder();
        Leftover(folder, name, TimeSpan.FromDays(3));
        AtomicFile.WriteAllText(folder.File("out.txt"), "z");
        Assert.Equal(new[] { name, "out.txt" }.Order(StringComparer.Ordinal), folder.FileNames());
    }
}
