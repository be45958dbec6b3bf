using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>
/// Far control transfers shared by JMP, CALL, RETF and IRET in every mode: direct transfers to
/// code segments with their privilege rules, call gates (16-, 32- and 64-bit) with the stack
/// switch and parameter copy, returns to outer privilege levels, and the transfers to a task
/// (Intel SDM Vol. 3A 5.8, Vol. 2A CALL, JMP, RET, IRET). Every check is made before any register
/// changes, so a fault leaves the state of the instruction intact.
/// </summary>
internal sealed partial class CpuCore
{
    private static bool IsCodeDescriptor(ulong d) => (d & (1UL << 44)) != 0 && (d & (1UL << 43)) != 0;

    private static uint SystemType(ulong d) => (uint)(d >> 40) & 0x1f;

    /// <summary>Far JMP to <paramref name="selector"/>:<paramref name="offset"/>.</summary>
    public void FarJump(ushort selector, ulong offset)
    {
        if (!ProtectedMode || V86Mode)
        {
            LoadCodeSegment(selector, offset);
            return;
        }

        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong d = ReadDescriptor(selector);
        if (IsCodeDescriptor(d))
        {
            SegmentRegister cs = DirectCodeTarget(selector, d);
            CheckBranchTarget(cs, offset);
            SetAccessed(selector, d);
            CommitCode(cs, offset);
            return;
        }

        switch (SystemType(d))
        {
            case 0x4 or 0xc:
                (SegmentRegister target, ulong gateOffset, _, _) = ReadCallGate(selector, d);
                // JMP through a call gate never changes privilege (Intel SDM Vol. 3A 5.8.6).
                if ((target.Type & 4) == 0 && target.Dpl != Cpl)
                {
                    throw new GuestFault(Vectors.GP, target.Selector & ~3);
                }

                target.Selector = (ushort)((target.Selector & ~3) | Cpl);
                CheckBranchTarget(target, gateOffset);
                CommitCode(target, gateOffset);
                return;
            case 0x1 or 0x5 or 0x9 when !LongMode:
                TaskSwitch(selector, TaskSwitchReason.Jump, null, 0);
                return;
            default:
                throw new GuestFault(Vectors.GP, selector & ~3);
        }
    }

    /// <summary>Far CALL to <paramref name="selector"/>:<paramref name="offset"/> with an operand size of <paramref name="size"/> bytes.</summary>
    public void FarCall(ushort selector, ulong offset, int size)
    {
        ushort oldCs = Seg[(int)SegIndex.Cs].Selector;
        if (!ProtectedMode || V86Mode)
        {
            PushCurrent(oldCs, Rip, size);
            LoadCodeSegment(selector, offset);
            return;
        }

        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong d = ReadDescriptor(selector);
        if (IsCodeDescriptor(d))
        {
            SegmentRegister cs = DirectCodeTarget(selector, d);
            CheckBranchTarget(cs, offset);
            SetAccessed(selector, d);
            PushCurrent(oldCs, Rip, size);
            CommitCode(cs, offset);
            return;
        }

        switch (SystemType(d))
        {
            case 0x4 or 0xc:
                CallGate(selector, d);
                return;
            case 0x1 or 0x5 or 0x9 when !LongMode:
                TaskSwitch(selector, TaskSwitchReason.Call, null, 0);
                return;
            default:
                throw new GuestFault(Vectors.GP, selector & ~3);
        }
    }

    /// <summary>RETF with an operand size of <paramref name="size"/> bytes, releasing <paramref name="release"/> bytes of parameters.</summary>
    public void FarReturn(int size, ulong release)
    {
        ulong offset = PeekStack(0, size);
        ushort selector = (ushort)PeekStack(size, size);
        if (!ProtectedMode || V86Mode)
        {
            LoadCodeSegment(selector, offset);
            StackPointer += (ulong)(2 * size) + release;
            return;
        }

        int cpl = Cpl;
        int rpl = selector & 3;
        SegmentRegister cs = ReturnCodeTarget(selector, cpl);
        if (rpl == cpl)
        {
            CheckBranchTarget(cs, offset);
            StackPointer += (ulong)(2 * size) + release;
            CommitCode(cs, offset);
            return;
        }

        // Return to an outer privilege level: SS:SP follow the parameters (Intel SDM Vol. 2A RET).
        ulong newSp = PeekStack((int)((ulong)(2 * size) + release), size);
        ushort newSs = (ushort)PeekStack((int)((ulong)(3 * size) + release), size);
        SegmentRegister ss = OuterStackSegment(newSs, rpl, LongMode && cs.Long);
        CheckBranchTarget(cs, offset);
        CommitCode(cs, offset);
        Seg[(int)SegIndex.Ss] = ss;
        SetStackPointerAfterReturn(newSp + release, size, cs);
        NullInaccessibleDataSegments(rpl);
    }

