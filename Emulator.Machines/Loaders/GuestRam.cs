using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders;

/// <summary>Checks that what a loader is about to write lands in RAM the E820 map reports as usable.</summary>
public static class GuestRam
{
    /// <summary>True when [address, address + size) lies inside one RAM entry of <paramref name="map"/>.</summary>
    public static bool Holds(E820Map map, ulong address, ulong size)
    {
        if (address + size < address)
        {
            return false;
        }

        foreach (E820Entry e in map.Entries)
        {
            if (e.Type == E820Type.Ram && address >= e.Address && address + size <= e.End)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes <paramref name="count"/> zero bytes from <paramref name="address"/> (a bss, a cleared page).</summary>
    public static void Zero(AddressSpace memory, ulong address, ulong count)
    {
        byte[] zeros = new byte[Math.Min(count, 1UL << 20)];
        while (count > 0)
        {
            int n = (int)Math.Min(count, (ulong)zeros.Length);
            memory.Write(new GuestPhysicalAddress(address), zeros.AsSpan(0, n));
            address += (ulong)n;
            count -= (ulong)n;
        }
    }
}
