using System.Runtime.CompilerServices;
using Emulator.Core.Memory;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;

namespace Emulator.Jit.State;

/// <summary>The kind of a memory access, as paging sees it.</summary>
internal enum Access
{
    Read,
    Write,
    Fetch,
}

/// <summary>
/// Linear-to-physical translation (Intel SDM Vol. 3A chapter 4): 32-bit paging with 4 MiB pages
/// (CR4.PSE, PSE-36), PAE paging with its four PDPTE registers, and 4-level paging in IA-32e mode
/// with 2 MiB and 1 GiB pages; U/S, R/W with CR0.WP, execute-disable (EFER.NXE), SMEP, SMAP,
/// protection keys (CR4.PKE with PKRU), global pages, accessed and dirty bits, and the page-fault
/// error code.
/// </summary>
internal sealed unsafe partial class CpuCore
{
    public const ulong Cr0WP = 1UL << 16;
    public const ulong Cr4Pse = 1UL << 4, Cr4Pae = 1UL << 5, Cr4Pge = 1UL << 7;

    /// <summary>CR4.UMIP (11), PCIDE (17), SMEP (20), SMAP (21), PKE (22) (Intel SDM Vol. 3A 2.5).</summary>
    public const ulong Cr4Umip = 1UL << 11, Cr4Pcide = 1UL << 17, Cr4Smep = 1UL << 20, Cr4Smap = 1UL << 21, Cr4Pke = 1UL << 22;
    public const ulong EferSCE = 1, EferNXE = 1 << 11;

    /// <summary>MAXPHYADDR of this CPU model (CPUID 80000008h EAX[7:0]).</summary>
    public const int PhysicalAddressBits = Core.Cpu.CpuModel.PhysicalAddressBits;

    // Page-fault error code bits (Intel SDM Vol. 3A 4.7, Figure 4-12).
    public const int PfPresent = 1, PfWrite = 2, PfUser = 4, PfReserved = 8, PfFetch = 16, PfProtectionKey = 32;

    private const ulong PhysicalMask = ((1UL << PhysicalAddressBits) - 1) & ~0xfffUL;
    private const ulong EntryPresent = 1, EntryWritable = 2, EntryUser = 4, EntryAccessed = 0x20, EntryDirty = 0x40, EntryLarge = 0x80, EntryGlobal = 0x100;
    private const ulong EntryNoExecute = 1UL << 63;

    /// <summary>The PAE page-directory-pointer-table registers, loaded with CR3 (Intel SDM Vol. 3A 4.4.1).</summary>
    public readonly ulong[] Pdpte = new ulong[4];

    private MemoryRegion? _lastRegion;

    public bool PagingEnabled => (Cr0 & Cr0PG) != 0;

    /// <summary>
    /// Translates <paramref name="linear"/> for an access of kind <paramref name="access"/> made in
    /// user mode or not, or raises #PF. <paramref name="info"/> describes the mapping for the TLB.
    /// Accessed and dirty bits are set only when the translation succeeds.
    /// </summary>
    public ulong Translate(ulong linear, Access access, bool user, out uint info)
    {
        info = 0;
        LastWalkUserPage = false;
        if ((Cr0 & Cr0PG) == 0)
        {
            return linear & A20Mask;
        }

        return ((Cr4 & Cr4Pae) == 0 ? Walk32(linear, access, user, out info) : Walk64(linear, access, user, out info)) & A20Mask;
    }

