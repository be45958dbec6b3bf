using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>
/// Roms/tests/smp.asm with --smp 2: the BSP starts CPU 1 with INIT-SIPI-SIPI through its local
/// APIC; each CPU reads its own APIC ID at the shared address 0xFEE00000 and IA32_APIC_BASE; the AP
/// sends the BSP a fixed IPI, the BSP takes periodic APIC timer interrupts through its IDT, and a
/// second INIT and SIPI restart the AP.
/// </summary>
public sealed class SmpRomTests
{
    [Fact]
    public void BootstrapProcessorStartsTheApplicationProcessorWithInitSipiSipi()
    {
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "smp.bin");
        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom, "--smp", "2");

        // The ROM writes 0 to debug-exit when every check passed: status (0 << 1) | 1.
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stderr {r.Stderr}; stdout {r.Stdout}");
        string[] lines = r.Stdout.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            [
                "BSP: running, local APIC ID 00",
                "AP: started by SIPI, local APIC ID 01",
                "BSP: the AP reported in",
                "BSP: fixed IPI from the AP taken",
                "BSP: three periodic APIC timer interrupts taken",
                "AP: started by SIPI, local APIC ID 01",
                "BSP: the AP restarted after INIT and SIPI",
                "SMP PASS",
            ],
            lines);
    }
}
