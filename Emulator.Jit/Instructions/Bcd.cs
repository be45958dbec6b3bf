using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Decimal arithmetic adjustments: DAA, DAS, AAA, AAS, AAM, AAD (Intel SDM Vol. 2A).</summary>
/// <remarks>
/// The flags the SDM leaves undefined (OF for DAA/DAS; OF, SF, ZF, PF for AAA/AAS; CF, AF, OF for
/// AAD and AAM) are those an Intel 80386 leaves, measured on a 386SX by the authors of the public
/// test386.asm CPU tester ("undefined behaviours" test): each adjustment is an 8-bit addition or
/// subtraction inside the processor and the undefined flags are that operation's: DAA/DAS add or
/// subtract the whole correction (0, 06H, 60H or 66H) to AL; AAA/AAS add or subtract 6 (or 0) to AL
/// before its upper nibble is cleared; AAD adds AH * imm8 to AL; AAM clears CF, AF and OF.
/// </remarks>
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

    // PF, ZF, SF and OF of the 8-bit operation AL +/- correction = result, then the defined CF and AF.
    private static void SetAdjustFlags(CpuCore cpu, bool add, byte al, byte correction, byte result, bool cf, bool af)
    {
        cpu.Flags.Set(add ? FlagOp.Add : FlagOp.Sub, 1, result, al, correction);
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
        SetAdjustFlags(cpu, add: true, oldAl, (byte)(al - oldAl), (byte)al, cf, af);
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
        SetAdjustFlags(cpu, add: false, oldAl, (byte)(oldAl - al), (byte)al, cf, af);
    }

    private static void Aaa(CpuCore cpu, ref Instruction ins) => AsciiAdjust(cpu, add: true);

    private static void Aas(CpuCore cpu, ref Instruction ins) => AsciiAdjust(cpu, add: false);

    private static void AsciiAdjust(CpuCore cpu, bool add)
    {
        uint f = Flags(cpu);
        ulong ax = cpu.R[0] & 0xffff;
        bool adjust = (ax & 0xf) > 9 || (f & LazyFlags.AF) != 0;
        byte al = (byte)ax, correction = (byte)(adjust ? 6 : 0);
        if (adjust)
        {
            ax = add ? ax + 0x106 : ax - 0x106;
        }

        ax = (ax & 0xff0f) & 0xffff;
        cpu.WriteReg(Iced.Intel.Register.AX, ax);
        byte intermediate = (byte)(add ? al + correction : al - correction);
        SetAdjustFlags(cpu, add, al, correction, intermediate, adjust, adjust);
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
        byte product = (byte)(ah * factor);
        byte result = (byte)(al + product);
        cpu.WriteReg(Iced.Intel.Register.AX, result);
        cpu.Flags.Set(FlagOp.Add, 1, result, al, product);
    }
}
