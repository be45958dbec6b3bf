using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Bitwise logic: AND, OR, XOR, TEST, NOT. CF and OF are cleared, AF is undefined (left clear).</summary>
internal static unsafe class Logic
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.And, &And);
        r.Add(Mnemonic.Or, &Or);
        r.Add(Mnemonic.Xor, &Xor);
        r.Add(Mnemonic.Test, &Test);
        r.Add(Mnemonic.Not, &Not);
    }

    private static void And(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        Write(cpu, ins, size, cpu.ReadOp(ins, 0, size) & cpu.ReadOp(ins, 1, size));
    }

    private static void Or(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        Write(cpu, ins, size, cpu.ReadOp(ins, 0, size) | cpu.ReadOp(ins, 1, size));
    }

    private static void Xor(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        Write(cpu, ins, size, cpu.ReadOp(ins, 0, size) ^ cpu.ReadOp(ins, 1, size));
    }

    private static void Test(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        cpu.Flags.Set(FlagOp.Logic, size, cpu.ReadOp(ins, 0, size) & cpu.ReadOp(ins, 1, size) & Alu.Mask(size), 0, 0);
    }

    private static void Not(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        cpu.WriteOp(ins, 0, size, ~cpu.ReadOp(ins, 0, size) & Alu.Mask(size));
    }

    // The result of AND/OR/XOR goes to the destination; the flags follow it (CF = OF = 0).
    private static void Write(CpuCore cpu, in Instruction ins, int size, ulong result)
    {
        ulong r = result & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Logic, size, r, 0, 0);
    }
}