    // 32-bit paging: a page directory of 1024 4-byte entries, then a page table or a 4 MiB page
    // (Intel SDM Vol. 3A 4.3, Tables 4-4 to 4-6).
    private ulong Walk32(ulong linear, Access access, bool user, out uint info)
    {
        ulong pdeAddress = (Cr3 & 0xffff_f000) | ((linear >> 20) & 0xffc);
        ulong pde = ReadEntry(pdeAddress, 4);
        if ((pde & EntryPresent) == 0)
        {
            throw PageFault(linear, access, user, 0);
        }

        if ((pde & EntryLarge) != 0 && (Cr4 & Cr4Pse) != 0)
        {
            // A 4 MiB page: bits 20:13 hold physical address bits 39:32 (PSE-36); bit 21 is reserved.
            if ((pde & (1UL << 21)) != 0)
            {
                throw PageFault(linear, access, user, PfPresent | PfReserved);
            }

            CheckRights(linear, access, user, pde, noExecute: false, protectionKey: -1);
            SetAccessedDirty(pdeAddress, pde, access == Access.Write);
            info = SoftTlb.Info(IsGlobal(pde), 0x3ff);
            return (pde & 0xffc0_0000) | (((pde >> 13) & 0xff) << 32) | (linear & 0x3f_ffff);
        }

        ulong pteAddress = (pde & 0xffff_f000) | ((linear >> 10) & 0xffc);
        ulong pte = ReadEntry(pteAddress, 4);
        if ((pte & EntryPresent) == 0)
        {
            throw PageFault(linear, access, user, 0);
        }

        // Rights are the most restrictive of the two levels (Intel SDM Vol. 3A 4.6.1).
        CheckRights(linear, access, user, pde & pte, noExecute: false, protectionKey: -1);
        SetAccessedDirty(pdeAddress, pde, write: false);
        SetAccessedDirty(pteAddress, pte, access == Access.Write);
        info = SoftTlb.Info(IsGlobal(pte), 0);
        return (pte & 0xffff_f000) | (linear & 0xfff);
    }

    // PAE paging (Intel SDM Vol. 3A 4.4) and 4-level paging (4.5): 8-byte entries, 512 per table.
    private ulong Walk64(ulong linear, Access access, bool user, out uint info)
    {
        bool longMode = (Efer & EferLMA) != 0;
        bool nxe = (Efer & EferNXE) != 0;

        // Bits above MAXPHYADDR are reserved: up to bit 51 in 4-level paging (62:52 are ignored),
        // up to bit 62 in PAE paging; bit 63 is XD when EFER.NXE is set, reserved otherwise.
        ulong reserved = (longMode ? 0x000f_ffff_ffff_ffffUL : 0x7fff_ffff_ffff_ffffUL) & ~((1UL << PhysicalAddressBits) - 1);
        if (!nxe)
        {
            reserved |= EntryNoExecute;
        }

        Span<ulong> addresses = stackalloc ulong[4];
        Span<ulong> entries = stackalloc ulong[4];
        int levels = 0;
        ulong rights = EntryWritable | EntryUser;
        bool noExecute = false;
        ulong table;
        int shift;
        if (longMode)
        {
            table = Cr3 & PhysicalMask;
            shift = 39;
        }
        else
        {
            ulong pdpte = Pdpte[(linear >> 30) & 3];
            if ((pdpte & EntryPresent) == 0)
            {
                throw PageFault(linear, access, user, 0);
            }

            // PDPTE registers carry no access rights and were checked for reserved bits when loaded.
            table = pdpte & PhysicalMask;
            shift = 21;
        }

        while (true)
        {
            ulong address = table | (((linear >> shift) & 0x1ff) << 3);
            ulong entry = ReadEntry(address, 8);
            if ((entry & EntryPresent) == 0)
            {
                throw PageFault(linear, access, user, 0);
            }

            ulong leafReserved = 0;
            bool large = shift != 12 && (entry & EntryLarge) != 0;
            if (large)
            {
                // PS in a PML4E is reserved; a 1 GiB page reserves bits 29:13, a 2 MiB page 20:13.
                leafReserved = shift switch { 39 => EntryLarge, 30 => 0x3fff_e000UL, _ => 0x1f_e000UL };
            }

            if ((entry & (reserved | leafReserved)) != 0)
            {
                throw PageFault(linear, access, user, PfPresent | PfReserved);
            }

            addresses[levels] = address;
            entries[levels] = entry;
            levels++;
            rights &= entry;
            noExecute |= (entry & EntryNoExecute) != 0;
            if (shift == 12 || large)
            {
                ulong pageMask = (1UL << shift) - 1;
                // With CR4.PKE, 4-level paging takes the page's protection key from bits 62:59 of
                // the entry that maps it (Intel SDM Vol. 3A 4.6.2); PAE paging has none.
                int protectionKey = longMode && (Cr4 & Cr4Pke) != 0 ? (int)((entry >> 59) & 0xf) : -1;
                CheckRights(linear, access, user, rights, noExecute, protectionKey);
                for (int l = 0; l < levels; l++)
                {
                    SetAccessedDirty(addresses[l], entries[l], access == Access.Write && l == levels - 1);
                }

                info = SoftTlb.Info(IsGlobal(entry), pageMask >> 12);
                return (entry & PhysicalMask & ~pageMask) | (linear & pageMask);
            }

            table = entry & PhysicalMask;
            shift -= 9;
        }
    }

