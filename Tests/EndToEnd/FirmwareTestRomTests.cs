using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// Roms/tests/firmware.asm booted with --bios: a BIOS-style program that shadows itself into RAM,
/// rewrites code while running it, enters protected mode, and reports through POST codes and two
/// debug console ports before leaving through debug-exit.
/// </summary>
public sealed class FirmwareTestRomTests
{
    [Fact]
    public void FirmwareRomRunsToItsFinalPostCode()
    {
        string dir = Directory.CreateTempSubdirectory("emu-fw").FullName;
        try
        {
            string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "firmware.bin");
            string post = Path.Combine(dir, "post"), e9 = Path.Combine(dir, "e9"), p402 = Path.Combine(dir, "402");
            EmuProcess.Result r = EmuProcess.Run(
                TimeSpan.FromSeconds(60),
                "run", "--accel", "jit", "--bios", rom, "--serial", "null",
                "--post-codes", "file:" + post, "--debugcon", "file:" + e9, "--debugcon", "file:" + p402 + ",port=0x402");

            // The ROM writes 0 to debug-exit when every check passed: status (0 << 1) | 1.
            Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stderr {r.Stderr}; console: {File.ReadAllText(e9)}");
            string[] expected = ["10", "11", "12", "13", "14", "15", "16", "aa"];
            Assert.Equal(expected.Select(c => "POST " + c), File.ReadAllLines(post));
            string console = File.ReadAllText(e9);
            Assert.Equal(console, File.ReadAllText(p402));
            Assert.Equal(2, console.Split('\n').Count(l => l.Contains("PASS", StringComparison.Ordinal)));
            Assert.DoesNotContain("FAIL", console, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
