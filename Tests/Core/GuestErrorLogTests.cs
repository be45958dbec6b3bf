using Emulator.Core.Machine;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class GuestErrorLogTests
{
    [Fact]
    public void EveryReportIsCountedPerDeviceAndWrittenAsOneLine()
    {
        using var sink = new StringWriter();
        var log = new GuestErrorLog { Sink = sink };

        log.Report("ioapic", "read of register 0x40, which does not exist (reads 0)");
        log.Report("lapic0", "IPI with illegal vector 3 not sent");
        log.Report("ioapic", "write of 0x1 to register 0x41, which does not exist (dropped)");

        Assert.Equal(3, log.Count);
        Assert.Equal(2, log.CountsByDevice["ioapic"]);
        Assert.Equal(1, log.CountsByDevice["lapic0"]);
        Assert.Equal(
            "guest error: ioapic: read of register 0x40, which does not exist (reads 0)\n" +
            "guest error: lapic0: IPI with illegal vector 3 not sent\n" +
            "guest error: ioapic: write of 0x1 to register 0x41, which does not exist (dropped)\n",
            sink.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutASinkReportsAreStillCountedAndTheLastOnesKept()
    {
        var log = new GuestErrorLog();
        for (int i = 0; i < GuestErrorLog.RecentCapacity + 10; i++)
        {
            log.Report("uart", $"error {i}");
        }

        Assert.Equal(GuestErrorLog.RecentCapacity + 10, log.Count);
        Assert.Equal(GuestErrorLog.RecentCapacity, log.Recent.Count);
        Assert.Equal("guest error: uart: error 10", log.Recent[0]);
    }
}
