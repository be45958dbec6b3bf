using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>`emu run --kernel`: the multiboot test kernel of Roms/tests, and bad kernels, as a user sees them.</summary>
public sealed class KernelBootTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-kernel").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string TestKernel(string name) => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", name);

    private string WriteFile(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    // multiboot_low.bin is the same kernel linked at 0x8000, below 1 MiB, as real-mode test kernels are.
    [Theory]
    [InlineData("multiboot.bin")]
    [InlineData("multiboot_low.bin")]
    public void MultibootKernelGetsCommandLineModulesAndMemoryAndExitsThroughDebugExit(string kernel)
    {
        string one = WriteFile("one.txt", "first module\nsecond line"u8.ToArray());
        string two = WriteFile("two.bin", [.. Enumerable.Repeat((byte)'x', 5000)]);
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "-m", "64M", "--kernel", TestKernel(kernel),
            "--append", "console=ttyS0 answer=42", "--initrd", one, "--initrd", two);

        string[] lines = r.Stdout.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode} (1 = debug-exit 0, all checks passed); stdout:\n{r.Stdout}\nstderr: {r.Stderr}");
        Assert.Equal("multiboot test kernel", lines[0]);
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        Assert.Equal(7, lines.Count(l => l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.Contains($"cmdline: {TestKernel(kernel)} console=ttyS0 answer=42", lines);
        Assert.Contains("boot loader: emu", lines);
        Assert.Contains("mods_count: 2", lines);
        Assert.Contains($"module {one} 24 bytes: first module", lines);
        Assert.Contains($"module {two} 5000 bytes: {new string('x', 40)}", lines);
        // RAM from 1 MiB up to 64 KiB reserved for the SMBIOS table and 64 KiB of ACPI tables at the top.
        Assert.Contains($"mem_upper: {(64 << 10) - 1024 - 64 - 64} KiB", lines);
        Assert.Contains("mmap 0000000000000000 000000000009fc00 type 1", lines);
        Assert.Contains("mmap 0000000000100000 0000000003ee0000 type 1", lines);
        Assert.Contains("mmap 0000000003fe0000 0000000000010000 type 2", lines);
        // The ACPI tables' first page holds the FACS, which the OS must not reclaim: AddressRangeNVS
        // (type 4, ACPI 6.5 15.1 and 5.2.10); the rest is AddressRangeACPI (type 3).
        Assert.Contains("mmap 0000000003ff0000 0000000000001000 type 4", lines);
        Assert.Contains("mmap 0000000003ff1000 000000000000f000 type 3", lines);
        Assert.Equal("all checks passed", lines[^1]);
    }

    [Fact]
    public void FileThatIsNeitherBzImageNorMultibootIsOneLineWithStatus2()
    {
        byte[] junk = new byte[10000];
        new Random(1).NextBytes(junk);
        string path = WriteFile("junk.bin", junk);

        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--kernel", path);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"emu: --kernel {path}: neither a Linux bzImage (no \"HdrS\" at offset 0x202) nor a multiboot kernel (no multiboot header in the first 8192 bytes)", r.Stderr.TrimEnd());
        Assert.Equal(junk, File.ReadAllBytes(path));
    }

    [Fact]
    public void TruncatedBzImageIsOneLineWithStatus2()
    {
        byte[] image = Boot.LinuxLoaderTests.BzImage()[..0x220];
        string path = WriteFile("truncated.bzImage", image);

        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--kernel", path);

        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"emu: --kernel {path}: truncated", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void MissingKernelIsOneLineWithStatus2()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--kernel", "/nonexistent/vmlinuz");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("emu: --kernel /nonexistent/vmlinuz: no such file", r.Stderr.TrimEnd());
    }

    [Fact]
    public void InitrdWithoutKernelIsAUsageError()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--initrd", "/etc/hostname");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("emu: --initrd: needs --kernel", r.Stderr, StringComparison.Ordinal);
    }
}
