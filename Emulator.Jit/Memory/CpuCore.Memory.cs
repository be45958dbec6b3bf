using System.Runtime.CompilerServices;
using Emulator.Core.Memory;
using Emulator.Jit.Memory;

namespace Emulator.Jit.State;

/// <summary>
/// Linear and physical memory access: the TLB fast path and the translating slow path. Ordinary
/// accesses go through <see cref="Tlb"/>, the table of the current privilege; the System* methods
/// are the implicit supervisor-mode accesses (descriptor tables, IDT, TSS) that the processor makes
/// with supervisor rights whatever the CPL (Intel SDM Vol. 3A 4.6).
/// </summary>
internal sealed unsafe partial class CpuCore
{
    public byte Read8(ulong linear)
    {
        SoftTlb tlb = Tlb;
        int i = SoftTlb.Slot(linear);
        if (tlb.ReadTag[i] == SoftTlb.Tag(linear))
        {
            return *(byte*)(tlb.ReadAddend[i] + (nint)linear);
        }

        return (byte)ReadSlow(tlb, linear, 1);
    }

    public ushort Read16(ulong linear) => (ushort)ReadIn(Tlb, linear, 2);

    public uint Read32(ulong linear) => (uint)ReadIn(Tlb, linear, 4);

    public ulong Read64(ulong linear) => ReadIn(Tlb, linear, 8);

    public void Write8(ulong linear, byte value)
    {
        SoftTlb tlb = Tlb;
        int i = SoftTlb.Slot(linear);
        if (tlb.WriteTag[i] == SoftTlb.Tag(linear))
        {
            *(byte*)(tlb.WriteAddend[i] + (nint)linear) = value;
            return;
        }

        WriteSlow(tlb, linear, 1, value);
    }

    public void Write16(ulong linear, ushort value) => WriteIn(Tlb, linear, 2, value);

    public void Write32(ulong linear, uint value) => WriteIn(Tlb, linear, 4, value);

