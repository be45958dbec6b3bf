using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Integer addition and subtraction: ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, XADD.</summary>
internal static unsafe class Alu
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Add, &Add);
        r.Add(Mnemonic.Adc, &Adc);
        r.Add(Mnemonic.Sub, &Sub);
        r.Add(Mnemonic.Sbb, &Sbb);
        r.Add(Mnemonic.Cmp, &Cmp);
        r.Add(Mnemonic.Inc, &Inc);
        r.Add(Mnemonic.Dec, &Dec);
        r.Add(Mnemonic.Neg, &Neg);
        r.Add(Mnemonic.Xadd, &Xadd);
    }

    public static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static void Add(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        ulong r = (a + b) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Add, size, r, a, b);
    }

    private static void Adc(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        uint carry = cpu.Flags.Carry ? 1u : 0u;
        ulong r = (a + b + carry) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Adc, size, r, a, b);
        cpu.Flags.CarryIn = carry;
    }

    private static void Sub(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        ulong r = (a - b) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Sub, size, r, a, b);
    }

    private static void Sbb(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        uint carry = cpu.Flags.Carry ? 1u : 0u;
        ulong r = (a - b - carry) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Sbb, size, r, a, b);
        cpu.Flags.CarryIn = carry;
    }

    private static void Cmp(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        cpu.Flags.Set(FlagOp.Sub, size, (a - b) & Mask(size), a, b);
    }

    private static void Inc(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size);
        ulong r = (a + 1) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.SetKeepCarry(FlagOp.Inc, size, r, a);
    }

    private static void Dec(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size);
        ulong r = (a - 1) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.SetKeepCarry(FlagOp.Dec, size, r, a);
    }

    private static void Neg(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size);
        ulong r = (0 - a) & Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Neg, size, r, a, 0);
    }

    // TEMP := SRC + DEST; SRC := DEST; DEST := TEMP (Intel SDM Vol. 2B XADD). A memory destination
    // is written first, while the source register (which may address it) still holds its old
    // value; XADD reg, reg writes the source first, so XADD r, r leaves the sum.
    private static void Xadd(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        ulong r = (a + b) & Mask(size);
        if (ins.Op0Kind == OpKind.Memory)
        {
            cpu.WriteOp(ins, 0, size, r);
            cpu.WriteOp(ins, 1, size, a);
        }
        else
        {
            cpu.WriteOp(ins, 1, size, a);
            cpu.WriteOp(ins, 0, size, r);
        }

        cpu.Flags.Set(FlagOp.Add, size, r, a, b);
    }
}
