using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>
/// Delivery of exceptions and interrupts through the real-mode IVT, the protected-mode IDT (16- and
/// 32-bit gates, task gates) or the IA-32e IDT (64-bit gates with IST), with the double-fault and
/// triple-fault escalation of Intel SDM Vol. 3A 6.15 (interrupt 8, Table 6-5). Delivery is
/// all-or-nothing: every check and every store to the new stack happens before any register is
/// changed, so a fault during delivery leaves the state of the interrupted instruction for the
/// next exception (or for #DF) to report.
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>Delivers a fault raised by the instruction at <see cref="InstructionStart"/> (RIP already rolled back).</summary>
    public void RaiseException(int vector, int? errorCode, ulong faultAddress = 0) =>
        DeliverEvent(vector, errorCode, faultAddress, EventKind.Exception);

    /// <summary>Delivers an external interrupt or NMI at an instruction boundary (no error code, EXT set).</summary>
    public void RaiseInterrupt(int vector)
    {
        Halted = false;
        DeliverEvent(vector, null, 0, EventKind.External);
    }

    /// <summary>INT n, INT3, INTO, INT1: a software interrupt whose return address is the next instruction.</summary>
    public void SoftwareInterrupt(int vector) => Deliver(vector, null, EventKind.Software);

    private enum EventKind
    {
        Exception,
        External,
        Software,
    }

    // Contributory exceptions of Intel SDM Vol. 3A Table 6-4.
    private static bool IsContributory(int vector) => vector is Vectors.DE or Vectors.TS or Vectors.NP or Vectors.SS or Vectors.GP;

    private void DeliverEvent(int vector, int? errorCode, ulong faultAddress, EventKind kind)
    {
        // A fault while delivering a fault is handled serially, becomes #DF, or after #DF shuts the
        // processor down, by the classes of the two (Intel SDM Vol. 3A Table 6-5). The loop ends
        // because each round either returns, escalates towards #DF, or delivers a benign first event.
        for (int round = 0; round < 8; round++)
        {
            if (vector == Vectors.PF)
            {
                Cr2 = faultAddress;
            }

            try
            {
                Deliver(vector, errorCode, kind);
                return;
            }
            catch (GuestFault second) when (InternalError is null)
            {
                if (vector == Vectors.DF)
                {
                    TripleFault = true;
                    return;
                }

                // CR2 is loaded when a page fault is detected, also one that turns into #DF.
                if (second.Vector == Vectors.PF)
                {
                    Cr2 = second.Address;
                }

                bool doubleFault = (IsContributory(vector) && IsContributory(second.Vector))
                    || (vector == Vectors.PF && (IsContributory(second.Vector) || second.Vector == Vectors.PF));
                (vector, errorCode, faultAddress) = doubleFault ? (Vectors.DF, 0, 0UL) : (second.Vector, second.ErrorCode, second.Address);
                kind = EventKind.Exception;
            }
        }

        TripleFault = true;
    }

    private void Deliver(int vector, int? errorCode, EventKind kind)
    {
        if (!ProtectedMode)
        {
            DeliverReal(vector);
            return;
        }

        // Only exceptions push error codes; INT n and external interrupts never do (Intel SDM Vol. 3A 6.13).
        int? code = kind == EventKind.Exception && Vectors.HasErrorCode(vector) ? errorCode ?? 0 : null;
        int ext = kind == EventKind.Software ? 0 : 1;
        if (LongMode)
        {
            DeliverLong(vector, code, kind == EventKind.Software, ext);
        }
        else
        {
            DeliverProtected(vector, code, kind == EventKind.Software, ext);
        }
    }

    private void DeliverReal(int vector)
    {
        uint entry = (uint)vector * 4;
        if (entry + 3 > Idtr.Limit)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong target = Read32(Idtr.Base + entry);
        Push(Rflags, 2);
        Push(Seg[(int)SegIndex.Cs].Selector, 2);
        Push(Rip, 2);
        FlagsRest &= ~(IF | TF | AC);
        LoadCodeSegment((ushort)(target >> 16), target & 0xffff);
    }

    /// <summary>Reads and checks the IDT gate of <paramref name="vector"/>: returns the gate, or throws #GP/#NP with the IDT error code.</summary>
    private (ulong Low, ulong High) ReadGate(int vector, bool software, int ext)
    {
        int entrySize = LongMode ? 16 : 8;
        uint entry = (uint)(vector * entrySize);
        // Error codes name the IDT entry: index, IDT flag (bit 1), EXT (Intel SDM Vol. 3A 6.13).
        int idtError = (vector << 3) | 2 | ext;
        if (entry + (uint)entrySize - 1 > Idtr.Limit)
        {
            throw new GuestFault(Vectors.GP, idtError);
        }

        ulong low = SystemRead(Idtr.Base + entry, 8);
        ulong high = LongMode ? SystemRead(Idtr.Base + entry + 8, 8) : 0;
        uint type = (uint)(low >> 40) & 0x1f;
        bool valid = LongMode ? type is 0xe or 0xf : type is 0x5 or 0x6 or 0x7 or 0xe or 0xf;
        int gateDpl = (int)(low >> 45) & 3;
        if (!valid || (software && gateDpl < Cpl))
        {
            throw new GuestFault(Vectors.GP, idtError);
        }

        if ((low & (1UL << 47)) == 0)
        {
            throw new GuestFault(Vectors.NP, idtError);
        }

        return (low, high);
    }

    /// <summary>Checks the code segment an interrupt or call gate points to (Intel SDM Vol. 3A 6.12.1.1).</summary>
    private SegmentRegister GateTarget(ushort selector, int ext, bool require64)
    {
        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, ext);
        }

        ulong d = ReadDescriptor(selector, ext);
        SegmentRegister target = FromDescriptor(selector, d);
        bool code = (target.Attributes & 0x10) != 0 && (target.Type & 8) != 0;
        if (!code || target.Dpl > Cpl || (require64 && (!target.Long || target.DefaultBig)))
        {
            throw new GuestFault(Vectors.GP, (selector & ~3) | ext);
        }

        if (!target.Present)
        {
            throw new GuestFault(Vectors.NP, (selector & ~3) | ext);
        }

        SetAccessed(selector, d);
        return target;
    }

    private void DeliverProtected(int vector, int? errorCode, bool software, int ext)
    {
        (ulong gate, _) = ReadGate(vector, software, ext);
        uint type = (uint)(gate >> 40) & 0x1f;
        ushort selector = (ushort)(gate >> 16);
        if (type == 0x5)
        {
            // A task gate: the handler is a task (Intel SDM Vol. 3A 6.12.2).
            TaskSwitch(selector, TaskSwitchReason.Interrupt, errorCode, ext);
            return;
        }

        bool gate32 = type is 0xe or 0xf;
        ulong offset = (gate & 0xffff) | (gate32 ? ((gate >> 48) & 0xffff) << 16 : 0);
        SegmentRegister target = GateTarget(selector, ext, require64: false);
        int size = gate32 ? 4 : 2;
        int cpl = Cpl;
        bool fromV86 = V86Mode;
        bool inner = (target.Type & 4) == 0 && target.Dpl < cpl;
        if (fromV86 && (!inner || target.Dpl != 0))
        {
            // From virtual-8086 mode only a non-conforming ring-0 handler is allowed (Intel SDM Vol. 3A 20.3.1.1).
            throw new GuestFault(Vectors.GP, (selector & ~3) | ext);
        }

        if (offset > target.Limit)
        {
            throw new GuestFault(Vectors.GP, ext);
        }

        int newCpl = inner ? target.Dpl : cpl;
        ulong flags = Rflags;
        Span<ulong> frame = stackalloc ulong[10];
        int n = 0;
        SegmentRegister ss;
        ushort ssSelector = 0;
        ulong sp;
        if (inner)
        {
            (ssSelector, sp) = TssStack(newCpl, ext);
            ss = InnerStackSegment(ssSelector, newCpl, ext);
            if (fromV86)
            {
                frame[n++] = Seg[(int)SegIndex.Gs].Selector;
                frame[n++] = Seg[(int)SegIndex.Fs].Selector;
                frame[n++] = Seg[(int)SegIndex.Ds].Selector;
                frame[n++] = Seg[(int)SegIndex.Es].Selector;
            }

            frame[n++] = Seg[(int)SegIndex.Ss].Selector;
            frame[n++] = R[4];
        }
        else
        {
            ss = Seg[(int)SegIndex.Ss];
            sp = R[4];
        }

        frame[n++] = flags;
        frame[n++] = Seg[(int)SegIndex.Cs].Selector;
        frame[n++] = Rip;
        if (errorCode is { } code)
        {
            frame[n++] = (ulong)code;
        }

        // A stack without room is #SS(new SS | EXT) after a switch, #SS(EXT) otherwise (Intel SDM Vol. 2A INT n).
        sp = PushFrame(ss, sp, frame[..n], size, newCpl, inner ? (ssSelector & ~3) | ext : ext);

        // Commit.
        if (inner)
        {
            Seg[(int)SegIndex.Ss] = ss;
            if (fromV86)
            {
                foreach (int s in new[] { (int)SegIndex.Es, (int)SegIndex.Ds, (int)SegIndex.Fs, (int)SegIndex.Gs })
                {
                    Seg[s] = new SegmentRegister { Attributes = 0x10000 };
                }
            }
        }

        R[4] = ss.DefaultBig ? (uint)sp : (R[4] & ~0xffffUL) | (sp & 0xffff);
        Seg[(int)SegIndex.Cs] = target with { Selector = (ushort)((selector & ~3) | newCpl) };
        FlagsRest &= ~(TF | NT | RF | VM);
        if ((type & 1) == 0)
        {
            FlagsRest &= ~IF;
        }

        Rip = offset;
        UpdateMode();
    }

    /// <summary>
    /// IA-32e mode delivery (Intel SDM Vol. 3A 6.14): 16-byte gates to 64-bit code, RSPn from the
    /// 64-bit TSS on a privilege change (SS becomes null with RPL = new CPL) or the IST stack when
    /// the gate names one, the stack aligned down to 16 bytes, and SS:RSP always pushed.
    /// </summary>
    private void DeliverLong(int vector, int? errorCode, bool software, int ext)
    {
        (ulong low, ulong high) = ReadGate(vector, software, ext);
        uint type = (uint)(low >> 40) & 0x1f;
        ushort selector = (ushort)(low >> 16);
        ulong offset = (low & 0xffff) | (((low >> 48) & 0xffff) << 16) | ((high & 0xffff_ffff) << 32);
        int ist = (int)(low >> 32) & 7;
        SegmentRegister target = GateTarget(selector, ext, require64: true);
        int cpl = Cpl;
        int newCpl = (target.Type & 4) == 0 && target.Dpl < cpl ? target.Dpl : cpl;
        if (!IsCanonical(offset))
        {
            throw new GuestFault(Vectors.GP, ext);
        }

        ulong rsp = ist != 0 ? ReadTss64(0x24 + ((ist - 1) * 8), ext)
            : newCpl != cpl ? ReadTss64(4 + (newCpl * 8), ext)
            : R[4];
        rsp &= ~0xfUL;
        Span<ulong> frame = stackalloc ulong[6];
        int n = 0;
        frame[n++] = Seg[(int)SegIndex.Ss].Selector;
        frame[n++] = R[4];
        frame[n++] = Rflags;
        frame[n++] = Seg[(int)SegIndex.Cs].Selector;
        frame[n++] = Rip;
        if (errorCode is { } code)
        {
            frame[n++] = (ulong)code;
        }

        rsp = PushFrame64(rsp, frame[..n], newCpl, ext);

        // Commit.
        if (newCpl != cpl)
        {
            Seg[(int)SegIndex.Ss] = NullStackSegment(newCpl);
        }

        R[4] = rsp;
        Seg[(int)SegIndex.Cs] = target with { Selector = (ushort)((selector & ~3) | newCpl) };
        FlagsRest &= ~(TF | NT | RF | VM);
        if ((type & 1) == 0)
        {
            FlagsRest &= ~IF;
        }

        Rip = offset;
        UpdateMode();
    }

    /// <summary>SS after a 64-bit privilege change: a null selector whose RPL is the new CPL (Intel SDM Vol. 3A 6.14.4).</summary>
    public static SegmentRegister NullStackSegment(int cpl) => new()
    {
        Selector = (ushort)cpl,
        Attributes = 0x10000 | 0x93 | ((uint)cpl << 5),
    };

    /// <summary>The inner stack for privilege level <paramref name="dpl"/> from a 16- or 32-bit TSS (Intel SDM Vol. 3A 8.2.1, Figures 8-2 and 8-11).</summary>
    public (ushort Selector, ulong Pointer) TssStack(int dpl, int ext)
    {
        bool tss32 = (Tr.Type & 8) != 0;
        uint offset = tss32 ? (uint)(4 + (dpl * 8)) : (uint)(2 + (dpl * 4));
        uint width = tss32 ? 4u : 2u;
        if (offset + width + 1 > Tr.Limit)
        {
            throw new GuestFault(Vectors.TS, (Tr.Selector & ~3) | ext);
        }

        ulong sp = SystemRead(Tr.Base + offset, (int)width);
        ushort ss = (ushort)SystemRead(Tr.Base + offset + width, 2);
        return (ss, sp);
    }

    /// <summary>Reads a stack pointer (RSPn or ISTn) from the 64-bit TSS (Intel SDM Vol. 3A 8.7, Figure 8-11).</summary>
    public ulong ReadTss64(int offset, int ext)
    {
        if ((uint)offset + 7 > Tr.Limit)
        {
            throw new GuestFault(Vectors.TS, (Tr.Selector & ~3) | ext);
        }

        return SystemRead(Tr.Base + (uint)offset, 8);
    }

    /// <summary>Checks the stack segment taken from the TSS for a privilege change (#TS, or #SS when not present).</summary>
    public SegmentRegister InnerStackSegment(ushort selector, int newCpl, int ext)
    {
        int error = (selector & ~3) | ext;
        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.TS, ext);
        }

        if ((selector & 3) != newCpl)
        {
            throw new GuestFault(Vectors.TS, error);
        }

        ulong d = ReadDescriptor(selector, ext);
        SegmentRegister ss = FromDescriptor(selector, d);
        bool writableData = (ss.Attributes & 0x10) != 0 && (ss.Type & 0xa) == 2;
        if (!writableData || ss.Dpl != newCpl)
        {
            throw new GuestFault(Vectors.TS, error);
        }

        if (!ss.Present)
        {
            throw new GuestFault(Vectors.SS, error);
        }

        SetAccessed(selector, d);
        return ss;
    }

    /// <summary>
    /// Stores <paramref name="frame"/> (first element pushed first) below <paramref name="sp"/> on a
    /// 16/32-bit stack with the rights of <paramref name="cpl"/>; returns the new stack pointer.
    /// Registers are not touched, so a fault leaves the interrupted state intact.
    /// </summary>
    public ulong PushFrame(in SegmentRegister ss, ulong sp, ReadOnlySpan<ulong> frame, int size, int cpl, int stackFaultCode)
    {
        ulong mask = ss.DefaultBig ? 0xffff_ffffUL : 0xffffUL;
        foreach (ulong value in frame)
        {
            sp = (sp - (ulong)size) & mask;
            WriteAt(cpl, StackSlot(ss, sp, size, stackFaultCode), size, value);
        }

        return sp;
    }

    /// <summary>As <see cref="PushFrame"/> for a 64-bit stack (8-byte slots, canonical addresses).</summary>
    public ulong PushFrame64(ulong rsp, ReadOnlySpan<ulong> frame, int cpl, int ext)
    {
        foreach (ulong value in frame)
        {
            rsp -= 8;
            if (!IsCanonical(rsp) || !IsCanonical(rsp + 7))
            {
                throw new GuestFault(Vectors.SS, ext);
            }

            WriteAt(cpl, rsp, 8, value);
        }

        return rsp;
    }

    /// <summary>The linear address of a stack slot, with the limit check of an expand-up or expand-down segment (#SS).</summary>
    public static ulong StackSlot(in SegmentRegister ss, ulong offset, int size, int stackFaultCode)
    {
        bool expandDown = (ss.Type & 0xc) == 0x4;
        ulong top = ss.DefaultBig ? 0xffff_ffffUL : 0xffffUL;
        ulong last = offset + (ulong)size - 1;
        bool inside = expandDown ? offset > ss.Limit && last <= top : last <= ss.Limit;
        if (!inside)
        {
            throw new GuestFault(Vectors.SS, stackFaultCode);
        }

        return (ss.Base + offset) & 0xffff_ffff;
    }
}
