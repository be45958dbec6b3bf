namespace Emulator.Devices.FwCfg;

/// <summary>
/// Selector keys of the fw_cfg items firmware reads by number (QEMU docs/specs/fw_cfg.rst,
/// "Firmware Configuration Items"; the numbers are QEMU's, which SeaBIOS and Linux's fw_cfg driver
/// use). Everything newer is a named file in the directory at <see cref="FileDir"/>.
/// </summary>
public static class FwCfgKeys
{
    /// <summary>"QEMU": proves the device is there.</summary>
    public const ushort Signature = 0x00;

    /// <summary>Feature bitmap, 32-bit little-endian: bit 0 traditional interface, bit 1 DMA.</summary>
    public const ushort Id = 0x01;

    /// <summary>The machine's UUID, 16 bytes (SMBIOS type 1).</summary>
    public const ushort Uuid = 0x02;

    /// <summary>Guest RAM in bytes, 64-bit little-endian.</summary>
    public const ushort RamSize = 0x03;

    /// <summary>16-bit: non-zero when the machine has no display (SeaBIOS then adds a serial console).</summary>
    public const ushort NoGraphic = 0x04;

    /// <summary>Number of CPUs present at boot, 16-bit little-endian.</summary>
    public const ushort NbCpus = 0x05;

    /// <summary>
    /// A kernel for firmware to boot, in pieces (setup code, protected-mode kernel, initrd, command
    /// line), each with its load address and size items and its data item.
    /// </summary>
    public const ushort KernelAddr = 0x07, KernelSize = 0x08, InitrdAddr = 0x0a, InitrdSize = 0x0b, KernelData = 0x11, InitrdData = 0x12,
        CmdlineAddr = 0x13, CmdlineSize = 0x14, CmdlineData = 0x15, SetupAddr = 0x16, SetupSize = 0x17, SetupData = 0x18;

    /// <summary>16-bit: non-zero to show the boot menu.</summary>
    public const ushort BootMenu = 0x0e;

    /// <summary>Maximum number of CPUs (hot-plug included), 16-bit little-endian.</summary>
    public const ushort MaxCpus = 0x0f;

    /// <summary>The file directory: a big-endian count, then 64-byte entries.</summary>
    public const ushort FileDir = 0x19;

    /// <summary>The first key given to a file.</summary>
    public const ushort FileFirst = 0x20;

    /// <summary>Bit 15: the key is architecture specific.</summary>
    public const ushort ArchLocal = 0x8000;

    /// <summary>x86: 8-bit, 1 when the ISA timer's IRQ 0 reaches IOAPIC input 2 (the MADT has that override).</summary>
    public const ushort Irq0Override = ArchLocal + 2;

    /// <summary>Feature bits of <see cref="Id"/>.</summary>
    public const uint IdTraditional = 1 << 0, IdDma = 1 << 1;
}
