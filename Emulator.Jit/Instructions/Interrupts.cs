using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

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

    // INT1 (ICEBP, F1): a #DB trap delivered like a hardware exception, without the gate DPL check
    // of INT n and without touching DR6 (Intel SDM Vol. 2A INT n/INTO/INT3/INT1, Vol. 3B 18.3.2).
    private static void Int1(CpuCore cpu, ref Instruction ins)
    {
        cpu.RaiseException(Vectors.DB, null);
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
        cpu.InterruptReturn(size);
    }
}
