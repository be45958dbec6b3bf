using System.Diagnostics;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>`emu run` with no kernel boots the demo guest of Roms/demo: checked as a user would see it.</summary>
public sealed class DemoGuestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // The guest's memory test fills 16384 dwords starting at 0x12345678, stepping by 0x9E3779B9,
    // and prints their 32-bit sum: computed here independently of the emulator.
    private static uint ExpectedChecksum()
    {
        uint v = 0x12345678, sum = 0;
        for (int i = 0; i < 16384; i++)
        {
            sum += v;
            v += 0x9E3779B9;
        }

        return sum;
    }

    [Fact]
    public void DemoGuestPrintsItsStepsOverCom1AndPowersOff()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit");

        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        string[] lines = r.Stdout.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("emu demo guest: hello from 16-bit real mode at the reset vector", lines[0]);
        Assert.Equal($"real mode: sum of 1..100 = {Enumerable.Range(1, 100).Sum()}", lines[1]);
        Assert.StartsWith("cpuid: vendor ", lines[2], StringComparison.Ordinal);
        Assert.Equal(12, lines[2]["cpuid: vendor ".Length..].Length);
        Assert.Equal("switching to 32-bit protected mode", lines[3]);
        Assert.Equal("protected mode: flat 4 GiB segments, paging off", lines[4]);
        Assert.Equal($"memory: 64 KiB at 1 MiB filled, copied with REP MOVSD, verified; checksum 0x{ExpectedChecksum():x8}", lines[5]);
        Assert.Equal("powering off through ACPI PM1a_CNT (SLP_TYP=S5, SLP_EN)", lines[6]);
        Assert.Equal(7, lines.Length);
    }

    [Fact]
    public void PostCodesAndSerialFileBackendRecordTheBoot()
    {
        string dir = Directory.CreateTempSubdirectory("emu-e2e").FullName;
        try
        {
            string serial = Path.Combine(dir, "serial.txt");
            string post = Path.Combine(dir, "post.txt");
            EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--serial", "file:" + serial, "--post-codes", "file:" + post);

            Assert.Equal(0, r.ExitCode);
            Assert.Equal(string.Empty, r.Stdout);
            Assert.Equal(["POST 01", "POST 02", "POST 03", "POST 04"], File.ReadAllLines(post));
            Assert.Contains("powering off", File.ReadAllText(serial), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BiosOptionBootsAFirmwareFileAtTheResetVector()
    {
        // The demo ROM file itself, loaded through --bios, must behave as the built-in copy.
        string rom = Path.Combine(RepositoryRoot(), "Roms", "demo", "demo.bin");
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--bios", rom);

        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("emu demo guest: hello", r.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void DemoRomBinaryIsWhatItsSourceAssemblesTo()
    {
        Skip.If(!File.Exists("/usr/bin/nasm"), "nasm is not installed (.ci/run installs it)");
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepositoryRoot(), "Roms", "build.sh"), "--check"])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    internal static string RepositoryRoot()
    {
        string? d = AppContext.BaseDirectory;
        while (d is not null && !File.Exists(Path.Combine(d, "Emulator.sln")))
        {
            d = Path.GetDirectoryName(d);
        }

        return d ?? throw new InvalidOperationException("tests must run inside the repository");
    }
}
