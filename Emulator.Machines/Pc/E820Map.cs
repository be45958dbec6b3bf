namespace Emulator.Machines.Pc;

/// <summary>Address range types of the BIOS E820 interface (ACPI 6.5 15.1, Table 15.1).</summary>
public enum E820Type : uint
{
    /// <summary>AddressRangeMemory: RAM the OS may use.</summary>
    Ram = 1,
    /// <summary>AddressRangeReserved: firmware or device memory; the OS leaves it alone.</summary>
    Reserved = 2,
    /// <summary>AddressRangeACPI: ACPI tables; usable once the OS has read them.</summary>
    Acpi = 3,
    /// <summary>AddressRangeNVS: must be preserved across sleep.</summary>
    Nvs = 4,
}

/// <summary>One range of the E820 map.</summary>
/// <param name="Address">First byte.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="Type">What the range holds.</param>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    /// <summary>The first byte after the range.</summary>
    public ulong End => Address + Size;
}

/// <summary>
/// The PC's physical memory map as firmware reports it (INT 15h E820): the one source of truth for
/// the Linux boot_params e820 table, the multiboot mmap and mem_lower/mem_upper, and where the
/// machine places its ACPI and SMBIOS tables.
/// <list type="bullet">
/// <item>RAM 0 - 9FC00: conventional memory, minus the 1 KiB extended BIOS data area (EBDA) at
/// 9FC00-A0000, which is reserved.</item>
/// <item>Reserved: the firmware's legacy window below 1 MiB (F0000-FFFFF for the 64 KiB demo ROM),
/// which holds the RSDP and the SMBIOS entry point of a direct kernel boot.</item>
/// <item>RAM 1 MiB - the PCI hole at 3 GiB (or the end of RAM), minus two ranges at its top: the SMBIOS
/// structure table's (<see cref="SmbiosTableSize"/>, reserved, as firmware keeps the tables it places
/// in high memory), then <see cref="AcpiTablesSize"/> for the ACPI tables: its first page, which holds
/// the FACS, reported as ACPI NVS memory (OSPM writes its waking vector and global lock there, so it
/// must outlive the boot: ACPI 6.5 5.2.10, 15.3), the rest as ACPI memory, where the XSDT, FADT, DSDT
/// and MADT live.</item>
/// <item>RAM from 4 GiB: whatever did not fit below the hole.</item>
/// </list>
/// </summary>
public sealed class E820Map
{
    /// <summary>Start of the extended BIOS data area (its segment, 9FC0, is stored at 40E in the BIOS data area).</summary>
    public const ulong EbdaStart = 0x9_fc00;

    /// <summary>Bytes reserved at the top of low extended RAM for the ACPI tables.</summary>
    public const ulong AcpiTablesSize = 64 << 10;

    /// <summary>The first bytes of the ACPI tables' range, the FACS's page, reported as ACPI NVS.</summary>
    public const ulong AcpiNvsSize = Acpi.AcpiTableSet.FacsPage;

    /// <summary>
    /// Bytes reserved below the ACPI tables for the SMBIOS structure table: 64 KiB, the most an SMBIOS
    /// 2.1 entry point can describe (its Structure Table Length is a WORD, DSP0134 5.2.1).
    /// </summary>
    public const ulong SmbiosTableSize = 64 << 10;

    private E820Map(IReadOnlyList<E820Entry> entries, ulong acpiTablesAddress, ulong lowRamEnd)
    {
        Entries = entries;
        AcpiTablesAddress = acpiTablesAddress;
        SmbiosTableAddress = acpiTablesAddress == 0 ? 0 : acpiTablesAddress - SmbiosTableSize;
        LowRamEnd = lowRamEnd;
    }

    /// <summary>The ranges in address order; they never overlap.</summary>
    public IReadOnlyList<E820Entry> Entries { get; }

    /// <summary>Where the ACPI tables (other than the RSDP) start, or 0 when the machine is too small to have them.</summary>
    public ulong AcpiTablesAddress { get; }

    /// <summary>Where the SMBIOS structure table goes (reserved), or 0 when the machine is too small to have it.</summary>
    public ulong SmbiosTableAddress { get; }

    /// <summary>The end of usable RAM above 1 MiB and below 4 GiB: where loaders may place data (kernel, initrd, modules).</summary>
    public ulong LowRamEnd { get; }

    /// <summary>Multiboot mem_lower: KiB of RAM from 0 (Multiboot 0.6.96 3.3: at most 640).</summary>
    public uint MemLowerKiB => (uint)(EbdaStart >> 10);

    /// <summary>Multiboot mem_upper: KiB of RAM from 1 MiB to the first hole.</summary>
    public uint MemUpperKiB => LowRamEnd > PcMemoryMap.ExtendedStart ? (uint)((LowRamEnd - PcMemoryMap.ExtendedStart) >> 10) : 0;

    /// <summary>Builds the map for <paramref name="memoryBytes"/> of RAM and a firmware window of <paramref name="firmwareLegacyBytes"/> below 1 MiB.</summary>
    public static E820Map Build(ulong memoryBytes, ulong firmwareLegacyBytes)
    {
        if (memoryBytes < PcMemoryMap.ExtendedStart)
        {
            throw new ArgumentOutOfRangeException(nameof(memoryBytes), "a PC has at least 1 MiB of RAM");
        }

        var entries = new List<E820Entry>
        {
            new(0, EbdaStart, E820Type.Ram),
            new(EbdaStart, PcMemoryMap.ConventionalEnd - EbdaStart, E820Type.Reserved),
            new(PcMemoryMap.ExtendedStart - firmwareLegacyBytes, firmwareLegacyBytes, E820Type.Reserved),
        };

        ulong lowEnd = Math.Min(memoryBytes, PcMemoryMap.PciHoleStart);
        ulong acpi = 0;
        ulong ramEnd = lowEnd;

        // The tables take the top of low RAM only when that leaves as much extended memory to use.
        const ulong tablesSize = SmbiosTableSize + AcpiTablesSize;
        if (lowEnd >= PcMemoryMap.ExtendedStart + (2 * tablesSize))
        {
            acpi = lowEnd - AcpiTablesSize;
            ramEnd = lowEnd - tablesSize;
        }

        if (ramEnd > PcMemoryMap.ExtendedStart)
        {
            entries.Add(new(PcMemoryMap.ExtendedStart, ramEnd - PcMemoryMap.ExtendedStart, E820Type.Ram));
        }

        if (acpi != 0)
        {
            entries.Add(new(ramEnd, SmbiosTableSize, E820Type.Reserved));
            entries.Add(new(acpi, AcpiNvsSize, E820Type.Nvs));
            entries.Add(new(acpi + AcpiNvsSize, AcpiTablesSize - AcpiNvsSize, E820Type.Acpi));
        }

        if (memoryBytes > PcMemoryMap.PciHoleStart)
        {
            entries.Add(new(PcMemoryMap.HighMemoryStart, memoryBytes - PcMemoryMap.PciHoleStart, E820Type.Ram));
        }

        return new E820Map(entries, acpi, ramEnd);
    }
}
