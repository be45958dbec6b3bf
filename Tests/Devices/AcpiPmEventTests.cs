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
