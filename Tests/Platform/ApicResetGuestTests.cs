using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>
/// Roms/tests/apic_reset.asm enables the local APIC, resets the PC through port 92h and checks
/// after the reset that the APIC is back in its RESET state.
/// </summary>
public sealed class ApicResetGuestTests
{
    [Fact]
    public void LocalApicIsResetWithTheMachine()
    {
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "apic_reset.bin");

        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom);

        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Contains("PASS", r.Stdout, StringComparison.Ordinal);
    }
}
