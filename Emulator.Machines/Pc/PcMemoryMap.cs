using Emulator.Core.Memory;

namespace Emulator.Machines.Pc;

/// <summary>
/// Guest RAM of a PC laid out around the legacy holes: conventional memory below 640 KiB, the
/// VGA/option-ROM/BIOS window A0000-FFFFF left to devices and firmware, extended memory from 1 MiB
/// to the PCI hole at 3 GiB, and whatever remains above 4 GiB. One host mapping backs all of it.
/// </summary>
public static class PcMemoryMap
{
    /// <summary>End of conventional memory (640 KiB).</summary>
    public const ulong ConventionalEnd = 0xa_0000;

    /// <summary>Start of extended memory (1 MiB).</summary>
    public const ulong ExtendedStart = 0x10_0000;

    /// <summary>Start of the 32-bit PCI/firmware hole.</summary>
    public const ulong PciHoleStart = 0xc000_0000;

    /// <summary>Where RAM above the hole continues.</summary>
    public const ulong HighMemoryStart = 0x1_0000_0000;

    /// <summary>
    /// The guest-physical ranges <paramref name="size"/> bytes of RAM occupy, holes aside: from 0 to
    /// the PCI hole, then from 4 GiB (what the machine tells firmware it has; firmware carves out the
    /// legacy window itself).
    /// </summary>
    public static IEnumerable<(ulong Address, ulong Length)> RamRanges(ulong size)
    {
        yield return (0, Math.Min(size, PciHoleStart));
        if (size > PciHoleStart)
        {
            yield return (HighMemoryStart, size - PciHoleStart);
        }
    }

    /// <summary>Maps <paramref name="ram"/> into <paramref name="space"/>.</summary>
    public static void MapRam(AddressSpace space, HostMapping ram, ulong size)
    {
        space.AddRam("ram-conventional", new GuestPhysicalAddress(0), Math.Min(size, ConventionalEnd), ram);
        if (size > ExtendedStart)
        {
            ulong low = Math.Min(size, PciHoleStart);
            space.AddRam("ram-low", new GuestPhysicalAddress(ExtendedStart), low - ExtendedStart, ram, ExtendedStart);
            if (size > PciHoleStart)
            {
                space.AddRam("ram-high", new GuestPhysicalAddress(HighMemoryStart), size - PciHoleStart, ram, PciHoleStart);
            }
        }
    }
}
