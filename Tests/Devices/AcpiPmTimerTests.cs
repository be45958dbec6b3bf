using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Time;
using Emulator.Devices.Acpi;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class AcpiPmTimerTests : IDisposable
{
    private const long Second = 1_000_000_000;
    private const long TicksPer2Pow24 = 1 << 24;

    private readonly TimerService _timers = TimerService.Deterministic(new Lock());

    public void Dispose() => _timers.Dispose();

    private static uint TicksAt(long nanoseconds) => (uint)((Int128)nanoseconds * AcpiPmTimer.FrequencyHz / Second);

    [Fact]
    public void CountsAt3579545HzOnTheVirtualClock()
    {
        var timer = new AcpiPmTimer(_timers);
        var bus = new IoPortBus(new Lock());
        bus.Register(AcpiPmPorts.PmTmrBlk, AcpiPmPorts.PmTmrLen, timer);
        Assert.Equal(0u, bus.Read(AcpiPmPorts.PmTmrBlk, 4));

        _timers.AdvanceTo(Second);
        Assert.Equal(3_579_545u, bus.Read(AcpiPmPorts.PmTmrBlk, 4));

        _timers.AdvanceTo(Second + 1000);
        Assert.Equal(TicksAt(Second + 1000), timer.Counter);
        Assert.Equal(3_579_548u, timer.Counter);
    }

    [Fact]
    public void WrapsAt24Bits()
    {
        var timer = new AcpiPmTimer(_timers);

        // 2^24 ticks take about 4.687 s.
        long wrap = (long)Math.Ceiling(TicksPer2Pow24 * (double)Second / AcpiPmTimer.FrequencyHz);
        _timers.AdvanceTo(wrap - 1000);
        uint beforeWrap = timer.Counter;
        _timers.AdvanceTo(wrap + Second);
        uint afterWrap = timer.Counter;

        Assert.InRange(beforeWrap, 0xff_f000u, 0xff_ffffu);
        Assert.Equal((uint)(TicksAt(wrap + Second) & AcpiPmTimer.CounterMask), afterWrap);
        Assert.InRange(afterWrap, 3_579_000u, 3_580_000u);
        Assert.Equal(0u, afterWrap >> 24);
    }

    [Fact]
    public void WritesAreIgnored()
    {
        var timer = new AcpiPmTimer(_timers);
        _timers.AdvanceTo(Second);

        timer.Write(0, [0, 0, 0, 0]);

        Assert.Equal(3_579_545u, timer.Counter);
    }

    [Fact]
    public void SetsTmrStsWheneverBit23Changes()
    {
        var events = new AcpiPmEvent(new UnconnectedLine());
        _ = new AcpiPmTimer(_timers, events);
        long halfPeriod = (long)Math.Ceiling((1 << 23) * (double)Second / AcpiPmTimer.FrequencyHz);

        _timers.AdvanceTo(halfPeriod - 1000);
        Assert.Equal(0, events.Status & AcpiPmEvent.TmrSts);

        _timers.AdvanceTo(halfPeriod);
        Assert.Equal(AcpiPmEvent.TmrSts, events.Status & AcpiPmEvent.TmrSts);

        events.Write(0, [(byte)AcpiPmEvent.TmrSts]);
        _timers.AdvanceTo(2 * halfPeriod - 1000);
        Assert.Equal(0, events.Status & AcpiPmEvent.TmrSts);
        _timers.AdvanceTo(2 * halfPeriod);
        Assert.Equal(AcpiPmEvent.TmrSts, events.Status & AcpiPmEvent.TmrSts);
    }

    [Fact]
    public void RestoreContinuesFromTheSavedCount()
    {
        var timer = new AcpiPmTimer(_timers);
        _timers.AdvanceTo(Second);
        DeviceState saved = timer.Save();
        _timers.AdvanceTo(3 * Second);

        timer.Restore(saved);
        Assert.Equal(3_579_545u, timer.Counter);

        _timers.AdvanceTo(4 * Second);
        Assert.Equal(2 * 3_579_545u, timer.Counter);
    }
}
