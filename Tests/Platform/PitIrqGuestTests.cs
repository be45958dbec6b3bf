using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>
/// A guest program (Roms/tests/pit_irq.asm) programs the 8259A pair and the 8254 itself, sleeps in
/// HLT between timer interrupts and reports over COM1 and the debug-exit port: the devices, their
/// wiring in the PC and the software CPU's interrupt delivery, checked as a whole.
/// </summary>
public sealed class PitIrqGuestTests
{
    private const int PassStatus = (0x10 << 1) | 1;

    [Fact]
    public void GuestCountsTimerInterruptsWithHltBetweenThem()
    {
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "pit_irq.bin");

        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom);

        Assert.True(r.ExitCode == PassStatus, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Contains("PASS", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestTakesTheTimerThroughIoApicInputTwo()
    {
        // Roms/tests/ioapic_pit.asm: the 8259A masked, IRQ 0 through the IOAPIC input the MADT's
        // interrupt source override names; debug-exit 0 means every check passed.
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "ioapic_pit.bin");

        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom);

        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Contains("PASS", r.Stdout, StringComparison.Ordinal);
    }
}
