using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Loads through a table, [base + index * scale + displacement], whose index the same block has just
/// bounded: `movzx r15d, r15b` then `xor ecx, [r9 + r15*4]` (a CRC32 table, 1 KiB) can only reach
/// [r9, r9 + 1024). Such a load probes the TLB for that whole window from the base register instead
/// of for its own address, so the probe no longer waits for the index: in a loop whose index comes
/// from the previous iteration's result (the CRC's), the address arithmetic and the entry's addend
/// load leave the loop's critical path, and only the access itself remains on it, as natively. A
/// window that crosses a page, or a miss, sends the load through its own probe out of line, so the
/// result is what the per-load probe gives; only the window's probe is then wasted.
/// What bounds an index: a zero-extending byte move into it (0-255), or an AND of its 32-bit form with
/// a small constant; any other write to it, and anything but a host instruction, forgets the bound.
/// Only plain 64-bit addressing (no FS/GS), loads, and base and index in host registers.
/// </summary>
internal sealed class IndexWindows
{
    /// <summary>The widest window probed at once (a window is within one page or it misses).</summary>
    public const int MaxWindow = 2048;

    /// <summary>A load's window: bytes [Low, High) from its base register.</summary>
    public readonly record struct Window(int Low, int High);

    private Window?[] _windows = new Window?[64];
    private readonly int[] _bound = new int[16];

    /// <summary>Loads given a window by the last <see cref="Find"/>.</summary>
    public int Count { get; private set; }

    public Window? At(int op) => op < _windows.Length ? _windows[op] : null;

    /// <summary>Finds the windowed loads of <paramref name="ir"/>; <paramref name="host"/> gives each guest register's host register (None: kept in the state).</summary>
    public void Find(IrBlock ir, Register[] host)
    {
        List<IrOp> ops = ir.Ops;
        if (_windows.Length < ops.Count)
        {
            _windows = new Window?[ops.Count];
        }

        Array.Clear(_windows);
        Count = 0;
        if (ir.Bitness != 64)
        {
            return;
        }

        Array.Fill(_bound, -1);
        int segment = 0;
        for (int i = 0; i < ops.Count; i++)
        {
            if (segment + 1 < ir.Segments.Count && ir.Segments[segment + 1].FirstOp == i)
            {
                // A region's segment is also reached by jumps from others, with nothing known.
                segment++;
                Array.Fill(_bound, -1);
            }

            IrOp op = ops[i];
            if (Candidate(op, host) is Window w)
            {
                _windows[i] = w;
                Count++;
            }

            if (op.Kind is not (IrKind.Native or IrKind.NativeMemory))
            {
                Array.Fill(_bound, -1);
                continue;
            }

            for (ushort r = op.Written; r != 0; r &= (ushort)(r - 1))
            {
                _bound[System.Numerics.BitOperations.TrailingZeroCount(r)] = -1;
            }

            if (Bounds(op.Ins) is (int dest, int max))
            {
                _bound[dest] = max;
            }
        }
    }

    private Window? Candidate(in IrOp op, Register[] host)
    {
        ref readonly Instruction ins = ref op.Ins;
        if (op.Kind != IrKind.NativeMemory || op.MemoryWrite || op.Locked || op.CountInCl || op.HighByte
            || ins.MemoryIndex == Register.None || !ins.MemoryIndex.IsGPR64() || !ins.MemoryBase.IsGPR64()
            || ins.MemorySegment is Register.FS or Register.GS || CpuCore.AddressMask(ins, 64) != ulong.MaxValue)
        {
            return null;
        }

        int b = RegisterMap.Index[(int)ins.MemoryBase], x = RegisterMap.Index[(int)ins.MemoryIndex];
        int size = ins.MemorySize.GetSize();
        if (b < 0 || x < 0 || b == x || host[b] == Register.None || host[x] == Register.None || size <= 0 || _bound[x] < 0)
        {
            return null;
        }

        long low = (long)ins.MemoryDisplacement64, high = low + ((long)_bound[x] * ins.MemoryIndexScale) + size;
        return high - low <= MaxWindow && low >= int.MinValue && high <= int.MaxValue ? new Window((int)low, (int)high) : null;
    }

    // The register an instruction leaves bounded, and its largest value: MOVZX from a byte into a
    // 32- or 64-bit register, AND of a 32-bit register (which zeroes bits 63:32) with a constant.
    private static (int Register, int Max)? Bounds(in Instruction ins)
    {
        if (ins.Op0Kind != OpKind.Register)
        {
            return null;
        }

        Register dest = ins.Op0Register;
        int index = RegisterMap.Index[(int)dest];
        if (index < 0 || dest.GetSize() < 4)
        {
            return null;
        }

        if (ins.Mnemonic == Mnemonic.Movzx)
        {
            int from = ins.Op1Kind == OpKind.Register ? ins.Op1Register.GetSize() : ins.MemorySize.GetSize();
            return from == 1 ? (index, 255) : null;
        }

        if (ins.Mnemonic == Mnemonic.And && dest.GetSize() == 4 && ins.OpCount == 2 && ins.Op1Kind is OpKind.Immediate8to32 or OpKind.Immediate32)
        {
            long mask = (int)ins.GetImmediate(1);
            return mask is >= 0 and < MaxWindow ? (index, (int)mask) : null;
        }

        return null;
    }
}
