using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>Why a hardware task switch happens; it decides busy bits, NT and the back link (Intel SDM Vol. 3A Table 8-2).</summary>
internal enum TaskSwitchReason
{
    Jump,
    Call,
    Interrupt,
    Iret,
}

/// <summary>
/// Hardware task switching between 32-bit and 16-bit TSSs (Intel SDM Vol. 3A 8.3, 8.7): JMP or CALL to a TSS or a
/// task gate, an interrupt or exception through a task gate, and IRET with NT set. Checks that can
/// fail before the switch fault in the old task; once the old state is saved and TR is loaded,
/// faults (#TS, #NP, #SS on the new segments) are reported in the new task.
/// </summary>
internal sealed partial class CpuCore
{
    // Offsets in the 32-bit TSS (Intel SDM Vol. 3A Figure 8-2).
    private const uint TssLink = 0, TssCr3 = 28, TssEip = 32, TssEflags = 36, TssGprs = 40, TssSegments = 72, TssLdt = 96, TssTrap = 100;

    public void TaskSwitch(ushort selector, TaskSwitchReason reason, int? errorCode, int ext)
    {
        bool iret = reason == TaskSwitchReason.Iret;
        ulong d = ReadDescriptor(selector, ext);
        if (reason is TaskSwitchReason.Jump or TaskSwitchReason.Call)
        {
            int cpl = Cpl;
            int dpl = (int)(d >> 45) & 3;
            if (dpl < cpl || dpl < (selector & 3))
            {
                throw new GuestFault(Vectors.GP, selector & ~3);
            }

            if (SystemType(d) == 0x5)
            {
                // A task gate names the TSS; the TSS's own DPL is not checked then (Intel SDM Vol. 3A 8.3.1).
                if ((d & (1UL << 47)) == 0)
                {
                    throw new GuestFault(Vectors.NP, selector & ~3);
                }

                selector = (ushort)(d >> 16);
                d = ReadDescriptor(selector);
            }
        }

        uint type = SystemType(d);
        bool busy = type is 0x3 or 0xb;
        int error = (selector & ~3) | ext;
        if ((selector & 4) != 0 || type is not (0x1 or 0x3 or 0x9 or 0xb) || busy != iret)
        {
            throw new GuestFault(iret ? Vectors.TS : Vectors.GP, error);
        }

        if ((d & (1UL << 47)) == 0)
        {
            throw new GuestFault(Vectors.NP, error);
        }

        SegmentRegister next = FromDescriptor(selector, d);
        bool next16 = (next.Type & 8) == 0;
        if (next.Limit < (next16 ? Tss16MinimumLimit : 0x67))
        {
            throw new GuestFault(Vectors.TS, error);
        }

        // The new task's state, read before anything changes.
        ulong newBase = next.Base;
        uint newCr3, newEip, newFlags;
        Span<uint> gprs = stackalloc uint[8];
        Span<ushort> selectors = stackalloc ushort[6];
        ushort ldt;
        bool trapFlag = false;
        if (next16)
        {
            newCr3 = (uint)Cr3;
            ReadTss16(newBase, gprs, selectors, out newEip, out newFlags, out ldt);
        }
        else
        {
            newCr3 = (uint)SystemRead(newBase + TssCr3, 4);
            newEip = (uint)SystemRead(newBase + TssEip, 4);
            newFlags = (uint)SystemRead(newBase + TssEflags, 4);
            for (int i = 0; i < 8; i++)
            {
                gprs[i] = (uint)SystemRead(newBase + TssGprs + (uint)(i * 4), 4);
            }

            for (int i = 0; i < 6; i++)
            {
                selectors[i] = (ushort)SystemRead(newBase + TssSegments + (uint)(i * 4), 2);
            }

            ldt = (ushort)SystemRead(newBase + TssLdt, 2);

            // The T flag (bit 0 at offset 100; the 16-bit TSS has none) asks for a #DB on entry to
            // the task (Intel SDM Vol. 3A 8.2.1, Vol. 3B 18.3.1.5).
            trapFlag = (SystemRead(newBase + TssTrap, 2) & 1) != 0;
        }

        // Save the current task (its EIP is the return address: the next instruction, or the
        // faulting one for a fault, as RIP already says).
        ulong oldBase = Tr.Base;
        ulong oldFlags = Rflags;
        if (iret)
        {
            oldFlags &= ~(ulong)NT;
        }

        if ((Tr.Type & 8) == 0)
        {
            SaveTss16(oldBase, oldFlags);
        }
        else
        {
            SystemWrite(oldBase + TssEip, 4, (uint)Rip);
            SystemWrite(oldBase + TssEflags, 4, (uint)oldFlags);
            for (int i = 0; i < 8; i++)
            {
                SystemWrite(oldBase + TssGprs + (uint)(i * 4), 4, (uint)R[i]);
            }

            for (int i = 0; i < 6; i++)
            {
                SystemWrite(oldBase + TssSegments + (uint)(i * 4), 2, Seg[i].Selector);
            }
        }

        if (reason is TaskSwitchReason.Jump or TaskSwitchReason.Iret)
        {
            SetTssBusy(Tr.Selector, false);
        }

        if (reason is TaskSwitchReason.Call or TaskSwitchReason.Interrupt)
        {
            newFlags |= NT;
            SystemWrite(newBase + TssLink, 2, Tr.Selector);
        }

        if (!iret)
        {
            SetTssBusy(selector, true);
        }

        // Commit: from here on the new task is current (Intel SDM Vol. 3A 8.3, step 11 onwards).
        Tr = next with { Attributes = next.Attributes | 2 };
        Cr0 |= Cr0TS;

        // The local breakpoint enables L0-L3 belong to the task: "the processor automatically clears
        // this flag on every task switch" (Intel SDM Vol. 3B 18.2.4, DR7 L0-L3). G0-G3 stay.
        if ((Dr7 & 0x55) != 0)
        {
            Dr7 &= ~0x55UL;
            UpdateDebugState();
        }
        if (PagingEnabled && !next16)
        {
            Cr3 = newCr3;
            if (PaePaging)
            {
                LoadPdptes(check: false);
            }

            FlushTlbNonGlobal();
        }

        Rflags = newFlags | 2;
        for (int i = 0; i < 8; i++)
        {
            R[i] = gprs[i];
        }

        Rip = newEip;
        InstructionStart = newEip;
        for (int i = 0; i < 6; i++)
        {
            Seg[i] = new SegmentRegister { Selector = selectors[i], Attributes = 0x10000 };
        }

        Ldtr = new SegmentRegister { Selector = ldt, Attributes = 0x10000 };
        EndBlock = true;
        LoadTaskSegments(selectors, ldt, ext);
        if (errorCode is { } code)
        {
            // The error code is pushed with the new task's width (a 16-bit TSS makes a 16-bit task).
            Push((uint)code, next16 ? 2 : 4);
        }

        if (trapFlag)
        {
            RequestTaskSwitchTrap();
        }
    }

