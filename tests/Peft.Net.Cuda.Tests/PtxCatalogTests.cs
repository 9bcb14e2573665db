using System.Text;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;

namespace Peft.Net.Cuda.Tests;

/// <summary>The embedded PTX: every module for every architecture, every kernel the launcher names, identical to kernels/ptx.</summary>
public sealed class PtxCatalogTests
{
    [Theory]
    [InlineData(70, 70)]
    [InlineData(75, 70)]
    [InlineData(80, 80)]
    [InlineData(86, 80)]
    [InlineData(89, 80)]
    [InlineData(90, 90)]
    [InlineData(100, 90)]
    [InlineData(120, 90)]
    public void PicksHighestEmbeddedArchitectureNotAboveTheDevice(int device, int expected)
    {
        Assert.Equal(expected, PtxCatalog.SelectArchitecture(device, [70, 80, 90]));
    }

    [Theory]
    [InlineData(61)]
    [InlineData(52)]
    public void DevicesOlderThanVoltaGetNoArchitecture(int device)
    {
        Assert.Null(PtxCatalog.SelectArchitecture(device, [70, 80, 90]));
    }

    [Fact]
    public void EveryModuleIsEmbeddedForCompute70_80_90()
    {
        Assert.Equal(["dequant4", "gemv4"], PtxCatalog.Modules.Keys.Order());
        foreach (var (module, archs) in PtxCatalog.Modules)
            Assert.True(archs.SequenceEqual([70, 80, 90]), $"{module}: embedded for {string.Join(", ", archs)}");
    }

    [Fact]
    public void EmbeddedPtxDefinesEveryKernelTheLauncherUses()
    {
        foreach (var (module, archs) in PtxCatalog.Modules)
            foreach (int arch in archs)
            {
                string ptx = Encoding.ASCII.GetString(PtxCatalog.LoadPtx(module, arch)).TrimEnd('\0');
                Assert.Contains($".target sm_{arch}", ptx);
                foreach (string kernel in KernelNames.InModule(module))
                    Assert.Contains($".visible .entry {kernel}(", ptx);
            }
    }

    [Fact]
    public void EmbeddedPtxEqualsTheCommittedFiles()
    {
        foreach (var (module, archs) in PtxCatalog.Modules)
            foreach (int arch in archs)
            {
                byte[] embedded = PtxCatalog.LoadPtx(module, arch);
                byte[] onDisk = File.ReadAllBytes(Path.Combine(RepoPaths.Kernels, "ptx", $"{module}.compute_{arch}.ptx"));
                Assert.Equal(0, embedded[^1]);
                Assert.True(embedded.AsSpan(0, embedded.Length - 1).SequenceEqual(onDisk), $"{module}.compute_{arch}.ptx differs from the embedded copy");
            }
    }

    [Fact]
    public void PtxKeepsIeeeArithmetic()
    {
        // Built without fast math: no flush-to-zero, no approximate ops, no contracted multiply-adds beyond the
        // explicit fma.rn of the GEMV.
        foreach (var (module, archs) in PtxCatalog.Modules)
            foreach (int arch in archs)
            {
                string ptx = Encoding.ASCII.GetString(PtxCatalog.LoadPtx(module, arch));
                Assert.DoesNotContain(".ftz", ptx);
                Assert.DoesNotContain(".approx", ptx);
                Assert.DoesNotContain("mad.", ptx.Replace("mad.lo", "").Replace("mad.wide", "").Replace("mad.hi", ""));
                if (module == "dequant4")
                    Assert.DoesNotContain("fma.", ptx);
            }
    }
}
