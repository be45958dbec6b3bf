using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Devices.Acpi;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class AcpiPmEventTests
{
    private readonly UnconnectedLine _sci = new();
    private readonly IoPortBus _bus = new(new Lock());
    private readonly AcpiPmEvent _events;

    private const ushort Status = AcpiPmPorts.Pm1aEvtBlk;
    private const ushort Enable = AcpiPmPorts.Pm1aEvtBlk + 2;

    public AcpiPmEventTests()
    {
        _events = new AcpiPmEvent(_sci);
        _bus.Register(AcpiPmPorts.Pm1aEvtBlk, AcpiPmPorts.Pm1EvtLen, _events);
    }

    [Fact]
    public void StatusIsWriteOneToClear()
    {
        _events.Signal(AcpiPmEvent.PwrbtnSts | AcpiPmEvent.TmrSts);

        _bus.Write(Status, 2, AcpiPmEvent.TmrSts);

        Assert.Equal(AcpiPmEvent.PwrbtnSts, _bus.Read(Status, 2));
        _bus.Write(Status, 2, 0);
        Assert.Equal(AcpiPmEvent.PwrbtnSts, _bus.Read(Status, 2));
    }

    [Fact]
    public void EnableIsReadWriteAndReservedBitsReadZero()
    {
        _bus.Write(Enable, 2, 0xffff);

        Assert.Equal(0x4721u, _bus.Read(Enable, 2));
    }

    [Fact]
    public void SciFollowsStatusAndEnable()
    {
        _events.Signal(AcpiPmEvent.PwrbtnSts);
        Assert.False(_sci.Level);

        _bus.Write(Enable, 2, AcpiPmEvent.PwrbtnSts);
        Assert.True(_sci.Level);

        _bus.Write(Status, 2, AcpiPmEvent.PwrbtnSts);
        Assert.False(_sci.Level);
    }

    [Fact]
    public void DwordAccessCoversStatusAndEnable()
    {
        _events.Signal(AcpiPmEvent.RtcSts);

        _bus.Write(Status, 4, AcpiPmEvent.RtcSts | ((uint)AcpiPmEvent.TmrSts << 16));

        Assert.Equal((uint)AcpiPmEvent.TmrSts << 16, _bus.Read(Status, 4));
    }

    // ACPI 6.5 Table 4.16: RTC_STS is set when the RTC asserts its IRQ signal; with RTC_EN that is a
    // power management event (the SCI while awake, a wake while asleep).
    [Fact]
    public void RtcInterruptSetsRtcStsOnItsRisingEdgeAndWakesOnlyWithRtcEn()
    {
        int wakes = 0;
        _events.WakeEvent += () => wakes++;

        _events.RtcInterrupt.Set(true);
        Assert.Equal(AcpiPmEvent.RtcSts, _bus.Read(Status, 2));
        Assert.False(_events.WakeEventPending);
        Assert.False(_sci.Level);
        Assert.Equal(0, wakes);

        // Cleared while the line stays high: no new edge, no new status.
        _bus.Write(Status, 2, AcpiPmEvent.RtcSts);
        _events.RtcInterrupt.Set(true);
        Assert.Equal(0u, _bus.Read(Status, 2));

        _bus.Write(Enable, 2, AcpiPmEvent.RtcEn);
        Assert.Equal(AcpiPmEvent.RtcEn, _bus.Read(Enable, 2));
        _events.RtcInterrupt.Set(false);
        _events.RtcInterrupt.Set(true);
        Assert.Equal(AcpiPmEvent.RtcSts, _bus.Read(Status, 2));
        Assert.True(_events.WakeEventPending);
        Assert.True(_sci.Level);
        Assert.Equal(1, wakes);

        // Enabling RTC_EN while RTC_STS is already set is a wake event too; clearing the status ends it.
        _bus.Write(Enable, 2, 0);
        _bus.Write(Enable, 2, AcpiPmEvent.RtcEn);
        Assert.Equal(2, wakes);
        _bus.Write(Status, 2, AcpiPmEvent.RtcSts);
        Assert.False(_events.WakeEventPending);
        Assert.False(_sci.Level);
    }

    [Fact]
    public void WakStsIsSetByThePlatformAndClearedByWritingOne()
    {
        _events.Signal(AcpiPmEvent.WakSts);
        Assert.Equal(AcpiPmEvent.WakSts, _bus.Read(Status, 2));
        Assert.False(_sci.Level);

        _bus.Write(Status, 2, AcpiPmEvent.WakSts);
        Assert.Equal(0u, _bus.Read(Status, 2));
    }

    [Fact]
    public void StateRoundTrips()
    {
        _events.Signal(AcpiPmEvent.SlpbtnSts);
        _bus.Write(Enable, 2, AcpiPmEvent.SlpbtnSts);
        DeviceState saved = _events.Save();
        _events.Reset();
        Assert.False(_sci.Level);

        _events.Restore(saved);

        Assert.Equal(AcpiPmEvent.SlpbtnSts, _events.Status);
        Assert.Equal(AcpiPmEvent.SlpbtnSts, _events.Enable);
        Assert.True(_sci.Level);
    }
}
