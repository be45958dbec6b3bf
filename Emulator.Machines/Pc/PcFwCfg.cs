using System.Buffers.Binary;
using System.Text;
using Emulator.Devices.FwCfg;
using Emulator.Machines.Acpi;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;
using Emulator.Machines.Smbios;

namespace Emulator.Machines.Pc;

/// <summary>
/// What the PC tells its firmware through fw_cfg, with the names and formats QEMU uses, since
/// SeaBIOS reads exactly those (src/fw/paravirt.c, romfile_loader.c, boot.c): the RAM size and
/// CPU count, the E820 RAM ranges ("etc/e820"), the ACPI tables with their loader script, the boot
/// order and boot menu, the serial console port, option ROMs (<c>genroms/</c>) and the SMBIOS tables.
/// </summary>
public static class PcFwCfg
{
    /// <summary>File names.</summary>
    public const string E820File = "etc/e820", BootOrderFile = "bootorder", BootMenuWaitFile = "etc/boot-menu-wait",
        SerconPortFile = "etc/sercon-port";

    /// <summary>How long SeaBIOS waits in its boot menu, in milliseconds, when the menu is asked for.</summary>
    public const ushort BootMenuWaitMs = 2500;

    /// <summary>Fills <paramref name="fwCfg"/> for the machine <paramref name="config"/> describes.</summary>
    /// <param name="fwCfg">The device.</param>
    /// <param name="config">The machine.</param>
    /// <param name="bootOrder">Firmware device paths, most preferred first (QEMU/OpenFirmware style, e.g. /pci@i0cf8/ide@1,1/drive@0/disk@0).</param>
    public static void Fill(FwCfgDevice fwCfg, PcConfig config, IReadOnlyList<string> bootOrder)
    {
        // The machine's UUID as QEMU gives it (its -uuid, which -smbios type=1,uuid= sets too): in RFC 4122 byte order.
        fwCfg.AddItem(FwCfgKeys.Uuid, (config.Smbios.Uuid ?? Guid.Empty).ToByteArray(bigEndian: true));
        fwCfg.AddItem(FwCfgKeys.RamSize, Le(config.MemoryBytes, 8));
        fwCfg.AddItem(FwCfgKeys.NbCpus, Le((ulong)config.Cpus, 2));
        fwCfg.AddItem(FwCfgKeys.MaxCpus, Le((ulong)config.Cpus, 2));
        fwCfg.AddItem(FwCfgKeys.BootMenu, Le(config.BootMenu ? 1UL : 0, 2));
        fwCfg.AddItem(FwCfgKeys.NoGraphic, Le(0, 2));

        // The MADT sends the PIT's IRQ 0 to IOAPIC input 2 (Madt's interrupt source override).
        fwCfg.AddItem(FwCfgKeys.Irq0Override, [1]);

        fwCfg.AddFile(E820File, E820Entries(config.MemoryBytes));

        // A kernel that starts in real mode: emu's ROM loads it, before any drive.
        if (config.Kernel is { RealModeEntry: true } kernel)
        {
            (ulong lowStart, ulong lowLength) = PcMemoryMap.RamRanges(config.MemoryBytes).First();
            LinuxBootRom.AddTo(fwCfg, RealModeKernel.Build(kernel, lowStart + lowLength));
            bootOrder = [LinuxBootRom.BootPath, .. bootOrder];
        }

        if (bootOrder.Count > 0)
        {
            fwCfg.AddFile(BootOrderFile, Encoding.ASCII.GetBytes(string.Join('\n', bootOrder) + "\0"));
        }

        if (config.BootMenu)
        {
            fwCfg.AddFile(BootMenuWaitFile, Le(BootMenuWaitMs, 2));
        }

        // SeaBIOS's serial console: what it and option ROMs print through INT 10h also goes to COM1.
        fwCfg.AddFile(SerconPortFile, Le(PcMachine.Com1Port, 2));

        foreach (OptionRomImage rom in config.OptionRoms)
        {
            fwCfg.AddFile(rom.Name, rom.Image);
        }

        // SMBIOS: SeaBIOS installs these instead of building its own (src/fw/biostables.c), and sets
        // the table's address in the entry point; 0 until then.
        var smbios = SmbiosTables.Build(config.Smbios, config.Cpus, config.MemoryBytes);
        fwCfg.AddFile(SmbiosTables.TablesFile, smbios.Table);
        fwCfg.AddFile(SmbiosTables.AnchorFile, smbios.EntryPoint(0));

        AcpiTableSet acpi = AcpiTableSet.Build(config.Cpus, config.Hpet);
        fwCfg.AddFile(AcpiTableSet.TablesFile, acpi.Tables);
        fwCfg.AddFile(AcpiTableSet.RsdpFile, acpi.Rsdp);
        fwCfg.AddFile(AcpiTableSet.LoaderFile, acpi.LoaderScript());
    }

    // struct e820_entry { u64 address; u64 length; u32 type; }, packed, little-endian: the RAM the
    // machine has. Firmware carves out the legacy holes and what it reserves for itself, as it does
    // with QEMU's table (RAM from 0 to the end of low memory, then above 4 GiB).
    private static byte[] E820Entries(ulong memoryBytes)
    {
        List<(ulong Address, ulong Length)> entries = [.. PcMemoryMap.RamRanges(memoryBytes)];

        byte[] table = new byte[20 * entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            Span<byte> e = table.AsSpan(20 * i, 20);
            BinaryPrimitives.WriteUInt64LittleEndian(e, entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], entries[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)E820Type.Ram);
        }

        return table;
    }

    private static byte[] Le(ulong value, int size)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b[..size];
    }
}
