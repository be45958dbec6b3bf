using Emulator.Backends.Chardev;
using Emulator.Core.Memory;
using Emulator.Machines;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>The PC machine's PCI bus as a guest finds it at boot: identities per slot, BARs placed and decoding.</summary>
public sealed class PcPciTests : IDisposable
{
    private readonly string _image = Path.Combine(Path.GetTempPath(), $"emu-pcpci-{Guid.NewGuid():n}.img");

    public PcPciTests() => File.WriteAllBytes(_image, new byte[64 * 512]);

    public void Dispose() => File.Delete(_image);

    private static uint Config(PcMachine pc, int slot, int register, int size)
    {
        pc.Platform.Io.Write(0xcf8, 4, 0x8000_0000u | ((uint)slot << 11) | ((uint)register & 0xfc));
        return pc.Platform.Io.Read((ushort)(0xcfc + (register & 3)), size);
    }

    [Fact]
    public void SlotsHoldTheChipsetRngAndDrives()
    {
        using var pc = new PcMachine(new PcConfig { DeterministicTime = true, Drives = [new DriveConfig(_image, ReadOnly: true)] }, new NullSerialBackend());

        Assert.Equal(0x1237_8086u, Config(pc, 0, 0, 4));
        Assert.Equal(0x7000_8086u, Config(pc, 1, 0, 4));
        Assert.Equal(0x1044_1af4u, Config(pc, PcPci.RngSlot, 0, 4));
        Assert.Equal(0x1042_1af4u, Config(pc, PcPci.FirstDriveSlot, 0, 4));
        Assert.Equal(0xffff_ffffu, Config(pc, PcPci.FirstDriveSlot + 1, 0, 4));

        uint bar = Config(pc, PcPci.FirstDriveSlot, 0x10, 4);
        Assert.InRange(bar, (uint)PcPci.MemoryWindowStart, (uint)PcPci.MemoryWindowEnd);
        Assert.Equal(RegionKind.Mmio, pc.Platform.Memory.Find(bar)!.Kind);
        Assert.Equal(64UL, pc.Platform.Memory.ReadUInt(new GuestPhysicalAddress(bar + 0x2000), 8)); // capacity
        Assert.Equal(11u, Config(pc, PcPci.FirstDriveSlot, 0x3c, 1));
    }

    [Fact]
    public void ABadDriveFailsBeforeTheMachineIsBuilt()
    {
        var e = Assert.Throws<MachineConfigException>(() =>
            new PcMachine(new PcConfig { Drives = [new DriveConfig(_image, false), new DriveConfig(_image + ".missing", false)] }, new NullSerialBackend()));
        Assert.Equal($"--drive {_image}.missing: no such file", e.Message);

        // The first image was closed again: an exclusive open succeeds.
        new FileStream(_image, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
    }
}
