using Emulator.Core.Devices;
using Emulator.Devices.Intc;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>The IOAPIC against the 82093AA datasheet, delivering to local APICs.</summary>
public sealed class IoApicTests : IDisposable
{
    private const uint Masked = 1u << 16, Level = 1u << 15, RemoteIrr = 1u << 14, Logical = 1u << 11;

    private readonly ApicTestRig _rig = new(2);

    public IoApicTests() => _rig.EnableAll();

    public void Dispose() => _rig.Dispose();

    private void Route(int pin, uint low, byte destination)
    {
        _rig.WriteIoApic(0x11 + (2 * (uint)pin), (uint)destination << 24);
        _rig.WriteIoApic(0x10 + (2 * (uint)pin), low);
    }

    [Fact]
    public void RegistersHaveTheirResetValues()
    {
        Assert.Equal(0u, _rig.ReadIoApic(0x00));
        Assert.Equal(0x0017_0011u, _rig.ReadIoApic(0x01));
        Assert.Equal(0u, _rig.ReadIoApic(0x02));
        for (uint pin = 0; pin < 24; pin++)
        {
            Assert.Equal(Masked, _rig.ReadIoApic(0x10 + (2 * pin)));
            Assert.Equal(0u, _rig.ReadIoApic(0x11 + (2 * pin)));
        }
    }

    [Fact]
    public void IdIsFourBitsAndArbitrationFollowsIt()
    {
        _rig.WriteIoApic(0x00, 0xFFFF_FFFF);
        Assert.Equal(0x0F00_0000u, _rig.ReadIoApic(0x00));
        Assert.Equal(0x0F00_0000u, _rig.ReadIoApic(0x02));
        _rig.WriteIoApic(0x01, 0);
        Assert.Equal(0x0017_0011u, _rig.ReadIoApic(0x01));
    }

    [Fact]
    public void EdgeInputIsRedirectedToTheChosenApic()
    {
        Route(3, 0x33, destination: 1);
        _rig.IoApic.Lines[3].Set(true);

        Assert.True(_rig.Apics[1].IsRequested(0x33));
        Assert.False(_rig.Apics[0].IsRequested(0x33));
        Assert.True(_rig.Apics[1].HasInterrupt);
        Assert.Equal(0x33, _rig.Apics[1].Acknowledge());

        // No new edge, no new interrupt.
        _rig.IoApic.Lines[3].Set(true);
        Assert.False(_rig.Apics[1].IsRequested(0x33));
        _rig.IoApic.Lines[3].Set(false);
        _rig.IoApic.Lines[3].Set(true);
        Assert.True(_rig.Apics[1].IsRequested(0x33));
    }

    [Fact]
    public void LogicalDestinationReachesEveryMatchingApic()
    {
        ApicTestRig.Write(_rig.Apics[0], 0xD0, 0x01u << 24);
        ApicTestRig.Write(_rig.Apics[1], 0xD0, 0x02u << 24);
        Route(5, Logical | 0x45, destination: 0x03);
        _rig.IoApic.Lines[5].Set(true);
        Assert.All(_rig.Apics, a => Assert.True(a.IsRequested(0x45)));
    }

    [Fact]
    public void MaskedEdgesAreLost()
    {
        Route(4, Masked | 0x34, destination: 0);
        _rig.IoApic.Lines[4].Set(true);
        Assert.False(_rig.Apics[0].IsRequested(0x34));

        Route(4, 0x34, destination: 0);
        Assert.False(_rig.Apics[0].IsRequested(0x34));
    }

    [Fact]
    public void LevelInputSetsRemoteIrrUntilTheEoiAndIsResentWhileAsserted()
    {
        LocalApic apic = _rig.Apics[0];
        Route(9, Level | 0x49, destination: 0);
        _rig.IoApic.Lines[9].Set(true);

        Assert.True(apic.IsRequested(0x49));
        Assert.Equal(RemoteIrr, _rig.ReadIoApic(0x10 + 18) & RemoteIrr);
        Assert.Equal(1u << 9, ApicTestRig.Read(apic, 0x180 + 0x20)); // TMR bit 0x49

        Assert.Equal(0x49, apic.Acknowledge());
        Assert.False(apic.IsRequested(0x49));

        // EOI with the line still asserted: Remote IRR clears and the interrupt comes again.
        ApicTestRig.Write(apic, 0xB0, 0);
        Assert.True(apic.IsRequested(0x49));
        Assert.Equal(RemoteIrr, _rig.ReadIoApic(0x10 + 18) & RemoteIrr);

        // The device drops the line; the next EOI leaves nothing pending.
        _rig.IoApic.Lines[9].Set(false);
        Assert.Equal(0x49, apic.Acknowledge());
        ApicTestRig.Write(apic, 0xB0, 0);
        Assert.False(apic.IsRequested(0x49));
        Assert.Equal(0u, _rig.ReadIoApic(0x10 + 18) & RemoteIrr);
    }

