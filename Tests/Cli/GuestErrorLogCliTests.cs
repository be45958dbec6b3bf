using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Cli;

/// <summary>
/// <c>emu run --guest-errors file:PATH</c>: Roms/tests/guest_errors.asm makes three mistakes a
/// device reports (an IOAPIC register that does not exist, an IPI with an illegal vector, an unknown
/// i8042 command); the file holds one line for each. The other system ROMs make none.
/// </summary>
public sealed class GuestErrorLogCliTests : IDisposable
{
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"emu-guest-errors-{Guid.NewGuid():n}.log");

    public void Dispose() => File.Delete(_log);

    [Fact]
    public void EachGuestErrorIsOneLineInTheLog()
    {
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "guest_errors.bin");

        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom, "--guest-errors", "file:" + _log);

        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Equal(
            [
                "guest error: ioapic: read of register 0x40, which does not exist (reads 0)",
                "guest error: lapic0: IPI with illegal vector 3 not sent (ESR: send illegal vector)",
                "guest error: i8042: unknown controller command 0x05 ignored",
            ],
            File.ReadAllLines(_log));
    }

    [Fact]
    public void AWellBehavedGuestLogsNothing()
    {
        string rom = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "pit_irq.bin");

        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), "run", "--accel", "jit", "--bios", rom, "--guest-errors", "file:" + _log);

        Assert.True(r.ExitCode == 33, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Empty(File.ReadAllLines(_log));
    }
}