    /// <summary>IRET, IRETD, IRETQ with an operand size of <paramref name="size"/> bytes.</summary>
    public void InterruptReturn(int size)
    {
        if (!ProtectedMode)
        {
            ulong ip = PeekStack(0, size);
            ushort cs = (ushort)PeekStack(size, size);
            ulong flags = PeekStack(2 * size, size);
            LoadCodeSegment(cs, ip);
            StackPointer += (ulong)(3 * size);
            SetFlagsFromPopAtPrivilege(flags, size, Cpl, iret: true);
            NmiBlocked = false;
            return;
        }

        if (V86Mode)
        {
            ReturnWithinV86(size);
            return;
        }

        if ((FlagsRest & NT) != 0)
        {
            // A nested task returns to its caller through the back link; no tasks in IA-32e mode (Intel SDM Vol. 2A IRET).
            if (LongMode)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            TaskReturn();
            return;
        }

        ulong newIp = PeekStack(0, size);
        ushort newCs = (ushort)PeekStack(size, size);
        ulong newFlags = PeekStack(2 * size, size);
        int cpl = Cpl;
        if (!LongMode && size == 4 && (newFlags & VM) != 0 && cpl == 0)
        {
            ReturnToV86(newIp, newCs, newFlags);
            return;
        }

        int rpl = newCs & 3;
        SegmentRegister target = ReturnCodeTarget(newCs, cpl);
        bool to64 = LongMode && target.Long;
        // From 64-bit mode IRET always pops SS:RSP; otherwise only on a return to an outer level (Intel SDM Vol. 2A IRET).
        bool popStack = rpl > cpl || Bitness == 64;
        SegmentRegister ss = default;
        ulong newSp = 0;
        if (popStack)
        {
            newSp = PeekStack(3 * size, size);
            ss = OuterStackSegment((ushort)PeekStack(4 * size, size), rpl, to64);
        }

        if (!to64)
        {
            newIp &= size == 2 ? 0xffffUL : 0xffff_ffffUL;
        }

        CheckBranchTarget(target, newIp);
        if (!popStack)
        {
            StackPointer += (ulong)(3 * size);
        }

        CommitCode(target, newIp);
        SetFlagsFromPopAtPrivilege(newFlags, size, cpl, iret: true);
        if (popStack)
        {
            Seg[(int)SegIndex.Ss] = ss;
            SetStackPointerAfterReturn(newSp, size, target);
        }

        if (rpl > cpl)
        {
            NullInaccessibleDataSegments(rpl);
        }

        NmiBlocked = false;
        EndBlock = true;
    }

    // Code segment checks of a direct far JMP or CALL (Intel SDM Vol. 3A 5.8.1.1, 5.8.1.2).
    private SegmentRegister DirectCodeTarget(ushort selector, ulong d)
    {
        SegmentRegister cs = FromDescriptor(selector, d);
        int cpl = Cpl;
        bool conforming = (cs.Type & 4) != 0;
        if ((conforming ? cs.Dpl > cpl : (selector & 3) > cpl || cs.Dpl != cpl) || (LongMode && cs.Long && cs.DefaultBig))
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!cs.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        cs.Selector = (ushort)((selector & ~3) | cpl);
        return cs;
    }

    // Code segment checks of RETF and IRET (Intel SDM Vol. 2A RET, IRET).
    private SegmentRegister ReturnCodeTarget(ushort selector, int cpl)
    {
        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        int rpl = selector & 3;
        ulong d = ReadDescriptor(selector);
        SegmentRegister cs = FromDescriptor(selector, d);
        bool conforming = (cs.Type & 4) != 0;
        if (!IsCodeDescriptor(d) || rpl < cpl || (conforming ? cs.Dpl > rpl : cs.Dpl != rpl) || (LongMode && cs.Long && cs.DefaultBig))
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!cs.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        SetAccessed(selector, d);
        return cs;
    }

    // SS popped by a return to privilege level rpl; null only when returning to 64-bit code below
    // ring 3 (Intel SDM Vol. 2A IRET, RET).
    private SegmentRegister OuterStackSegment(ushort selector, int rpl, bool to64)
    {
        if ((selector & ~3) == 0)
        {
            if (!to64 || rpl == 3)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            return NullStackSegment(rpl) with { Selector = selector };
        }

        if ((selector & 3) != rpl)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        ulong d = ReadDescriptor(selector);
        SegmentRegister ss = FromDescriptor(selector, d);
        bool writableData = (ss.Attributes & 0x10) != 0 && (ss.Type & 0xa) == 2;
        if (!writableData || ss.Dpl != rpl)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!ss.Present)
        {
            throw new GuestFault(Vectors.SS, selector & ~3);
        }

