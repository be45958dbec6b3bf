using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The machine's ACPI tables placed in guest memory by emu itself (direct kernel boot): the RSDP at
/// the start of the EBDA (whose segment is stored in the BIOS data area at 40E, where the OS looks
/// for it: ACPI 6.5 5.2.5.1), and the DSDT, FADT, MADT and XSDT in the ACPI range of the E820 map.
/// Under firmware the same <see cref="AcpiTableSet"/> goes through fw_cfg instead.
/// </summary>
public sealed class AcpiTables
{
    /// <summary>Where the RSDP is.</summary>
    public const ulong RsdpAddress = E820Map.EbdaStart;

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

    /// <summary>Writes the tables and the EBDA pointer into guest memory.</summary>
    public void Write(AddressSpace memory)
    {
        foreach ((ulong address, byte[] bytes) in Blobs)
        {
            memory.Write(new GuestPhysicalAddress(address), bytes);
        }

        memory.WriteUInt(new GuestPhysicalAddress(BdaEbdaSegment), 2, RsdpAddress >> 4);
    }
}
