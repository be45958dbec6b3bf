using Emulator.Core.Cpu;
using Emulator.Jit.Execution;

namespace Emulator.Jit.State;

/// <summary>
/// Delivery of exceptions and interrupts through the real-mode IVT or the protected-mode IDT,
/// with the double-fault and triple-fault escalation of Intel SDM Vol. 3A 6.15 (interrupt 8).
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>Delivers a fault raised by the instruction at <see cref="InstructionStart"/> (RIP already rolled back).</summary>
    public void RaiseException(int vector, int? errorCode)
    {
        try
        {
            Deliver(vector, errorCode, software: false);
        }
        catch (GuestFault second) when (vector != Vectors.DF && InternalError is null)
        {
            _ = second;
            try
            {
                Deliver(Vectors.DF, 0, software: false);
            }
            catch (GuestFault)
            {
                TripleFault = true;
            }
        }
        catch (GuestFault)
        {
            TripleFault = true;
        }
    }

    /// <summary>Delivers an external interrupt or NMI at an instruction boundary.</summary>
    public void RaiseInterrupt(int vector)
    {
        Halted = false;
        RaiseException(vector, null);
    }

    /// <summary>INT n, INT3, INTO: a software interrupt whose return address is the next instruction.</summary>
    public void SoftwareInterrupt(int vector) => Deliver(vector, null, software: true);

    private void Deliver(int vector, int? errorCode, bool software)
    {
        if (!ProtectedMode)
        {
            DeliverReal(vector);
            return;
        }

        if ((Efer & EferLMA) != 0)
        {
            InternalError = "interrupt delivery in long mode is not implemented in the software CPU yet";
            throw new GuestFault(Vectors.MC);
        }

        DeliverProtected(vector, software ? null : (Vectors.HasErrorCode(vector) ? errorCode ?? 0 : null), software);
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
        Push(Seg[(int)Core.Cpu.Seg.Cs].Selector, 2);
        Push(Rip, 2);
        FlagsRest &= ~(IF | TF | AC);
        LoadCodeSegment((ushort)(target >> 16), target & 0xffff);
    }

    private void DeliverProtected(int vector, int? errorCode, bool software)
    {
        uint entry = (uint)vector * 8;
        int idtError = (int)entry + 2 + (software ? 0 : 1);
        if (entry + 7 > Idtr.Limit)
        {
            throw new GuestFault(Vectors.GP, idtError);
        }

        ulong gate = Read64(Idtr.Base + entry);
        uint type = (uint)(gate >> 40) & 0x1f;
        int gateDpl = (int)(gate >> 45) & 3;
        bool is32 = type is 0xe or 0xf;
        if (type is not (0xe or 0xf or 0x6 or 0x7))
        {
            if (type == 0x5)
            {
                InternalError = "task gates are not implemented in the software CPU yet";
                throw new GuestFault(Vectors.MC);
            }

            throw new GuestFault(Vectors.GP, idtError);
        }

        if (software && gateDpl < Cpl)
        {
            throw new GuestFault(Vectors.GP, idtError);
        }

        if ((gate & (1UL << 47)) == 0)
        {
            throw new GuestFault(Vectors.NP, idtError);
        }

        ushort selector = (ushort)(gate >> 16);
        ulong offset = (gate & 0xffff) | (is32 ? ((gate >> 48) & 0xffff) << 16 : 0);
        if ((selector & ~3) == 0)
        {
            throw new GuestFault(Vectors.GP, software ? 0 : 1);
        }

        SegmentRegister target = FromDescriptor(selector, ReadDescriptor(selector));
        if ((target.Type & 8) == 0 || (target.Attributes & 0x10) == 0)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!target.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        int size = is32 ? 4 : 2;
        ulong flags = Rflags;
        ushort oldCs = Seg[(int)Core.Cpu.Seg.Cs].Selector;
        ulong oldRip = Rip;
        bool conforming = (target.Type & 4) != 0;
        int cpl = Cpl;
        if (!conforming && target.Dpl < cpl)
        {
            if (V86Mode)
            {
                InternalError = "interrupts from virtual-8086 mode are not implemented in the software CPU yet";
                throw new GuestFault(Vectors.MC);
            }

            // Inner-privilege stack from the 32-bit TSS (Intel SDM Vol. 3A 7.2.1, Figure 7-2).
            int dpl = target.Dpl;
            ulong tssBase = Tr.Base;
            uint espOffset = (uint)(4 + (dpl * 8));
            if (espOffset + 5 > Tr.Limit)
            {
                throw new GuestFault(Vectors.TS, Tr.Selector & ~3);
            }

            uint newEsp = Read32(tssBase + espOffset);
            ushort newSs = Read16(tssBase + espOffset + 4);
            ushort oldSs = Seg[(int)Core.Cpu.Seg.Ss].Selector;
            ulong oldEsp = R[4];
            if ((newSs & ~3) == 0)
            {
                throw new GuestFault(Vectors.TS, newSs & ~3);
            }

            SegmentRegister ss = FromDescriptor(newSs, ReadDescriptor(newSs));
            Seg[(int)Core.Cpu.Seg.Ss] = ss;
            R[4] = newEsp;
            Seg[(int)Core.Cpu.Seg.Cs] = target with { Selector = (ushort)((selector & ~3) | dpl) };
            UpdateMode();
            Push(oldSs, size);
            Push(oldEsp, size);
        }
        else
        {
            Seg[(int)Core.Cpu.Seg.Cs] = target with { Selector = (ushort)((selector & ~3) | cpl) };
            UpdateMode();
        }

        Push(flags, size);
        Push(oldCs, size);
        Push(oldRip, size);
        if (errorCode is { } code)
        {
            Push((ulong)code, size);
        }

        FlagsRest &= ~(TF | NT | RF | VM);
        if ((type & 1) == 0)
        {
            FlagsRest &= ~IF;
        }

        Rip = offset;
    }
}
