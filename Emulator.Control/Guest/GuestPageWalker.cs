using Emulator.Core.Cpu;
using Emulator.Core.Memory;

namespace Emulator.Control.Guest;

/// <summary>
/// Translates a guest linear address to a physical one the way the guest's MMU would, from a vCPU's
/// CR0, CR3, CR4 and EFER, by reading the guest's paging structures from its physical memory
/// (Intel SDM Vol. 3A chapter 4): no paging, 32-bit paging (4 MiB pages with PSE, PSE-36), PAE
/// paging (2 MiB pages), 4-level and 5-level paging (2 MiB and 1 GiB pages). For tools (debugger,
/// profiler): it checks presence only, not access rights, and sets no accessed or dirty bits.
/// Paging structures are read only from RAM or ROM, never from MMIO.
/// </summary>
public sealed class GuestPageWalker(AddressSpace memory, CpuState state)
{
    private const ulong Cr0Pg = 1UL << 31;
    private const ulong Cr4Pse = 1UL << 4;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong Cr4La57 = 1UL << 12;
    private const ulong EferLma = 1UL << 10;
    private const ulong Present = 1;
    private const ulong PageSize = 1UL << 7;
    // Bits 51:12 of an entry hold a physical address (MAXPHYADDR at most 52, Vol. 3A 4.1.4).
    private const ulong AddressBits = 0x000F_FFFF_FFFF_F000;

    private readonly ulong _cr0 = state.Cr0;
    private readonly ulong _cr3 = state.Cr3;
    private readonly ulong _cr4 = state.Cr4;
    private readonly ulong _efer = state.Efer;

    /// <summary>The physical address of <paramref name="linear"/>, or null when no present page maps it.</summary>
    public ulong? Translate(ulong linear)
    {
        if ((_cr0 & Cr0Pg) == 0)
        {
            // Without paging the linear address is the physical one (32 bits outside IA-32e mode, which needs paging).
            return linear & 0xFFFF_FFFF;
        }

        if ((_cr4 & Cr4Pae) == 0)
        {
            return Translate32(linear & 0xFFFF_FFFF);
        }

        return (_efer & EferLma) != 0 ? TranslateLong(linear) : TranslatePae(linear & 0xFFFF_FFFF);
    }

    // 32-bit paging (Vol. 3A 4.3): a page directory of 1024 4-byte entries, then a page table, or a
    // 4 MiB page when CR4.PSE and PDE.PS are set (bits 20:13 give physical address bits 39:32).
    private ulong? Translate32(ulong linear)
    {
        ulong pde = ReadEntry((_cr3 & 0xFFFF_F000) + (((linear >> 22) & 0x3FF) * 4), 4);
        if ((pde & Present) == 0)
        {
            return null;
        }

        if ((pde & PageSize) != 0 && (_cr4 & Cr4Pse) != 0)
        {
            ulong high = ((pde >> 13) & 0xFF) << 32;
            return (pde & 0xFFC0_0000) | high | (linear & 0x3F_FFFF);
        }

        ulong pte = ReadEntry((pde & 0xFFFF_F000) + (((linear >> 12) & 0x3FF) * 4), 4);
        return (pte & Present) == 0 ? null : (pte & 0xFFFF_F000) | (linear & 0xFFF);
    }

    // PAE paging (Vol. 3A 4.4): four PDPTEs at CR3 bits 31:5, then 8-byte directory and table entries.
    private ulong? TranslatePae(ulong linear)
    {
        ulong pdpte = ReadEntry((_cr3 & 0xFFFF_FFE0) + (((linear >> 30) & 3) * 8), 8);
        return (pdpte & Present) == 0 ? null : Directory(pdpte & AddressBits, linear);
    }

    // 4-level paging (Vol. 3A 4.5): PML4 (or PML5 with CR4.LA57), PDPT (1 GiB pages), PD (2 MiB), PT.
    private ulong? TranslateLong(ulong linear)
    {
        ulong table = _cr3 & AddressBits;
        if ((_cr4 & Cr4La57) != 0)
        {
            ulong pml5e = ReadEntry(table + (((linear >> 48) & 0x1FF) * 8), 8);
            if ((pml5e & Present) == 0)
            {
                return null;
            }

            table = pml5e & AddressBits;
        }

        ulong pml4e = ReadEntry(table + (((linear >> 39) & 0x1FF) * 8), 8);
        if ((pml4e & Present) == 0)
        {
            return null;
        }

        ulong pdpte = ReadEntry((pml4e & AddressBits) + (((linear >> 30) & 0x1FF) * 8), 8);
        if ((pdpte & Present) == 0)
        {
            return null;
        }

        if ((pdpte & PageSize) != 0)
        {
            return (pdpte & AddressBits & ~0x3FFF_FFFFUL) | (linear & 0x3FFF_FFFF);
        }

        return Directory(pdpte & AddressBits, linear);
    }

    // A page directory of 8-byte entries (PAE and 4-level): a 2 MiB page or a page table.
    private ulong? Directory(ulong directory, ulong linear)
    {
        ulong pde = ReadEntry(directory + (((linear >> 21) & 0x1FF) * 8), 8);
        if ((pde & Present) == 0)
        {
            return null;
        }

        if ((pde & PageSize) != 0)
        {
            return (pde & AddressBits & ~0x1F_FFFFUL) | (linear & 0x1F_FFFF);
        }

        ulong pte = ReadEntry((pde & AddressBits) + (((linear >> 12) & 0x1FF) * 8), 8);
        return (pte & Present) == 0 ? null : (pte & AddressBits) | (linear & 0xFFF);
    }

    // An entry read from RAM or ROM; anywhere else (MMIO, unmapped) it reads as not present.
    private ulong ReadEntry(ulong physical, int size) =>
        memory.Find(physical) is { Kind: not RegionKind.Mmio } region && physical + (ulong)size <= region.End
            ? memory.ReadUInt(new GuestPhysicalAddress(physical), size)
            : 0;
}
