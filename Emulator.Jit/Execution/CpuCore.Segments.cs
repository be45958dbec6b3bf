using Emulator.Core.Cpu;
using Emulator.Jit.Execution;

namespace Emulator.Jit.State;

/// <summary>Segment register loads: real-mode arithmetic or a descriptor-table fetch with its checks.</summary>
internal sealed partial class CpuCore
{
    /// <summary>Reads the 8-byte descriptor named by <paramref name="selector"/> from the GDT or LDT; #GP(selector) past the table limit.</summary>
    public ulong ReadDescriptor(ushort selector, int ext = 0)
    {
        bool local = (selector & 4) != 0;
        ulong tableBase = local ? Ldtr.Base : Gdtr.Base;
        uint limit = local ? Ldtr.Limit : Gdtr.Limit;
        uint offset = (uint)(selector & ~7);
        if (offset + 7 > limit || (local && (Ldtr.Attributes & 0x10000) != 0))
        {
            throw new GuestFault(Vectors.GP, (selector & ~3) | ext);
        }

        return SystemRead(tableBase + offset, 8);
    }

    /// <summary>
    /// Reads an LDT or TSS descriptor from the GDT for LLDT/LTR; in IA-32e mode these are 16 bytes,
    /// the second half holding base bits 63:32 and a zero type field (Intel SDM Vol. 3A 8.2.3, Figure 8-4).
    /// </summary>
    public SegmentRegister ReadSystemSegment(ushort selector)
    {
        ulong d = ReadDescriptor(selector);
        SegmentRegister s = FromDescriptor(selector, d);
        if (LongMode)
        {
            uint offset = (uint)(selector & ~7);
            if (offset + 15 > Gdtr.Limit)
            {
                throw new GuestFault(Vectors.GP, selector & ~3);
            }

            ulong high = SystemRead(Gdtr.Base + offset + 8, 8);
            if (((high >> 40) & 0x1f) != 0)
            {
                throw new GuestFault(Vectors.GP, selector & ~3);
            }

            s.Base |= (high & 0xffff_ffff) << 32;
        }

        return s;
    }

    /// <summary>Sets or clears the busy bit of the TSS descriptor named by <paramref name="selector"/> in the GDT.</summary>
    public void SetTssBusy(ushort selector, bool busy)
    {
        ulong at = Gdtr.Base + (uint)(selector & ~7) + 5;
        byte access = (byte)SystemRead(at, 1);
        SystemWrite(at, 1, busy ? access | 2UL : access & ~2UL);
    }

    /// <summary>True when bits 63:47 of <paramref name="address"/> are all equal (Intel SDM Vol. 1 3.3.7.1).</summary>
    public static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    /// <summary>Decodes a segment descriptor into the hidden part of a segment register (Intel SDM Vol. 3A 3.4.5).</summary>
    public static SegmentRegister FromDescriptor(ushort selector, ulong d)
    {
        ulong baseAddress = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
        uint limit = (uint)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
        uint attributes = (uint)((d >> 40) & 0xf0ff);
        if ((attributes & 0x8000) != 0)
        {
            limit = (limit << 12) | 0xfff;
        }

        return new SegmentRegister { Selector = selector, Base = baseAddress, Limit = limit, Attributes = attributes };
    }

    /// <summary>MOV/POP to a data or stack segment register, or the data part of a far transfer.</summary>
    public void LoadSegment(int seg, ushort selector)
    {
        SegmentLoaded = true;
        if (!ProtectedMode || V86Mode)
        {
            ref SegmentRegister s = ref Seg[seg];
            s.Selector = selector;
            s.Base = (ulong)selector << 4;
            if (V86Mode)
            {
                s.Limit = 0xffff;
                s.Attributes = 0xf3 | (seg == (int)Core.Cpu.Seg.Cs ? 0x8u : 0);
            }

            return;
        }

        int cpl = Cpl;
        int rpl = selector & 3;
        bool stack = seg == (int)Core.Cpu.Seg.Ss;
        if ((selector & ~3) == 0)
        {
            // SS may be null only in 64-bit mode below CPL 3 (Intel SDM Vol. 2A MOV, POP).
            if (stack && (Bitness != 64 || cpl == 3 || rpl != cpl))
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            // A null selector loads an unusable segment; using it faults (Intel SDM Vol. 3A 3.4.2).
            Seg[seg] = new SegmentRegister { Selector = selector, Attributes = 0x10000 | (stack ? (uint)cpl << 5 : 0) };
            return;
        }

        ulong d = ReadDescriptor(selector);
        SegmentRegister loaded = FromDescriptor(selector, d);
        bool isCode = (loaded.Type & 8) != 0;
        bool system = (loaded.Attributes & 0x10) == 0;
        bool conformingCode = isCode && (loaded.Type & 4) != 0;
        bool allowed = stack
            ? !system && !isCode && (loaded.Type & 2) != 0 && rpl == cpl && loaded.Dpl == cpl
            : !system && (!isCode || (loaded.Type & 2) != 0) && (conformingCode || (rpl <= loaded.Dpl && cpl <= loaded.Dpl));
        if (!allowed)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!loaded.Present)
        {
            throw new GuestFault(stack ? Vectors.SS : Vectors.NP, selector & ~3);
        }

        SetAccessed(selector, d);
        Seg[seg] = loaded;
    }

    /// <summary>Loads CS for a far JMP/CALL/RET or IRET to a code segment at <paramref name="offset"/>.</summary>
    public void LoadCodeSegment(ushort selector, ulong offset)
    {
        if (!ProtectedMode || V86Mode)
        {
            ref SegmentRegister cs = ref Seg[(int)Core.Cpu.Seg.Cs];
            cs.Selector = selector;
            cs.Base = (ulong)selector << 4;
            if (V86Mode)
            {
                cs.Limit = 0xffff;
                cs.Attributes = 0xfb;
            }

            Rip = offset;
            UpdateMode();
            return;
        }

        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong d = ReadDescriptor(selector);
        SegmentRegister loaded = FromDescriptor(selector, d);
        if ((loaded.Attributes & 0x10) == 0 || (loaded.Type & 8) == 0)
        {
            InternalError ??= (loaded.Attributes & 0x10) == 0 ? $"far transfer through a system descriptor (type {loaded.Type:x}) is not implemented yet" : null;
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!loaded.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        SetAccessed(selector, d);
        // The new CS keeps the requested privilege level in its RPL field for same-privilege transfers.
        loaded.Selector = (ushort)((selector & ~3) | (selector & 3));
        Seg[(int)Core.Cpu.Seg.Cs] = loaded;
        Rip = offset;
        UpdateMode();
    }

    public void SetAccessed(ushort selector, ulong descriptor)
    {
        if ((descriptor & (1UL << 40)) == 0)
        {
            ulong tableBase = (selector & 4) != 0 ? Ldtr.Base : Gdtr.Base;
            ulong at = tableBase + (uint)(selector & ~7) + 5;
            SystemWrite(at, 1, SystemRead(at, 1) | 1);
        }
    }
}