    private bool IsGlobal(ulong leaf) => (Cr4 & Cr4Pge) != 0 && (leaf & EntryGlobal) != 0;

    // Access rights, Intel SDM Vol. 3A 4.6.1: user accesses need U/S set at every level and, to
    // write, R/W at every level; supervisor writes need R/W only when CR0.WP is set; fetches need
    // XD clear at every level (and, in user mode, U/S). A page whose U/S is set at every level is a
    // user-mode page: with CR4.SMEP a supervisor fetch from it faults, with CR4.SMAP a supervisor
    // data access to it faults unless it is explicit, at CPL < 3, with EFLAGS.AC set (4.6.1.1, 4.6.2).
    // A protection key (0-15, or -1 when keys are off) adds the rights of PKRU (4.6.2): AD forbids
    // every data access to a user-mode page with that key, WD every user-mode write and, with
    // CR0.WP, every supervisor write, implicit accesses included; fetches are never affected. The
    // #PF error code's PK bit says that the key forbade the access, whatever else also forbade it
    // (4.7: it depends only on the key's rights, the access and CR0.WP).
    private void CheckRights(ulong linear, Access access, bool user, ulong rights, bool noExecute, int protectionKey)
    {
        bool userPage = (rights & EntryUser) != 0;
        bool allowed = access switch
        {
            Access.Write => (rights & EntryWritable) != 0 ? !user || userPage : !user && (Cr0 & Cr0WP) == 0,
            Access.Fetch => !noExecute && (!user || userPage),
            _ => !user || userPage,
        };
        if (allowed && !user && userPage)
        {
            allowed = access == Access.Fetch
                ? (Cr4 & Cr4Smep) == 0
                : (Cr4 & Cr4Smap) == 0 || (!ImplicitAccess && (FlagsRest & AC) != 0 && Cpl < 3);
        }

        bool keyForbids = false;
        if (protectionKey >= 0 && userPage && access != Access.Fetch)
        {
            uint keyRights = Pkru >> (2 * protectionKey);
            bool accessDisabled = (keyRights & 1) != 0, writeDisabled = (keyRights & 2) != 0;
            keyForbids = accessDisabled || (access == Access.Write && writeDisabled && (user || (Cr0 & Cr0WP) != 0));
        }

        if (!allowed || keyForbids)
        {
            throw PageFault(linear, access, user, PfPresent | (keyForbids ? PfProtectionKey : 0));
        }

        LastWalkUserPage = userPage;
    }

    /// <summary>Set while the CPU makes an implicit supervisor-mode access (descriptor tables, TSS), which SMAP never lets reach user pages.</summary>
    public bool ImplicitAccess;

    /// <summary>Whether the last successful page walk ended at a user-mode page (U/S set at every level).</summary>
    public bool LastWalkUserPage;

