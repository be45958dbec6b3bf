using Xunit;
using Emulator.Tests.EndToEnd;

namespace Emulator.Tests.Cli;

/// <summary>Bad command lines: one line naming the option and the problem, a usage line, exit status 2, no stack trace.</summary>
public sealed class CommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("--memory 12Q", "--memory 12Q")]
    [InlineData("--memory 0", "--memory 0")]
    [InlineData("-m lots", "--memory lots")]
    [InlineData("--memory 2048G", "--memory 2048G")]
    [InlineData("--smp 0", "--smp 0")]
    [InlineData("--smp x", "'--smp'")]
    [InlineData("--accel tcg", "--accel tcg")]
    [InlineData("--serial bogus", "--serial")]
    [InlineData("--debug-exit 0x10000", "--debug-exit 0x10000")]
    [InlineData("--debugcon nowhere", "--debugcon nowhere")]
    [InlineData("--guest-errors nowhere", "--guest-errors nowhere")]
    [InlineData("--bogus", "'--bogus'")]
    [InlineData("--drive readonly=on", "--drive readonly=on")]
    [InlineData("--drive file=disk.img,format=vmdk", "format=vmdk")]
    [InlineData("--drive file=disk.img,readonly=maybe", "readonly=maybe")]
    [InlineData("--drive file=disk.img,if=scsi", "if=scsi")]
    [InlineData("--boot x", "--boot x")]
    [InlineData("--boot c,menu=maybe", "menu=maybe")]
    [InlineData("--vga cirrus", "--vga cirrus")]
    [InlineData("--screendump-on-exit screen.bmp", "screen.bmp")]
    [InlineData("--vga none --screendump-on-exit screen.png", "--vga none")]
    [InlineData("--display sdl", "--display sdl")]
    [InlineData("--display curses --vga none", "--vga none")]
    [InlineData("--display curses --serial stdio", "--serial stdio")]
    [InlineData("--display curses --debugcon stdio,port=0x402", "--debugcon stdio")]
    public void BadRunArgumentsGiveOneLineAndStatus2(string args, string named)
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", .. args.Split(' ')]);

        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 2, $"expected an error line and a usage line, got: {r.Stderr}");
        Assert.StartsWith("emu: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(named, lines[0], StringComparison.Ordinal);
        Assert.StartsWith("usage: emu run", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingBiosFileIsOneLineNamingIt()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--bios", "/nonexistent/bios.bin");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("emu: --bios /nonexistent/bios.bin: no such file", r.Stderr.TrimEnd());
    }

    [Fact]
    public void MissingCdromImageIsOneLineNamingIt()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--bios", Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin"), "--cdrom", "/nonexistent/disc.iso");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("emu: --cdrom /nonexistent/disc.iso: no such file", r.Stderr.TrimEnd());
    }

    [Fact]
    public void BiosWithBadSizeNamesTheFile()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[1000]);
            EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--bios", path);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(path, r.Stderr, StringComparison.Ordinal);
            Assert.Contains("not a multiple of 4096", r.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownVerbIsAUsageError()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown command 'frobnicate'", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run --help")]
    [InlineData("info --help")]
    public void HelpWorksOnEveryVerb(string args)
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, args.Split(' '));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("emu", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void RunHelpListsTheOptions()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--help");
        foreach (string option in new[] { "--accel", "--memory", "--smp", "--kernel", "--initrd", "--append", "--bios", "--drive", "--serial", "--debug-exit", "--no-reboot" })
        {
            Assert.Contains(option, r.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void VersionPrintsTheVersion()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^emu \d+\.\d+\.\d+", r.Stdout);
    }

    [Fact]
    public void InfoReportsTheAcceleratorsAndWhyKvmIsNotUsedHere()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "info");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("jit: usable", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("kvm: ", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AutoAcceleratorSaysWhichBackendAndWhy()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("emu: using the software CPU (jit): ", r.Stderr, StringComparison.Ordinal);
    }
}
