using System.Buffers.Binary;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Moves that reverse byte order: MOVBE (Intel SDM Vol. 2B MOVBE). BSWAP of a register is in <see cref="BitOps"/>.</summary>
internal static unsafe class ByteOrder
{
    public static void Register(HandlerTable.Registry r) => r.Add(Mnemonic.Movbe, &Movbe);

    // One operand is memory, the other a register of the same size; a 16-bit register destination
    // keeps its upper bits, a 32-bit one is zero-extended, as for MOV.
    private static void Movbe(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong value = cpu.ReadOp(ins, 1, size);
        cpu.WriteOp(ins, 0, size, Reverse(value, size));
    }

    private static ulong Reverse(ulong value, int size) => size switch
    {
        2 => BinaryPrimitives.ReverseEndianness((ushort)value),
        4 => BinaryPrimitives.ReverseEndianness((uint)value),
        _ => BinaryPrimitives.ReverseEndianness(value),
    };
}
