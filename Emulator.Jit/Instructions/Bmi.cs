using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The VEX-encoded BMI1 bit manipulations on general registers: ANDN, BEXTR, BLSI, BLSMSK, BLSR
/// (Intel SDM Vol. 2A). TZCNT, the rest of BMI1, is in <see cref="BitCount"/>. AF and PF are
/// undefined after all of them and left clear here.
/// </summary>
internal static unsafe class Bmi
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Code.VEX_Andn_r32_r32_rm32, &Andn);
        r.Add(Code.VEX_Andn_r64_r64_rm64, &Andn);
        r.Add(Code.VEX_Bextr_r32_rm32_r32, &Bextr);
        r.Add(Code.VEX_Bextr_r64_rm64_r64, &Bextr);
        r.Add(Code.VEX_Blsi_r32_rm32, &Blsi);
        r.Add(Code.VEX_Blsi_r64_rm64, &Blsi);
        r.Add(Code.VEX_Blsmsk_r32_rm32, &Blsmsk);
        r.Add(Code.VEX_Blsmsk_r64_rm64, &Blsmsk);
        r.Add(Code.VEX_Blsr_r32_rm32, &Blsr);
        r.Add(Code.VEX_Blsr_r64_rm64, &Blsr);
    }

    /// <summary>
    /// The operand size of a VEX-encoded general-purpose instruction (BMI1, BMI2), or #UD: such
    /// instructions do not exist in real-address and virtual-8086 mode (Intel SDM Vol. 2A 2.5.1,
    /// exception conditions of VEX-encoded GPR instructions); they need no OSXSAVE.
    /// </summary>
    internal static int OperandSize(CpuCore cpu, in Instruction ins)
    {
        if (!cpu.ProtectedMode || cpu.V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }

        return CpuCore.OpSize(ins, 0);
    }

    private static void SetFlags(CpuCore cpu, int size, ulong result, bool carry, bool zeroFlagFromResult = true)
    {
        uint flags = cpu.Flags.Get() & ~LazyFlags.ArithMask;
        if (zeroFlagFromResult && result == 0)
        {
            flags |= LazyFlags.ZF;
        }

        if ((result >> ((size * 8) - 1)) != 0)
        {
            flags |= LazyFlags.SF;
        }

        cpu.Flags.SetAll(flags | (carry ? LazyFlags.CF : 0));
    }

    // ANDN: DEST := NOT SRC1 AND SRC2; SF and ZF from the result, CF and OF cleared.
    private static void Andn(CpuCore cpu, ref Instruction ins)
    {
        int size = OperandSize(cpu, ins);
        ulong r = ~cpu.ReadOp(ins, 1, size) & cpu.ReadOp(ins, 2, size) & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        SetFlags(cpu, size, r, carry: false);
    }

    // BEXTR: the LEN = SRC2[15:8] bits of SRC1 from START = SRC2[7:0], bits past the operand
    // reading as zero; ZF from the result, CF and OF cleared, SF undefined (left clear).
    private static void Bextr(CpuCore cpu, ref Instruction ins)
    {
        int size = OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size), control = cpu.ReadOp(ins, 2, size);
        int start = (int)(control & 0xff), length = (int)((control >> 8) & 0xff);
        ulong r = start >= size * 8 ? 0 : source >> start;
        if (length < 64)
        {
            r &= (1UL << length) - 1;
        }

        cpu.WriteOp(ins, 0, size, r);
        uint flags = cpu.Flags.Get() & ~LazyFlags.ArithMask;
        cpu.Flags.SetAll(flags | (r == 0 ? LazyFlags.ZF : 0));
    }

    // BLSI: the lowest set bit of SRC; CF set when SRC is not zero.
    private static void Blsi(CpuCore cpu, ref Instruction ins)
    {
        int size = OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        ulong r = (0 - source) & source & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        SetFlags(cpu, size, r, carry: source != 0);
    }

    // BLSMSK: a mask up to and including the lowest set bit of SRC; ZF cleared, CF set when SRC is zero.
    private static void Blsmsk(CpuCore cpu, ref Instruction ins)
    {
        int size = OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        ulong r = ((source - 1) ^ source) & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        SetFlags(cpu, size, r, carry: source == 0, zeroFlagFromResult: false);
    }

    // BLSR: SRC with its lowest set bit cleared; CF set when SRC is zero.
    private static void Blsr(CpuCore cpu, ref Instruction ins)
    {
        int size = OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        ulong r = (source - 1) & source & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        SetFlags(cpu, size, r, carry: source == 0);
    }
}
