using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>Software interrupts and return: INT n, INT3, INT1, INTO, BOUND, IRET.</summary>
internal static unsafe class Interrupts
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Int, &Int);
        r.Add(Mnemonic.Int3, &Int3);
        r.Add(Mnemonic.Int1, &Int1);
        r.Add(Mnemonic.Into, &Into);
        r.Add(Mnemonic.Bound, &Bound);
        r.Add(Mnemonic.Iret, &Iret);
        r.Add(Mnemonic.Iretd, &Iret);
        r.Add(Mnemonic.Iretq, &Iret);
    }

    private static void Int(CpuCore cpu, ref Instruction ins)
    {
        if (cpu.V86Mode && ((cpu.FlagsRest & CpuCore.IOPL) >> 12) < 3)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.SoftwareInterrupt(ins.Immediate8);
        cpu.EndBlock = true;
    }

    private static void Int3(CpuCore cpu, ref Instruction ins)
    {
        cpu.SoftwareInterrupt(Vectors.BP);
        cpu.EndBlock = true;
    }

    private static void Int1(CpuCore cpu, ref Instruction ins)
    {
        cpu.SoftwareInterrupt(Vectors.DB);
        cpu.EndBlock = true;
    }

    private static void Into(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Flags.Get() & LazyFlags.OF) != 0)
        {
            cpu.SoftwareInterrupt(Vectors.OF);
            cpu.EndBlock = true;
        }
    }

    // The bounds are signed and inclusive; #BR is a fault, so it returns to the BOUND itself (Intel SDM Vol. 2A BOUND).
    private static void Bound(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        ulong linear = cpu.MemoryLinear(ins, 2 * size);
        long index = SignExtend(cpu.ReadReg(ins.Op0Register), bits);
        long lower = SignExtend(cpu.ReadSized(linear, size), bits);
        long upper = SignExtend(cpu.ReadSized(linear + (ulong)size, size), bits);
        if (index < lower || index > upper)
        {
            throw new GuestFault(Vectors.BR);
        }
    }

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);

    private static void Iret(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic switch { Mnemonic.Iret => 2, Mnemonic.Iretd => 4, _ => 8 };
        if (!cpu.ProtectedMode)
        {
            ulong ip = cpu.PeekStack(0, size);
            ushort cs = (ushort)cpu.PeekStack(size, size);
            ulong flags = cpu.PeekStack(2 * size, size);
            cpu.LoadCodeSegment(cs, ip);
            cpu.StackPointer += (ulong)(3 * size);
            cpu.SetFlagsFromPop(flags, size);
            cpu.NmiBlocked = false;
            return;
        }

        if (cpu.V86Mode || (cpu.FlagsRest & CpuCore.NT) != 0 || (cpu.Efer & CpuCore.EferLMA) != 0)
        {
            cpu.InternalError = "IRET from virtual-8086 mode, nested tasks or long mode is not implemented in the software CPU yet";
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong newIp = cpu.PeekStack(0, size);
        ushort newCs = (ushort)cpu.PeekStack(size, size);
        ulong newFlags = cpu.PeekStack(2 * size, size);
        int cpl = cpu.Cpl;
        if (size == 4 && (newFlags & CpuCore.VM) != 0 && cpl == 0)
        {
            cpu.InternalError = "IRET to virtual-8086 mode is not implemented in the software CPU yet";
            throw new GuestFault(Vectors.GP, 0);
        }

        if ((newCs & 3) > cpl)
        {
            // Return to an outer privilege level: SS:ESP follow on the stack (Intel SDM Vol. 2A IRET).
            ulong newSp = cpu.PeekStack(3 * size, size);
            ushort newSs = (ushort)cpu.PeekStack(4 * size, size);
            cpu.LoadCodeSegment(newCs, newIp);
            cpu.SetFlagsFromPopAtPrivilege(newFlags, size, cpl);
            cpu.LoadSegment((int)SegIndex.Ss, newSs);
            cpu.R[4] = size == 2 ? (cpu.R[4] & ~0xffffUL) | (newSp & 0xffff) : newSp;
            foreach (int seg in new[] { (int)SegIndex.Es, (int)SegIndex.Ds, (int)SegIndex.Fs, (int)SegIndex.Gs })
            {
                // Data segments the outer level may not use are nulled (Intel SDM Vol. 2A IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL).
                Core.Cpu.SegmentRegister s = cpu.Seg[seg];
                bool conformingCode = (s.Type & 0xc) == 0xc;
                if (!conformingCode && s.Dpl < (newCs & 3))
                {
                    cpu.Seg[seg] = new Core.Cpu.SegmentRegister { Attributes = 0x10000 };
                }
            }
        }
        else
        {
            cpu.LoadCodeSegment(newCs, newIp);
            cpu.StackPointer += (ulong)(3 * size);
            cpu.SetFlagsFromPopAtPrivilege(newFlags, size, cpl);
        }

        cpu.NmiBlocked = false;
        cpu.EndBlock = true;
    }
}
