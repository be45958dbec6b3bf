using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The machine's ACPI tables placed in guest memory by emu itself (direct kernel boot): the RSDP on a
/// 16-byte boundary of the BIOS read-only area E0000-FFFFF, the second place an OS searches for it
/// after the first KiB of the EBDA (ACPI 6.5 5.2.5.1), and where SeaBIOS puts it (so simple kernels
/// that scan only the F segment, such as kvm-unit-tests, find it as under QEMU); the DSDT, FADT, MADT,
/// RSDT and XSDT in the ACPI range of the E820 map. The BIOS data area's EBDA segment word (40E) is
/// written too, as firmware leaves it. Under firmware the same <see cref="AcpiTableSet"/> goes through
/// fw_cfg instead.
/// </summary>
public sealed class AcpiTables
{
    /// <summary>
    /// Where the RSDP is: a paragraph of the F segment that the built-in ROM (what the window holds
    /// with --kernel) leaves as padding, below the SMBIOS entry point at FFF00 and reserved in the
    /// E820 map. A reset reloads the ROM there and the tables are written again.
    /// </summary>
    public const ulong RsdpAddress = 0xf_fe00;

    /// <summary>The BIOS data area word holding the EBDA's segment.</summary>
    public const ulong BdaEbdaSegment = 0x40e;

    private AcpiTables(IReadOnlyList<(ulong Address, byte[] Bytes)> blobs) => Blobs = blobs;

    /// <summary>Each blob and where it goes.</summary>
    public IReadOnlyList<(ulong Address, byte[] Bytes)> Blobs { get; }

    /// <summary>Lays out the tables for the machine described by <paramref name="map"/> with <paramref name="cpus"/> CPUs (and the HPET table when <paramref name="hpet"/>).</summary>
    public static AcpiTables Build(E820Map map, int cpus, bool hpet = true)
    {
        if (map.AcpiTablesAddress == 0)
        {
            throw new MachineConfigException("--memory: the machine is too small to hold ACPI tables above 1 MiB; give more memory");
        }

        AcpiTableSet set = AcpiTableSet.Build(cpus, hpet);
        if ((ulong)set.Tables.Length > E820Map.AcpiTablesSize)
        {
            throw new InvalidOperationException("the ACPI tables outgrew their E820 range");
        }

        (byte[] tables, byte[] rsdp) = set.Link(map.AcpiTablesAddress);
        return new AcpiTables([(map.AcpiTablesAddress, tables), (RsdpAddress, rsdp)]);
    }

    /// <summary>Writes the tables, the RSDP and the EBDA pointer into guest memory.</summary>
    public void Write(AddressSpace memory)
    {
        foreach ((ulong address, byte[] bytes) in Blobs)
        {
            memory.Write(new GuestPhysicalAddress(address), bytes);
        }

        memory.WriteUInt(new GuestPhysicalAddress(BdaEbdaSegment), 2, E820Map.EbdaStart >> 4);
    }
}
