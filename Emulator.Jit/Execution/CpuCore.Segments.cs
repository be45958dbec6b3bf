using Emulator.Core.Cpu;
using Emulator.Jit.Execution;

namespace Emulator.Jit.State;

/// <summary>Segment register loads: real-mode arithmetic or a descriptor-table fetch with its checks.</summary>
internal sealed partial class CpuCore
{
    /// <summary>Reads the 8-byte descriptor named by <paramref name="selector"/> from the GDT or LDT; #GP(selector) past the table limit.</summary>
    public ulong ReadDescriptor(ushort selector)
    {
        bool local = (selector & 4) != 0;
        ulong tableBase = local ? Ldtr.Base : Gdtr.Base;
        uint limit = local ? Ldtr.Limit : Gdtr.Limit;
        uint offset = (uint)(selector & ~7);
        if (offset + 7 > limit)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        return Read64(tableBase + offset);
    }

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

        if ((selector & ~3) == 0)
        {
            if (seg == (int)Core.Cpu.Seg.Ss && Bitness != 64)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            // A null selector loads an unusable segment; using it faults (Intel SDM Vol. 3A 3.4.2).
            Seg[seg] = new SegmentRegister { Selector = selector, Attributes = 0x10000 };
            return;
        }

        ulong d = ReadDescriptor(selector);
        SegmentRegister loaded = FromDescriptor(selector, d);
        bool isCode = (loaded.Type & 8) != 0;
        bool system = (loaded.Attributes & 0x10) == 0;
        if (system || (seg == (int)Core.Cpu.Seg.Ss && (isCode || (loaded.Type & 2) == 0)) || (isCode && (loaded.Type & 2) == 0 && seg != (int)Core.Cpu.Seg.Cs))
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!loaded.Present)
        {
            throw new GuestFault(seg == (int)Core.Cpu.Seg.Ss ? Vectors.SS : Vectors.NP, selector & ~3);
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

    private void SetAccessed(ushort selector, ulong descriptor)
    {
        if ((descriptor & (1UL << 40)) == 0)
        {
            ulong tableBase = (selector & 4) != 0 ? Ldtr.Base : Gdtr.Base;
            ulong at = tableBase + (uint)(selector & ~7) + 5;
            Write8(at, (byte)(Read8(at) | 1));
        }
    }
}