    private GuestFault PageFault(ulong linear, Access access, bool user, int code)
    {
        if (access == Access.Write)
        {
            code |= PfWrite;
        }

        if (user)
        {
            code |= PfUser;
        }

        // I/D reports a fetch only when SMEP or execute-disable is in force (Intel SDM Vol. 3A 4.7).
        if (access == Access.Fetch && ((Cr4 & Cr4Smep) != 0 || ((Cr4 & Cr4Pae) != 0 && (Efer & EferNXE) != 0)))
        {
            code |= PfFetch;
        }

        return new GuestFault(Vectors.PF, code, linear);
    }

    private ulong ReadEntry(ulong physical, int size)
    {
        physical &= A20Mask;
        MemoryRegion? region = FindRegion(physical);
        if (region is { Kind: RegionKind.Ram or RegionKind.Rom })
        {
            byte* p = region.HostPointer(physical);
            return size == 4 ? Unsafe.ReadUnaligned<uint>(p) : Unsafe.ReadUnaligned<ulong>(p);
        }

        return Memory.ReadUInt(new GuestPhysicalAddress(physical), size);
    }

    // Sets A (and D for the leaf of a write) in guest memory with an atomic OR, so that another
    // vCPU updating the same entry loses nothing; both bits live in the low doubleword of every
    // entry format (Intel SDM Vol. 3A 4.8).
    private void SetAccessedDirty(ulong physical, ulong entry, bool write)
    {
        uint bits = (uint)(EntryAccessed | (write ? EntryDirty : 0));
        if ((entry & bits) == bits)
        {
            return;
        }

        physical &= A20Mask;

        MemoryRegion? region = FindRegion(physical);
        if (region is { Kind: RegionKind.Ram })
        {
            Interlocked.Or(ref *(uint*)region.HostPointer(physical), bits);
            if (Code.IsCodePage(physical))
            {
                Code.OnWrite(physical, 4);
            }
        }
        else
        {
            Memory.WriteUInt(new GuestPhysicalAddress(physical), 4, (uint)entry | bits);
        }
    }

    /// <summary>
    /// Loads the four PDPTE registers for PAE paging from the table at CR3; a present entry with
    /// reserved bits set makes the load fail with #GP(0) (Intel SDM Vol. 3A 4.4.1).
    /// </summary>
    public void LoadPdptes(bool check)
    {
        ulong table = Cr3 & 0xffff_ffe0;
        // Reserved: bits 2:1, 8:5, and 63:MAXPHYADDR.
        const ulong reserved = 0x1e6 | ~((1UL << PhysicalAddressBits) - 1);
        Span<ulong> loaded = stackalloc ulong[4];
        for (int i = 0; i < 4; i++)
        {
            loaded[i] = ReadEntry(table + (ulong)(i * 8), 8);
            if (check && (loaded[i] & EntryPresent) != 0 && (loaded[i] & reserved) != 0)
            {
                throw new GuestFault(Vectors.GP, 0);
            }
        }

        loaded.CopyTo(Pdpte);
    }

    /// <summary>True when PAE paging (not 4-level) is in use, the mode with PDPTE registers.</summary>
    public bool PaePaging => (Cr0 & Cr0PG) != 0 && (Cr4 & Cr4Pae) != 0 && (Efer & EferLMA) == 0;

    /// <summary>Drops every TLB entry of both privilege classes.</summary>
    public void FlushTlb()
    {
        SupervisorTlb.Flush();
        UserTlb.Flush();
        ForgetCodeMappings();
    }

    /// <summary>A CR3 load: drops the entries of non-global pages.</summary>
    public void FlushTlbNonGlobal()
    {
        SupervisorTlb.FlushNonGlobal();
        UserTlb.FlushNonGlobal();
        Translator?.ForgetNonGlobalJumps();
    }

    /// <summary>INVLPG.</summary>
    public void FlushTlbPage(ulong linear)
    {
        SupervisorTlb.FlushPage(linear);
        UserTlb.FlushPage(linear);
        Translator?.ForgetJumpsAround(linear);
    }
}