    /// <summary>IRET with NT set: back to the task named by the current TSS's link field.</summary>
    private void TaskReturn()
    {
        ushort link = (ushort)SystemRead(Tr.Base + TssLink, 2);
        TaskSwitch(link, TaskSwitchReason.Iret, null, 0);
    }

    // Loads LDTR and the segment registers of the new task with the checks of Intel SDM Vol. 3A
    // 8.3 step 13 (failures are #TS with the selector, #NP or #SS when not present).
    private void LoadTaskSegments(ReadOnlySpan<ushort> selectors, ushort ldt, int ext)
    {
        if ((ldt & ~3) != 0)
        {
            if ((ldt & 4) != 0)
            {
                throw new GuestFault(Vectors.TS, (ldt & ~3) | ext);
            }

            SegmentRegister l = FromDescriptor(ldt, ReadDescriptor(ldt, ext));
            if ((l.Attributes & 0x10) != 0 || l.Type != 2 || !l.Present)
            {
                throw new GuestFault(Vectors.TS, (ldt & ~3) | ext);
            }

            Ldtr = l;
        }

        if (V86Mode)
        {
            for (int i = 0; i < 6; i++)
            {
                LoadSegment(i, selectors[i]);
            }

            LoadCodeSegment(selectors[(int)SegIndex.Cs], Rip);
            return;
        }

        ushort csSelector = selectors[(int)SegIndex.Cs];
        int cpl = csSelector & 3;
        SegmentRegister cs = TaskSegment(csSelector, ext, out ulong csd);
        bool conforming = (cs.Type & 4) != 0;
        if (!IsCodeDescriptor(csd) || (conforming ? cs.Dpl > cpl : cs.Dpl != cpl))
        {
            throw new GuestFault(Vectors.TS, (csSelector & ~3) | ext);
        }

        if (!cs.Present)
        {
            throw new GuestFault(Vectors.NP, (csSelector & ~3) | ext);
        }

        Seg[(int)SegIndex.Cs] = cs;
        UpdateMode();

        ushort ssSelector = selectors[(int)SegIndex.Ss];
        SegmentRegister ss = TaskSegment(ssSelector, ext, out _);
        if ((ssSelector & ~3) == 0 || (ssSelector & 3) != cpl || (ss.Attributes & 0x10) == 0 || (ss.Type & 0xa) != 2 || ss.Dpl != cpl)
        {
            throw new GuestFault(Vectors.TS, (ssSelector & ~3) | ext);
        }

        if (!ss.Present)
        {
            throw new GuestFault(Vectors.SS, (ssSelector & ~3) | ext);
        }

        Seg[(int)SegIndex.Ss] = ss;
        foreach (int seg in new[] { (int)SegIndex.Es, (int)SegIndex.Ds, (int)SegIndex.Fs, (int)SegIndex.Gs })
        {
            ushort s = selectors[seg];
            if ((s & ~3) == 0)
            {
                continue;
            }

            SegmentRegister data = TaskSegment(s, ext, out ulong dd);
            bool isCode = IsCodeDescriptor(dd);
            bool ok = (data.Attributes & 0x10) != 0 && (!isCode || (data.Type & 2) != 0)
                && ((isCode && (data.Type & 4) != 0) || (data.Dpl >= cpl && data.Dpl >= (s & 3)));
            if (!ok)
            {
                throw new GuestFault(Vectors.TS, (s & ~3) | ext);
            }

            if (!data.Present)
            {
                throw new GuestFault(Vectors.NP, (s & ~3) | ext);
            }

            Seg[seg] = data;
        }
    }

    // A descriptor for a task-switch segment load: a selector past its table is #TS, not #GP.
    private SegmentRegister TaskSegment(ushort selector, int ext, out ulong descriptor)
    {
        descriptor = 0;
        if ((selector & ~3) == 0)
        {
            return new SegmentRegister { Selector = selector, Attributes = 0x10000 };
        }

        try
        {
            descriptor = ReadDescriptor(selector, ext);
        }
        catch (GuestFault f) when (f.Vector == Vectors.GP)
        {
            throw new GuestFault(Vectors.TS, (selector & ~3) | ext);
        }

        return FromDescriptor(selector, descriptor);
    }
}