    public void Write64(ulong linear, ulong value) => WriteIn(Tlb, linear, 8, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadSized(ulong linear, int size) => ReadIn(Tlb, linear, size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteSized(ulong linear, int size, ulong value) => WriteIn(Tlb, linear, size, value);

    /// <summary>An implicit supervisor-mode read (GDT, LDT, IDT, TSS).</summary>
    public ulong SystemRead(ulong linear, int size)
    {
        ImplicitAccess = true;
        try
        {
            return ReadIn(SupervisorTlb, linear, size);
        }
        finally
        {
            ImplicitAccess = false;
        }
    }

    /// <summary>An implicit supervisor-mode write (descriptor accessed and busy bits, the TSS).</summary>
    public void SystemWrite(ulong linear, int size, ulong value)
    {
        ImplicitAccess = true;
        try
        {
            WriteIn(SupervisorTlb, linear, size, value);
        }
        finally
        {
            ImplicitAccess = false;
        }
    }

    // With CR4.SMAP, supervisor accesses to user pages are allowed only sometimes (explicit, with
    // EFLAGS.AC): the supervisor TLB keeps no entry for such a page, so every access takes the slow
    // path and is checked against the AC flag of its moment.
    // A page watched by a data breakpoint gets no entry either, for the same reason (CpuCore.Debug.cs).
    private bool KeepsEntry(SoftTlb tlb, ulong linear) =>
        (tlb.User || (Cr4 & Cr4Smap) == 0 || !LastWalkUserPage) && !(DataBreakpointsArmed && DataBreakpointOnPage(linear));

    /// <summary>A read with the rights of privilege level <paramref name="cpl"/> (stack accesses of a privilege change).</summary>
    public ulong ReadAt(int cpl, ulong linear, int size) => ReadIn(cpl == 3 ? UserTlb : SupervisorTlb, linear, size);

    /// <summary>A write with the rights of privilege level <paramref name="cpl"/> (the new stack of an interrupt or call).</summary>
    public void WriteAt(int cpl, ulong linear, int size, ulong value) => WriteIn(cpl == 3 ? UserTlb : SupervisorTlb, linear, size, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadIn(SoftTlb tlb, ulong linear, int size)
    {
        int i = SoftTlb.Slot(linear);
        if (tlb.ReadTag[i] == SoftTlb.Tag(linear) && (linear & SoftTlb.PageMask) <= SoftTlb.PageMask + 1 - (ulong)size)
        {
            byte* p = (byte*)(tlb.ReadAddend[i] + (nint)linear);
            return size switch
            {
                1 => *p,
                2 => Unsafe.ReadUnaligned<ushort>(p),
                4 => Unsafe.ReadUnaligned<uint>(p),
                _ => Unsafe.ReadUnaligned<ulong>(p),
            };
        }

        return ReadSlow(tlb, linear, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteIn(SoftTlb tlb, ulong linear, int size, ulong value)
    {
        int i = SoftTlb.Slot(linear);
        if (tlb.WriteTag[i] == SoftTlb.Tag(linear) && (linear & SoftTlb.PageMask) <= SoftTlb.PageMask + 1 - (ulong)size)
        {
            byte* p = (byte*)(tlb.WriteAddend[i] + (nint)linear);
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                default: Unsafe.WriteUnaligned(p, value); break;
            }

            return;
        }

        WriteSlow(tlb, linear, size, value);
    }

    /// <summary>
    /// True when the current privilege's fetch entries map every page of <paramref name="block"/>
    /// (as it was just fetched at CS:RIP) as global pages; false when paging is off or an entry is gone.
    /// </summary>
    public bool FetchesFromGlobalPages(Decoding.Block block)
    {
        if ((Cr0 & Cr0PG) == 0)
        {
            return false;
        }

        ulong linear = Bitness == 64 ? block.Rip : (block.CsBase + block.Rip) & 0xffff_ffff;
        return Tlb.FetchIsGlobal(linear) && Tlb.FetchIsGlobal(WrapLinear(linear + (ulong)Math.Max(block.ByteLength, 1) - 1));
    }

    /// <summary>
    /// The physical address of the instruction byte at <paramref name="linear"/>, through the
    /// fetch entries of the current privilege (execute rights: U/S, NX).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong TranslateFetch(ulong linear)
    {
        if ((Cr0 & Cr0PG) == 0)
        {
            return linear & A20Mask;
        }

        SoftTlb tlb = Tlb;
        int i = SoftTlb.Slot(linear);
        if (tlb.FetchTag[i] == SoftTlb.Tag(linear))
        {
            return tlb.FetchPhysical[i] | (linear & SoftTlb.PageMask);
        }

        return FetchSlow(tlb, linear);
    }

    /// <summary>Reads one instruction byte: translated with execute rights, then read from physical memory.</summary>
    public byte FetchByte(ulong linear)
    {
        ulong physical = TranslateFetch(linear);
        MemoryRegion? region = FindRegion(physical);
        if (region is { Kind: RegionKind.Ram or RegionKind.Rom })
        {
            return *region.HostPointer(physical);
        }

        return (byte)Memory.ReadUInt(new GuestPhysicalAddress(physical), 1);
    }

    /// <summary>
    /// The host address of the start of the page holding instruction byte <paramref name="linear"/>
    /// (translated as <see cref="FetchByte"/> does), or null when that page is not wholly RAM or ROM.
    /// </summary>
    public byte* FetchPage(ulong linear)
    {
        ulong page = TranslateFetch(linear) & ~SoftTlb.PageMask;
        MemoryRegion? region = FindRegion(page);
        return region is { Kind: RegionKind.Ram or RegionKind.Rom } && region.Contains(page + SoftTlb.PageMask) ? region.HostPointer(page) : null;
    }

    private ulong FetchSlow(SoftTlb tlb, ulong linear)
    {
        ulong physical = Translate(linear, Access.Fetch, tlb.User, out uint info);
        tlb.SetFetch(linear, physical & ~SoftTlb.PageMask, info);
        return physical;
    }

    /// <summary>
    /// For a bulk string operation where the TLB holds no entry it may use (a supervisor access to a
    /// user page under SMAP keeps none): walks the page tables for <paramref name="linear"/> with
    /// the access's rights, so a fault is raised as the first element would raise it, and returns
    /// the host address of <paramref name="length"/> bytes there (one page) when they are RAM, no
    /// data breakpoint watches the page, the local APIC does not claim it and, for a write, they
    /// hold no decoded code; else null.
    /// </summary>
    public byte* BulkPointer(ulong linear, int length, bool write)
    {
        if (DataBreakpointsArmed && DataBreakpointOnPage(linear))
        {
            return null;
        }

        ulong physical = Translate(linear, write ? Access.Write : Access.Read, Tlb.User, out _);
        MemoryRegion? region = FindRegion(physical);
        if (region is not { Kind: RegionKind.Ram } || !region.Contains(physical + (ulong)length - 1) || ApicAt(physical) is not null
            || (write && Code.CodeMap(physical) != 0 && Code.HitsCode(physical, length)))
        {
            return null;
        }

        return region.HostPointer(physical);
    }

    private ulong ReadSlow(SoftTlb tlb, ulong linear, int size)
    {
        if (DataBreakpointsArmed)
        {
            CheckDataBreakpoints(linear, size, write: false);
        }

        if (_locked is not LockedState.None and not LockedState.Bus)
        {
            return LockedRead(linear, size);
        }

        if ((linear & SoftTlb.PageMask) > SoftTlb.PageMask + 1 - (ulong)size)
        {
            // Crosses a page: each byte may translate differently.
            ulong v = 0;
            for (int b = 0; b < size; b++)
            {
                v |= ReadSlow(tlb, WrapLinear(linear + (ulong)b), 1) << (8 * b);
            }

            return v;
        }

        ulong physical = Translate(linear, Access.Read, tlb.User, out uint info);
        if (ApicAt(physical) is { } apic)
        {
            return Memory.ReadDevice(apic, physical & SoftTlb.PageMask, size);
        }

        MemoryRegion? region = FindRegion(physical);
        if (region is { Kind: RegionKind.Ram or RegionKind.Rom } && KeepsEntry(tlb, linear) && region.Contains(physical | SoftTlb.PageMask) && region.Contains(physical & ~SoftTlb.PageMask))
        {
            tlb.SetRead(linear, (nint)region.HostPointer(physical & ~SoftTlb.PageMask), info);
        }

        return Memory.ReadUInt(new GuestPhysicalAddress(physical), size);
    }

    private void WriteSlow(SoftTlb tlb, ulong linear, int size, ulong value)
    {
        if (DataBreakpointsArmed)
        {
            CheckDataBreakpoints(linear, size, write: true);
        }

        if (_locked is not LockedState.None and not LockedState.Bus)
        {
            LockedWrite(linear, size, value);
            return;
        }

        if ((linear & SoftTlb.PageMask) > SoftTlb.PageMask + 1 - (ulong)size)
        {
            // Crosses a page: both pages must be writable before any byte is stored, so a fault
            // on the second page leaves memory unchanged and the instruction can be restarted.
            // CR2 names the first byte of the page that faults (Intel SDM Vol. 3A 4.7).
            Translate(linear, Access.Write, tlb.User, out _);
            Translate(WrapLinear((linear | SoftTlb.PageMask) + 1), Access.Write, tlb.User, out _);
            for (int b = 0; b < size; b++)
            {
                WriteSlow(tlb, WrapLinear(linear + (ulong)b), 1, (byte)(value >> (8 * b)));
            }

            return;
        }

        ulong physical = Translate(linear, Access.Write, tlb.User, out uint info);
        if (ApicAt(physical) is { } apic)
        {
            Memory.WriteDevice(apic, physical & SoftTlb.PageMask, size, value);
            return;
        }

        nint codeMap = Code.CodeMap(physical);
        if (codeMap != 0 && Code.HitsCode(physical, size))
        {
            // Self-modifying code: the write invalidates the decoded blocks it overwrites (through
            // the RAM write observer) and the rest of the current block must not run stale.
            EndBlock = true;
        }

        MemoryRegion? region = FindRegion(physical);
        Memory.WriteUInt(new GuestPhysicalAddress(physical), size, value);
        if (region is { Kind: RegionKind.Ram } && KeepsEntry(tlb, linear) && region.Contains(physical | SoftTlb.PageMask) && region.Contains(physical & ~SoftTlb.PageMask))
        {
            // On a page that holds (or held) code the entry carries the page's code map: stores
            // that do not touch code (data sharing the page) stay on the fast path of translated code.
            tlb.SetWrite(linear, (nint)region.HostPointer(physical & ~SoftTlb.PageMask), info, codeMap);
        }
    }

    // Linear addresses wrap at 4 GiB outside long mode.
    private ulong WrapLinear(ulong linear) => (Efer & EferLMA) != 0 ? linear : linear & 0xffff_ffff;

    // The region of a physical address; the last RAM region found is tried first, because page
    // walks and slow-path accesses nearly always land in the same one.
    private MemoryRegion? FindRegion(ulong physical)
    {
        MemoryRegion? last = _lastRegion;
        if (last is not null && last.Contains(physical))
        {
            return last;
        }

        MemoryRegion? found = Memory.Find(physical);
        if (found is { Kind: RegionKind.Ram })
        {
            _lastRegion = found;
        }

        return found;
    }
}
