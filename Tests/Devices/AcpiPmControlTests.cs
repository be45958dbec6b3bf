using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Machine;
using Emulator.Devices.Acpi;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class AcpiPmControlTests : IDisposable
{
    private readonly MachineControl _control = new();
    private readonly IoPortBus _bus = new(new Lock());
    private readonly AcpiPmControl _pm1aCnt;

    public AcpiPmControlTests()
    {
        _pm1aCnt = new AcpiPmControl(_control);
        _bus.Register(AcpiPmPorts.Pm1aCntBlk, AcpiPmPorts.Pm1CntLen, _pm1aCnt);
    }

    public void Dispose() => _control.Dispose();

    private static uint SleepWrite(int slpTyp) => (uint)((slpTyp << 10) | AcpiPmControl.SlpEn);

    [Fact]
    public void SlpEnWithS5PowersOff()
    {
        _bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, SleepWrite(AcpiPmControl.SlpTypS5));

        Assert.Equal(MachineRequest.PowerOff, _control.Request);
    }

    [Fact]
    public void ByteWriteToTheHighHalfAlsoPowersOff()
    {
        _bus.Write(AcpiPmPorts.Pm1aCntBlk + 1, 1, SleepWrite(AcpiPmControl.SlpTypS5) >> 8);

        Assert.Equal(MachineRequest.PowerOff, _control.Request);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    public void OtherSleepTypesDoNotPowerOff(int slpTyp)
    {
        _bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, SleepWrite(slpTyp));

        Assert.Equal(MachineRequest.None, _control.Request);
        Assert.Equal(slpTyp, _pm1aCnt.SleepType);
    }

    [Fact]
    public void SlpEnWithS3CallsTheMachinesSleepOnceAndRaisesNothingItself()
    {
        int sleeps = 0;
        using var control = new MachineControl();
        var pm1aCnt = new AcpiPmControl(control, enterS3: () => sleeps++);
        var bus = new IoPortBus(new Lock());
        bus.Register(AcpiPmPorts.Pm1aCntBlk, AcpiPmPorts.Pm1CntLen, pm1aCnt);

        bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, (uint)(AcpiPmControl.SlpTypS3 << 10));
        Assert.Equal(0, sleeps);
        bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, SleepWrite(AcpiPmControl.SlpTypS3));

        Assert.Equal(1, sleeps);
        Assert.Equal(MachineRequest.None, control.Request);
        // SLP_EN is write-only (Table 4.18): it reads as 0, SLP_TYP as written.
        Assert.Equal((uint)(AcpiPmControl.SciEn | (AcpiPmControl.SlpTypS3 << 10)), bus.Read(AcpiPmPorts.Pm1aCntBlk, 2));
    }

    [Fact]
    public void S5WithoutSlpEnOnlySelectsTheState()
    {
        _bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, (uint)(AcpiPmControl.SlpTypS5 << 10));

        Assert.Equal(MachineRequest.None, _control.Request);
        Assert.Equal(AcpiPmControl.SlpTypS5, _pm1aCnt.SleepType);
    }

    [Fact]
    public void SciEnReadsSetAndWriteOnlyBitsReadZero()
    {
        Assert.Equal(AcpiPmControl.SciEn, _bus.Read(AcpiPmPorts.Pm1aCntBlk, 2));

        _bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, SleepWrite(1) | AcpiPmControl.GblRls);

        Assert.Equal((uint)((1 << 10) | AcpiPmControl.SciEn), _bus.Read(AcpiPmPorts.Pm1aCntBlk, 2));
    }

    [Fact]
    public void StateRoundTrips()
    {
        _bus.Write(AcpiPmPorts.Pm1aCntBlk, 2, (3 << 10) | AcpiPmControl.BmRld);
        DeviceState saved = _pm1aCnt.Save();
        _pm1aCnt.Reset();
        Assert.Equal(AcpiPmControl.SciEn, _pm1aCnt.Value);

        _pm1aCnt.Restore(saved);

        Assert.Equal((ushort)((3 << 10) | AcpiPmControl.BmRld | AcpiPmControl.SciEn), _pm1aCnt.Value);
    }
}