    // Intel SDM Vol. 3A 11.8.4: on acceptance into the IRR the TMR bit is set for a level-triggered
    // interrupt and cleared for an edge-triggered one; nothing else changes it, so it survives the
    // EOI (which reads it to decide whether the IOAPIC hears of the EOI, 11.8.5).
    [Fact]
    public void TmrBitChangesOnlyWhenTheVectorIsAcceptedAgain()
    {
        LocalApic apic = _rig.Apics[0];
        Route(9, Level | 0x49, destination: 0);
        _rig.IoApic.Lines[9].Set(true);
        Assert.Equal(0x49, apic.Acknowledge());
        _rig.IoApic.Lines[9].Set(false);
        ApicTestRig.Write(apic, 0xB0, 0);
        Assert.False(apic.IsInService(0x49));
        Assert.Equal(1u << 9, ApicTestRig.Read(apic, 0x180 + 0x20)); // TMR bit 0x49 after the EOI

        // The same vector again, now edge-triggered: its acceptance clears the bit.
        Route(9, 0x49, destination: 0);
        _rig.IoApic.Lines[9].Set(true);
        Assert.True(apic.IsRequested(0x49));
        Assert.Equal(0u, ApicTestRig.Read(apic, 0x180 + 0x20));
    }

    [Fact]
    public void EdgeEoiDoesNotReachTheIoApic()
    {
        Route(9, Level | 0x49, destination: 0);
        _rig.IoApic.Lines[9].Set(true);
        LocalApic apic = _rig.Apics[0];
        ApicTestRig.Write(_rig.Apics[1], 0x310, 0);
        ApicTestRig.Write(_rig.Apics[1], 0x300, 0x60); // an edge IPI of higher priority
        Assert.Equal(0x60, apic.Acknowledge());
        ApicTestRig.Write(apic, 0xB0, 0);
        Assert.Equal(RemoteIrr, _rig.ReadIoApic(0x10 + 18) & RemoteIrr);
    }

    [Fact]
    public void UnmaskingAnAssertedLevelInputDeliversIt()
    {
        Route(10, Masked | Level | 0x4A, destination: 1);
        _rig.IoApic.Lines[10].Set(true);
        Assert.False(_rig.Apics[1].IsRequested(0x4A));
        Route(10, Level | 0x4A, destination: 1);
        Assert.True(_rig.Apics[1].IsRequested(0x4A));
    }

    [Fact]
    public void NmiDeliveryModeRaisesNmi()
    {
        Route(2, 4u << 8, destination: 1);
        _rig.IoApic.Lines[2].Set(true);
        Assert.Equal(1, _rig.Processors[1].Nmis);
    }

    [Fact]
    public void RegisterIndicesOutsideTheTableReadZeroAndIgnoreWrites()
    {
        _rig.WriteIoApic(0x40, 0x1234);
        _rig.WriteIoApic(0xFF, 0x1234);
        Assert.Equal(0u, _rig.ReadIoApic(0x40));
        Assert.Equal(0u, _rig.ReadIoApic(0xFF));
        Assert.Equal(Masked, _rig.ReadIoApic(0x10 + 46));
    }

    [Fact]
    public void ReadOnlyBitsOfAnEntryIgnoreWrites()
    {
        _rig.WriteIoApic(0x10, 0xFFFF_FFFF);
        // Delivery status (12), Remote IRR (14) and bits 17-31 are not writable.
        Assert.Equal(0xFFFFu & ~((1u << 12) | RemoteIrr) | Masked, _rig.ReadIoApic(0x10));
        _rig.WriteIoApic(0x11, 0xFFFF_FFFF);
        Assert.Equal(0xFF00_0000u, _rig.ReadIoApic(0x11));
    }

    [Fact]
    public void SaveAndRestoreKeepTheTableAndRemoteIrr()
    {
        Route(9, Level | 0x49, destination: 0);
        _rig.IoApic.Lines[9].Set(true);
        DeviceState saved = _rig.IoApic.Save();
        _rig.IoApic.Reset();
        Assert.Equal(Masked, _rig.ReadIoApic(0x10 + 18));
        _rig.IoApic.Restore(saved);
        Assert.Equal(Level | RemoteIrr | 0x49u, _rig.ReadIoApic(0x10 + 18));
        Assert.Throws<InvalidDataException>(() => _rig.IoApic.Restore(saved with { Version = 2 }));
    }
}
