using System.Runtime.CompilerServices;
using Emulator.Jit.Decoding;

namespace Emulator.Jit.State;

/// <summary>Operand access for the fast operand forms: everything comes from the <see cref="DecodedOp"/>.</summary>
internal sealed partial class CpuCore
{
    /// <summary>General register <paramref name="index"/>, an index validated when the op was decoded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Gpr(int index) => ref R[index];

    /// <summary>Writes the low <paramref name="size"/> bytes of a register; a 32-bit write zero-extends (Intel SDM Vol. 1 3.4.1.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put(ref ulong reg, int size, ulong value)
    {
        switch (size)
        {
            case 4: reg = (uint)value; break;
            case 8: reg = value; break;
            case 2: reg = (reg & ~0xffffUL) | (value & 0xffff); break;
            default: reg = (reg & ~0xffUL) | (value & 0xff); break;
        }
    }

    /// <summary>The memory operand's effective address (offset in its segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong EffectiveAddress(ref DecodedOp op)
    {
        ulong ea = op.Disp;
        if (op.Base >= 0)
        {
            ea += Gpr(op.Base);
        }

        if (op.Index >= 0)
        {
            ea += Gpr(op.Index) << op.Scale;
        }

        return ea & op.AddressMask;
    }

    /// <summary>The memory operand's linear address, segment checks included.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong MemoryLinear(ref DecodedOp op) => Linear(op.Segment, EffectiveAddress(ref op), op.MemorySize);

    /// <summary>The linear address of the operand for an instruction that writes it (a writable data segment is required).</summary>
    public ulong MemoryLinearWrite(ref DecodedOp op) => LinearWrite(op.Segment, EffectiveAddress(ref op), op.MemorySize);
}
