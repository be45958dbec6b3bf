using Emulator.Fuzzing;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Fuzzing;

/// <summary>
/// The hostile-guest device fuzzer, a short run per seed (the long run is
/// <c>dotnet run -c Release --project Benchmarks -- fuzz-devices --seeds K --ops M</c>): no .NET
/// exception leaves a device, no operation hangs, the guest's errors are counted and logged, and
/// after a reset the machine still runs Roms/tests/pit_irq.bin (PIC, PIT, UART, HLT and interrupt
/// delivery) to its passing exit status.
/// </summary>
public sealed class DeviceFuzzerTests : IDisposable
{
    // pit_irq.asm writes 0x10 to the debug-exit port when its checks pass: status (0x10 << 1) | 1.
    private const int PitIrqPass = 33;

    private readonly string _disk = Path.Combine(Path.GetTempPath(), $"emu-devfuzz-{Guid.NewGuid():n}.img");

    public DeviceFuzzerTests() => File.WriteAllBytes(_disk, new byte[64 * 512]);

    public void Dispose() => File.Delete(_disk);

    private DeviceFuzzSettings Settings(int seed, long operations, TextWriter? log = null) => new()
    {
        Seed = seed,
        Operations = operations,
        KnownProgram = File.ReadAllBytes(Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "pit_irq.bin")),
        KnownProgramExitStatus = PitIrqPass,
        ScratchDisk = _disk,
        GuestErrorSink = log,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AHostileGuestCannotHurtTheHost(int seed)
    {
        using var log = new StringWriter();
        DeviceFuzzReport report = DeviceFuzzer.Run(Settings(seed, 20_000, log));

        Assert.True(report.Passed, report.Summary() + "\n" + report.KnownProgramOutput);
        Assert.Equal(20_000, report.Operations);
        Assert.Contains("PASS", report.KnownProgramOutput, StringComparison.Ordinal);

        // Every operation target ran, and the guest's errors were counted and written to the log.
        Assert.Equal(14, report.OperationsByTarget.Count);
        Assert.True(report.OperationsByTarget.ContainsKey("hpet"), report.Summary());
        Assert.True(report.GuestErrors > 0, report.Summary());
        string[] lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(report.GuestErrors, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("guest error: ", l, StringComparison.Ordinal));
        foreach (string device in new[] { "virtio-rng@02.0", "virtio-blk@03.0", "lapic0", "ioapic", "i8042", "hpet" })
        {
            Assert.True(report.GuestErrorsByDevice.ContainsKey(device), $"no guest error from {device}: {report.Summary()}");
        }
    }

    [Fact]
    public void ASeedReproducesItsRun()
    {
        DeviceFuzzReport a = DeviceFuzzer.Run(Settings(7, 3_000));
        File.WriteAllBytes(_disk, new byte[64 * 512]);
        DeviceFuzzReport b = DeviceFuzzer.Run(Settings(7, 3_000));

        Assert.Equal(a.Accesses, b.Accesses);
        Assert.Equal(a.GuestErrors, b.GuestErrors);
        Assert.Equal(a.GuestErrorsByDevice, b.GuestErrorsByDevice);
        Assert.Equal(a.Requests, b.Requests);
    }
}
