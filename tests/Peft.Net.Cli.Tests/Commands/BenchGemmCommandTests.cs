using System.CommandLine;
using System.Text.Json;
using Peft.Net.Cli.Commands;

namespace Peft.Net.Cli.Tests.Commands;

[Collection(ProcessThreadCount.Name)] // they set the process-wide thread count
public class BenchGemmCommandTests
{
    private static (int ExitCode, string Output, string Error) Invoke(params string[] args)
    {
        var root = new RootCommand("test") { BenchCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void Json_output_reports_the_shape_threads_time_and_gflops()
    {
        var (exitCode, output, error) = Invoke("bench", "gemm", "--m", "33", "--n", "17", "--k", "65", "--threads", "1", "--repeats", "5", "--json");
        Assert.True(exitCode == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(33, root.GetProperty("m").GetInt32());
        Assert.Equal(17, root.GetProperty("n").GetInt32());
        Assert.Equal(65, root.GetProperty("k").GetInt32());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(5, root.GetProperty("runs").GetInt32());
        double ms = root.GetProperty("ms").GetDouble(), gflops = root.GetProperty("gflops").GetDouble();
        Assert.True(ms > 0 && gflops > 0, output);
        Assert.Equal(2.0 * 33 * 17 * 65 / (ms * 1e6), gflops, 0.05 * gflops + 0.01); // gflops agrees with ms (rounding)
        Assert.True(root.GetProperty("ms_median").GetDouble() >= ms);
    }

    [Fact]
    public void Text_output_names_the_kernel_and_the_rates()
    {
        var (exitCode, output, _) = Invoke("bench", "gemm", "--m", "8", "--n", "8", "--k", "8", "--repeats", "5", "--trans-b", "--kernel", "scalar");
        Assert.Equal(0, exitCode);
        Assert.Contains("kernel Scalar", output);
        Assert.Contains("GFLOP/s", output);
    }

    [Fact]
    public void Bad_sizes_fail_with_a_one_line_error()
    {
        var (exitCode, output, error) = Invoke("bench", "gemm", "--m", "0", "--json");
        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Contains("sizes must be positive", error);
        Assert.Single(error.Trim().Split('\n'));
    }
}
