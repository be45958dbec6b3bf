using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Bit counts: LZCNT, TZCNT, POPCNT (Intel SDM Vol. 2A LZCNT, Vol. 2B POPCNT, TZCNT).</summary>
internal static unsafe class BitCount
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Lzcnt, &Lzcnt);
        r.Add(Mnemonic.Tzcnt, &Tzcnt);
        r.Add(Mnemonic.Popcnt, &Popcnt);
    }

    // LZCNT and TZCNT count within the operand size, giving the size in bits for a zero source:
    // CF is set when the source is zero, ZF when the count is. OF, SF, PF and AF are undefined
    // and left clear here.
    private static void Lzcnt(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong source = cpu.ReadOp(ins, 1, size);
        int count = System.Numerics.BitOperations.LeadingZeroCount(source) - (64 - (size * 8));
        WriteCount(cpu, ins, size, (ulong)count, source == 0);
    }

    private static void Tzcnt(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong source = cpu.ReadOp(ins, 1, size);
        int count = source == 0 ? size * 8 : System.Numerics.BitOperations.TrailingZeroCount(source);
        WriteCount(cpu, ins, size, (ulong)count, source == 0);
    }

    private static void WriteCount(CpuCore cpu, in Instruction ins, int size, ulong count, bool sourceZero)
    {
        cpu.WriteOp(ins, 0, size, count);
        uint flags = cpu.Flags.Get() & ~LazyFlags.ArithMask;
        cpu.Flags.SetAll(flags | (sourceZero ? LazyFlags.CF : 0) | (count == 0 ? LazyFlags.ZF : 0));
    }

    // POPCNT: ZF is set for a zero source; OF, SF, AF, CF and PF are cleared.
    private static void Popcnt(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong source = cpu.ReadOp(ins, 1, size);
        cpu.WriteOp(ins, 0, size, (ulong)System.Numerics.BitOperations.PopCount(source));
        uint flags = cpu.Flags.Get() & ~LazyFlags.ArithMask;
        cpu.Flags.SetAll(flags | (source == 0 ? LazyFlags.ZF : 0));
    }
}