        SetAccessed(selector, d);
        return ss;
    }

    // A branch target must be canonical in 64-bit code, inside the limit otherwise (#GP(0)).
    private static void CheckBranchTarget(in SegmentRegister cs, ulong offset)
    {
        if (cs.Long ? !IsCanonical(offset) : offset > cs.Limit)
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private void CommitCode(in SegmentRegister cs, ulong offset)
    {
        Seg[(int)SegIndex.Cs] = cs;
        Rip = offset;
        UpdateMode();
    }

    private void SetStackPointerAfterReturn(ulong sp, int size, in SegmentRegister cs)
    {
        if (size == 2)
        {
            R[4] = (R[4] & ~0xffffUL) | (sp & 0xffff);
        }
        else
        {
            R[4] = LongMode && cs.Long ? sp : (uint)sp;
        }
    }

    // Pushes CS and the return address on the current stack; nothing changes if a push faults.
    private void PushCurrent(ushort cs, ulong ip, int size)
    {
        ulong saved = R[4];
        try
        {
            Push(cs, size);
            Push(ip, size);
        }
        catch (GuestFault)
        {
            R[4] = saved;
            throw;
        }
    }

    /// <summary>
    /// After a return to an outer level, data segment registers the new level may not use are
    /// made null (Intel SDM Vol. 2A IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL). The base is kept, as
    /// the FS and GS bases of 64-bit code live in MSRs.
    /// </summary>
    private void NullInaccessibleDataSegments(int cpl)
    {
        foreach (int seg in new[] { (int)SegIndex.Es, (int)SegIndex.Ds, (int)SegIndex.Fs, (int)SegIndex.Gs })
        {
            SegmentRegister s = Seg[seg];
            bool usable = (s.Attributes & 0x10000) == 0;
            bool dataOrNonConforming = (s.Type & 8) == 0 || (s.Type & 4) == 0;
            if (usable && dataOrNonConforming && s.Dpl < cpl)
            {
                Seg[seg] = new SegmentRegister { Base = s.Base, Attributes = 0x10000 };
            }
        }
    }

    /// <summary>Reads a call gate (8 bytes, or 16 in IA-32e mode) and checks it and its target code segment (Intel SDM Vol. 3A 5.8.3, 5.8.4).</summary>
    private (SegmentRegister Target, ulong Offset, int ParameterCount, bool Gate32) ReadCallGate(ushort selector, ulong d)
    {
        int cpl = Cpl;
        int gateDpl = (int)(d >> 45) & 3;
        // IA-32e mode has only 64-bit call gates (type 0xc); a 16-bit one is #GP (Intel SDM Vol. 3A 5.8.3.1).
        if (gateDpl < cpl || gateDpl < (selector & 3) || (LongMode && SystemType(d) != 0xc))
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if ((d & (1UL << 47)) == 0)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        bool gate32 = SystemType(d) == 0xc;
        ulong offset = (d & 0xffff) | (gate32 ? ((d >> 48) & 0xffff) << 16 : 0);
        if (LongMode)
        {
            // The upper half of a 64-bit call gate holds offset bits 63:32 and a zero type field.
            ulong tableBase = (selector & 4) != 0 ? Ldtr.Base : Gdtr.Base;
            uint limit = (selector & 4) != 0 ? Ldtr.Limit : Gdtr.Limit;
            uint at = (uint)(selector & ~7) + 8;
            if (at + 7 > limit)
            {
                throw new GuestFault(Vectors.GP, selector & ~3);
            }

            ulong high = SystemRead(tableBase + at, 8);
            if (((high >> 40) & 0x1f) != 0)
            {
                throw new GuestFault(Vectors.GP, selector & ~3);
            }

            offset |= (high & 0xffff_ffff) << 32;
        }

        ushort targetSelector = (ushort)(d >> 16);
        if ((targetSelector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong td = ReadDescriptor(targetSelector);
        SegmentRegister target = FromDescriptor(targetSelector, td);
        if (!IsCodeDescriptor(td) || target.Dpl > cpl || (LongMode && (!target.Long || target.DefaultBig)))
        {
            throw new GuestFault(Vectors.GP, targetSelector & ~3);
        }

        if (!target.Present)
        {
            throw new GuestFault(Vectors.NP, targetSelector & ~3);
        }

        SetAccessed(targetSelector, td);
        return (target, offset, (int)(d >> 32) & 0x1f, gate32);
    }

    // CALL through a call gate: to a more privileged non-conforming segment with the stack of the
    // TSS (copying the gate's parameter count from the old stack outside IA-32e mode), or at the
    // same level on the current stack (Intel SDM Vol. 3A 5.8.5, 5.8.6; 64-bit gates 5.8.3.1).
    private void CallGate(ushort selector, ulong d)
    {
        (SegmentRegister target, ulong offset, int count, bool gate32) = ReadCallGate(selector, d);
        int cpl = Cpl;
        int size = LongMode ? 8 : gate32 ? 4 : 2;
        bool inner = (target.Type & 4) == 0 && target.Dpl < cpl;
        int newCpl = inner ? target.Dpl : cpl;
        target.Selector = (ushort)((target.Selector & ~3) | newCpl);
        CheckBranchTarget(target, offset);
        ushort oldCs = Seg[(int)SegIndex.Cs].Selector;
        if (!inner)
        {
            PushCurrent(oldCs, Rip, size);
            CommitCode(target, offset);
            return;
        }

        if (LongMode)
        {
            // Unlike interrupt delivery, a call gate does not align the new RSP (Intel SDM Vol. 3A 5.8.5.1).
            ulong rsp = ReadTss64(4 + (newCpl * 8), 0);
            Span<ulong> frame = [Seg[(int)SegIndex.Ss].Selector, R[4], oldCs, Rip];
            rsp = PushFrame64(rsp, frame, newCpl, 0);
            CommitCode(target, offset);
            Seg[(int)SegIndex.Ss] = NullStackSegment(newCpl);
            R[4] = rsp;
            return;
        }

        (ushort ssSelector, ulong sp) = TssStack(newCpl, 0);
        SegmentRegister ss = InnerStackSegment(ssSelector, newCpl, 0);
        Span<ulong> values = stackalloc ulong[4 + 31];
        int n = 0;
        values[n++] = Seg[(int)SegIndex.Ss].Selector;
        values[n++] = R[4];
        for (int i = count - 1; i >= 0; i--)
        {
            ulong oldSpSlot = (StackPointer + (ulong)(i * size)) & (StackAddressSize == 2 ? 0xffffUL : 0xffff_ffffUL);
            values[n++] = ReadSized(Linear((int)SegIndex.Ss, oldSpSlot, size), size);
        }

        values[n++] = oldCs;
        values[n++] = Rip;
        sp = PushFrame(ss, sp, values[..n], size, newCpl, ssSelector & ~3);
        CommitCode(target, offset);
        Seg[(int)SegIndex.Ss] = ss;
        R[4] = ss.DefaultBig ? (uint)sp : (R[4] & ~0xffffUL) | (sp & 0xffff);
    }

    // IRET in virtual-8086 mode works only with IOPL 3, which it cannot change (Intel SDM Vol. 3A 20.2.7).
    private void ReturnWithinV86(int size)
    {
        if ((FlagsRest & IOPL) != IOPL)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong ip = PeekStack(0, size);
        ushort cs = (ushort)PeekStack(size, size);
        ulong flags = PeekStack(2 * size, size);
        LoadCodeSegment(cs, ip & 0xffff);
        StackPointer += (ulong)(3 * size);
        SetFlagsFromPopAtPrivilege(flags, size, 3, iret: true);
        NmiBlocked = false;
    }

    // IRET from ring 0 with VM set in the popped EFLAGS enters virtual-8086 mode: ESP, SS, ES, DS,
    // FS, GS follow on the stack (Intel SDM Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE).
    private void ReturnToV86(ulong ip, ushort cs, ulong flags)
    {
        ulong esp = PeekStack(12, 4);
        Span<ushort> selectors = [(ushort)PeekStack(16, 4), (ushort)PeekStack(20, 4), (ushort)PeekStack(24, 4), (ushort)PeekStack(28, 4), (ushort)PeekStack(32, 4)];
        Rflags = (flags & 0x003f_7fd7) | 2;
        int[] order = [(int)SegIndex.Ss, (int)SegIndex.Es, (int)SegIndex.Ds, (int)SegIndex.Fs, (int)SegIndex.Gs];
        for (int i = 0; i < order.Length; i++)
        {
            LoadSegment(order[i], selectors[i]);
        }

        R[4] = (uint)esp;
        LoadCodeSegment(cs, ip & 0xffff);
        NmiBlocked = false;
        EndBlock = true;
    }
}
