using Emulator.Core.Memory;

namespace Emulator.Machines.Loaders.Linux;

/// <summary>
/// 4-level page tables mapping the first 4 GiB of physical memory onto itself with 2 MiB pages
/// (Intel SDM Vol. 3A 4.5, Tables 4-15, 4-17): what the 64-bit boot protocol needs, since the kernel,
/// boot_params and the command line must be identity-mapped at the 64-bit entry.
/// </summary>
public static class IdentityPageTables
{
    /// <summary>The PML4; the PDPT and four page directories follow it page by page.</summary>
    public const ulong Pml4Address = 0x9000;

    /// <summary>Bytes the tables take.</summary>
    public const ulong Size = 6 * 4096;

    private const ulong Present = 1, Writable = 2, PageSize = 0x80;

    /// <summary>Writes the tables; returns the value for CR3.</summary>
    public static ulong Write(AddressSpace memory)
    {
        ulong pdpt = Pml4Address + 0x1000;
        ulong pd = pdpt + 0x1000;
        GuestRam.Zero(memory, Pml4Address, Size);
        memory.WriteUInt(new GuestPhysicalAddress(Pml4Address), 8, pdpt | Present | Writable);
        for (ulong i = 0; i < 4; i++)
        {
            memory.WriteUInt(new GuestPhysicalAddress(pdpt + (i * 8)), 8, (pd + (i * 0x1000)) | Present | Writable);
        }

        byte[] entries = new byte[4 * 4096];
        for (int j = 0; j < 2048; j++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan(j * 8), ((ulong)j << 21) | Present | Writable | PageSize);
        }

        memory.Write(new GuestPhysicalAddress(pd), entries);
        return Pml4Address;
    }
}
