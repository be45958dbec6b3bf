using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Decimal arithmetic adjustments: DAA, DAS, AAA, AAS, AAM, AAD (Intel SDM Vol. 2A).</summary>
internal static unsafe class Bcd
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Daa, &Daa);
        r.Add(Mnemonic.Das, &Das);
        r.Add(Mnemonic.Aaa, &Aaa);
        r.Add(Mnemonic.Aas, &Aas);
        r.Add(Mnemonic.Aam, &Aam);
        r.Add(Mnemonic.Aad, &Aad);
    }

    private static uint Flags(CpuCore cpu) => cpu.Flags.Get();

    private static void SetResultFlags(CpuCore cpu, byte al, bool cf, bool af)
    {
        cpu.Flags.Set(FlagOp.Logic, 1, al, 0, 0);
        uint f = cpu.Flags.Get() & ~(LazyFlags.CF | LazyFlags.AF);
        cpu.Flags.SetAll(f | (cf ? LazyFlags.CF : 0) | (af ? LazyFlags.AF : 0));
    }

    private static void Daa(CpuCore cpu, ref Instruction ins)
    {
        byte oldAl = (byte)cpu.R[0];
        uint f = Flags(cpu);
        bool oldCf = (f & LazyFlags.CF) != 0;
        bool af = false, cf = false;
        int al = oldAl;
        if ((al & 0xf) > 9 || (f & LazyFlags.AF) != 0)
        {
            al += 6;
            cf = oldCf || al > 0xff;
            af = true;
        }

        if (oldAl > 0x99 || oldCf)
        {
            al += 0x60;
            cf = true;
        }

        cpu.WriteReg(Iced.Intel.Register.AL, (byte)al);
        SetResultFlags(cpu, (byte)al, cf, af);
    }

    private static void Das(CpuCore cpu, ref Instruction ins)
    {
        byte oldAl = (byte)cpu.R[0];
        uint f = Flags(cpu);
        bool oldCf = (f & LazyFlags.CF) != 0;
        bool af = false, cf = false;
        int al = oldAl;
        if ((al & 0xf) > 9 || (f & LazyFlags.AF) != 0)
        {
            cf = oldCf || al < 6;
            al -= 6;
            af = true;
        }

        if (oldAl > 0x99 || oldCf)
        {
            al -= 0x60;
            cf = true;
        }

        cpu.WriteReg(Iced.Intel.Register.AL, (byte)al);
        SetResultFlags(cpu, (byte)al, cf, af);
    }

    private static void Aaa(CpuCore cpu, ref Instruction ins) => AsciiAdjust(cpu, add: true);

    private static void Aas(CpuCore cpu, ref Instruction ins) => AsciiAdjust(cpu, add: false);

    private static void AsciiAdjust(CpuCore cpu, bool add)
    {
        uint f = Flags(cpu);
        ulong ax = cpu.R[0] & 0xffff;
        bool adjust = (ax & 0xf) > 9 || (f & LazyFlags.AF) != 0;
        if (adjust)
        {
            ax = add ? ax + 0x106 : ax - 0x106;
        }

        ax = (ax & 0xff0f) & 0xffff;
        cpu.WriteReg(Iced.Intel.Register.AX, ax);
        uint rest = f & ~(LazyFlags.CF | LazyFlags.AF);
        cpu.Flags.SetAll(rest | (adjust ? LazyFlags.CF | LazyFlags.AF : 0));
    }

    private static void Aam(CpuCore cpu, ref Instruction ins)
    {
        byte divisor = (byte)ins.Immediate8;
        if (divisor == 0)
        {
            throw new GuestFault(Vectors.DE);
        }

        byte al = (byte)cpu.R[0];
        byte result = (byte)(al % divisor);
        cpu.WriteReg(Iced.Intel.Register.AX, ((ulong)(al / divisor) << 8) | result);
        cpu.Flags.Set(FlagOp.Logic, 1, result, 0, 0);
    }

    private static void Aad(CpuCore cpu, ref Instruction ins)
    {
        byte factor = (byte)ins.Immediate8;
        byte al = (byte)cpu.R[0], ah = (byte)(cpu.R[0] >> 8);
        byte result = (byte)(al + (ah * factor));
        cpu.WriteReg(Iced.Intel.Register.AX, result);
        cpu.Flags.Set(FlagOp.Logic, 1, result, 0, 0);
    }
}
