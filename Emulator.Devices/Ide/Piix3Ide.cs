using Emulator.Core.Devices;
using Emulator.Core.Memory;
using Emulator.Devices.Chipset;
using Emulator.Devices.Pci;

namespace Emulator.Devices.Ide;

/// <summary>
/// The PIIX3's IDE function (82371SB datasheet section 2.4, PCI 8086:7010, class 01.01.80: IDE
/// controller, both channels in compatibility mode). In that mode the channels answer at the
/// legacy ports (primary 0x1F0-0x1F7 / 0x3F6, IRQ 14; secondary 0x170-0x177 / 0x376, IRQ 15),
/// which the machine registers; this function carries the identity firmware and drivers look for
/// and the IDE timing registers, whose bit 15 "IDE decode enable" Linux's ata_piix reads to know
/// which channels are on (firmware sets it). Deviation: the legacy ports decode whatever the
/// timing registers say. BAR 4 holds the bus master IDE registers (<see cref="BusMasterIde"/>).
/// </summary>
public sealed class Piix3Ide : PciFunction
{
    /// <summary>82371SB IDE device ID.</summary>
    public const ushort Piix3IdeDeviceId = 0x7010;

    /// <summary>Legacy port bases (command block, control block) of the two channels.</summary>
    public const ushort PrimaryCommand = 0x1f0, PrimaryControl = 0x3f6, SecondaryCommand = 0x170, SecondaryControl = 0x376;

    /// <summary>ISA IRQs of the two channels in compatibility mode.</summary>
    public const int PrimaryIrq = 14, SecondaryIrq = 15;

    /// <summary>IDE Timing registers (primary 0x40, secondary 0x42) and their decode enable bit.</summary>
    public const int IdetimPrimary = 0x40, IdetimSecondary = 0x42;

    /// <summary>IDETIM bit 15: the channel decodes its ports.</summary>
    public const ushort IdeDecodeEnable = 0x8000;

    private const int Sidetim = 0x44;

    /// <summary>Creates the function for the two channels; their bus master DMA moves data through <paramref name="memory"/>.</summary>
    public Piix3Ide(IdeChannel primary, IdeChannel secondary, AddressSpace memory)
        : base("piix3-ide", I440fx.IntelVendorId, Piix3IdeDeviceId, revision: 0x00, classCode: 0x01_01_80)
    {
        Primary = primary;
        Secondary = secondary;
        BusMaster = new BusMasterIde(memory, () => (Command & CommandBusMaster) != 0);
        primary.AttachBusMaster(BusMaster, BusMaster.For(0));
        secondary.AttachBusMaster(BusMaster, BusMaster.For(1));
        AddBar(new PciBar(4, PciBarKind.Io, BusMasterIde.Size, BusMaster));
        SetWritable(IdetimPrimary, 0xffff_ffff, 4);
        SetWritable(Sidetim, 0xff, 1);
        Reset();
    }

    /// <summary>The bus master IDE registers (BAR 4).</summary>
    public BusMasterIde BusMaster { get; }

    /// <summary>The primary channel.</summary>
    public IdeChannel Primary { get; }

    /// <summary>The secondary channel.</summary>
    public IdeChannel Secondary { get; }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        BusMaster?.Reset();
    }

    /// <summary>
    /// True while either channel is in the middle of a command's data phase (PIO or a DMA request
    /// waiting for its engine): the drives continue those from callbacks that are not part of any
    /// saved state, so the machine takes snapshots only between commands.
    /// </summary>
    public bool TransferInProgress => Primary.TransferInProgress || Secondary.TransferInProgress;

    /// <inheritdoc/>
    protected override int StateVersion => 2;

    /// <inheritdoc/>
    protected override void SaveState(BinaryWriter writer)
    {
        // The bus master registers live in BAR 4 of this function: their state is the function's.
        DeviceState busMaster = BusMaster.Save();
        writer.Write(busMaster.Version);
        writer.Write(busMaster.Data.Length);
        writer.Write(busMaster.Data);
    }

    /// <inheritdoc/>
    protected override void RestoreState(BinaryReader reader)
    {
        int version = reader.ReadInt32();
        int length = reader.ReadInt32();
        byte[] data = length is >= 0 and <= 4096 ? reader.ReadBytes(length) : throw new InvalidDataException($"{Name}: bus master state of {length} bytes");
        BusMaster.Restore(new DeviceState(BusMaster.Name, version, data));
    }

    /// <summary>What firmware does: both channels decode (IDETIM bit 15), as SeaBIOS's PIIX set-up writes.</summary>
    public void EnableDecode()
    {
        WriteConfig(IdetimPrimary, 2, IdeDecodeEnable);
        WriteConfig(IdetimSecondary, 2, IdeDecodeEnable);
    }
}
