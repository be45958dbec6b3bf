using Emulator.Core.Memory;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>Base address registers: sizing (PCI 3.0 §6.2.5.1) and decoding under the command register (§6.2.2).</summary>
public sealed class PciBarTests : IDisposable
{
    private readonly PciTestBench _pc = new();
    private readonly TestFunction _f = new(pin: 1);

    public PciBarTests() => _pc.Bus.Attach(4, 0, _f);

    public void Dispose() => _pc.Dispose();

    [Fact]
    public void SizingByWritingAllOnesReturnsTheSizeMaskAndTypeBits()
    {
        uint original = _pc.ConfigRead(4, 0, 0x10, 4);
        _pc.ConfigWrite(4, 0, 0x10, 4, 0xffff_ffff);
        uint memory = _pc.ConfigRead(4, 0, 0x10, 4);
        _pc.ConfigWrite(4, 0, 0x10, 4, original);

        _pc.ConfigWrite(4, 0, 0x14, 4, 0xffff_ffff);
        uint io = _pc.ConfigRead(4, 0, 0x14, 4);

        Assert.Equal(0xffff_f000u, memory); // 32-bit, non-prefetchable memory: bits 3:0 = 0
        Assert.Equal(0x1000u, ~(memory & ~0xfu) + 1);
        Assert.Equal(0xffff_ffe1u, io); // I/O: bit 0 = 1
        Assert.Equal(0x20u, ~(io & ~0x3u) + 1);
        Assert.Equal(0u, original);

        // Unimplemented BARs read 0 whatever is written.
        _pc.ConfigWrite(4, 0, 0x18, 4, 0xffff_ffff);
        Assert.Equal(0u, _pc.ConfigRead(4, 0, 0x18, 4));
    }

    [Fact]
    public void EnablingMemoryDecodingMapsTheBarAndDisablingUnmapsIt()
    {
        _pc.ConfigWrite(4, 0, 0x10, 4, 0xe000_0000);
        Assert.Null(_pc.Memory.Find(0xe000_0000)); // command register still 0

        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0002);
        MemoryRegion? region = _pc.Memory.Find(0xe000_0010);
        Assert.NotNull(region);
        Assert.Equal(RegionKind.Mmio, region.Kind);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(0xe000_0010), 4, 0x1234_5678);
        Assert.Equal((true, 0x10UL), (_f.MemoryBar.Accesses[^1].IsWrite, _f.MemoryBar.Accesses[^1].Offset));

        // Moving the BAR moves the decoding.
        _pc.ConfigWrite(4, 0, 0x10, 4, 0xe010_0000);
        Assert.Null(_pc.Memory.Find(0xe000_0010));
        Assert.NotNull(_pc.Memory.Find(0xe010_0fff));

        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0000);
        Assert.Null(_pc.Memory.Find(0xe010_0000));
        Assert.Equal(0xffff_ffffUL, _pc.Memory.ReadUInt(new GuestPhysicalAddress(0xe010_0000), 4));
    }

    [Fact]
    public void EnablingIoDecodingClaimsThePorts()
    {
        _pc.ConfigWrite(4, 0, 0x14, 4, 0xd000);
        Assert.Null(_pc.Io.DeviceAt(0xd000));

        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0001);
        Assert.Same(_f.IoBar, _pc.Io.DeviceAt(0xd01f));
        _pc.Io.Write(0xd004, 1, 0x5a);
        Assert.Equal(4UL, _f.IoBar.Accesses[^1].Offset);

        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0000);
        Assert.Null(_pc.Io.DeviceAt(0xd000));
    }

    [Fact]
    public void ABarProgrammedOverRamStaysUnmappedAndRamIsIntact()
    {
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(0x1000), 4, 0xcafe_f00d);
        _pc.ConfigWrite(4, 0, 0x10, 4, 0x1000);
        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0003);

        Assert.Equal(RegionKind.Ram, _pc.Memory.Find(0x1000)!.Kind);
        Assert.Equal(0xcafe_f00dUL, _pc.Memory.ReadUInt(new GuestPhysicalAddress(0x1000), 4));
        Assert.Equal(1, _pc.Bus.ConflictingBars);

        // Moved somewhere free, it decodes.
        _pc.ConfigWrite(4, 0, 0x10, 4, 0xe000_0000);
        Assert.NotNull(_pc.Memory.Find(0xe000_0000));
    }

    [Fact]
    public void ResetUnmapsAndRestoreMapsAgain()
    {
        _pc.ConfigWrite(4, 0, 0x10, 4, 0xe000_0000);
        _pc.ConfigWrite(4, 0, 0x04, 2, 0x0002);
        var saved = _f.Save();

        _f.Reset();
        Assert.Null(_pc.Memory.Find(0xe000_0000));
        Assert.Equal(0u, _pc.ConfigRead(4, 0, 0x10, 4));
        Assert.Equal(0x5678_1234u, _pc.ConfigRead(4, 0, 0x00, 4));

        _f.Restore(saved);
        Assert.NotNull(_pc.Memory.Find(0xe000_0000));
        Assert.Equal(0xe000_0000u, _pc.ConfigRead(4, 0, 0x10, 4));
    }

    [Fact]
    public void FirmwareAssignmentPlacesAlignedBarsAndEnablesDecoding()
    {
        _pc.Firmware();

        uint bar0 = _pc.ConfigRead(4, 0, 0x10, 4);
        uint bar1 = _pc.ConfigRead(4, 0, 0x14, 4) & ~3u;
        Assert.Equal(0u, bar0 % 0x1000);
        Assert.InRange(bar0, 0xc000_0000u, 0xfebf_f000u);
        Assert.InRange(bar1, 0xc000u, 0xffe0u);
        Assert.Equal(0x0007u, _pc.ConfigRead(4, 0, 0x04, 2) & 0x0007);
        Assert.NotNull(_pc.Memory.Find(bar0));
        Assert.Same(_f.IoBar, _pc.Io.DeviceAt((ushort)bar1));
    }

    [Fact]
    public void CapabilitiesPointerIsZeroWithoutCapabilities()
    {
        Assert.Equal(0u, _pc.ConfigRead(4, 0, 0x06, 2) & 0x10);
        Assert.Equal(0u, _pc.ConfigRead(4, 0, 0x34, 1));
    }
}
