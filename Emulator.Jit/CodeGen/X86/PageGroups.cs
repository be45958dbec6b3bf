using System.Numerics;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Loads of one block through the same base register, with no write to that register between them
/// and displacements within <see cref="Window"/> bytes of one another (`mov r8,[rax]`, then
/// `cmp rsi,[rax+28h]`, then `mov rdx,[rax+10h]`): the first load probes the TLB once for the whole
/// window and keeps the entry's addend in a slot of the state; the others load it and access
/// [addend + base + displacement] with no probe. A window that crosses a page, a TLB miss, or any
/// call into the interpreter (which zeroes the slots, see TranslatedCodeHelpers.Interpret) sends
/// the later loads through their own probe, out of line, so the result is what per-load probes give.
/// Only plain 64-bit addressing ([base+disp], no index, no FS/GS) and only loads: a write entry
/// holds more conditions (dirty bit, code pages) than one window could check. A group ends at any
/// instruction that is not a host instruction (a helper may flush the TLB or change mappings).
/// The same addend serves the whole window because an entry maps one 4 KiB page as a unit.
/// </summary>
internal sealed class PageGroups
{
    /// <summary>Groups a block may have open at once (slots in GuestState.PageAddends).</summary>
    public const int Slots = 4;

    /// <summary>The most bytes one group's loads may span.</summary>
    public const int Window = 64;

    /// <summary>A load's place in its group: its slot, whether it probes, and the group's byte range from the base register.</summary>
    public readonly record struct Membership(int Slot, bool First, int Low, int High);

    private Membership?[] _members = new Membership?[64];
    private readonly List<int>[] _open = new List<int>[16];
    private readonly int[] _low = new int[16], _high = new int[16];
    private readonly List<(int First, int Last)>[] _busy = new List<(int, int)>[Slots];

    public PageGroups()
    {
        for (int i = 0; i < 16; i++)
        {
            _open[i] = [];
        }

        for (int i = 0; i < Slots; i++)
        {
            _busy[i] = [];
        }
    }

    /// <summary>Loads placed in groups by the last <see cref="Find"/>.</summary>
    public int Count { get; private set; }

    public Membership? Member(int op) => op < _members.Length ? _members[op] : null;

    /// <summary>Groups the loads of <paramref name="ir"/>; <paramref name="host"/> gives each guest register's host register (None: kept in the state).</summary>
    public void Find(IrBlock ir, Register[] host)
    {
        List<IrOp> ops = ir.Ops;
        if (_members.Length < ops.Count)
        {
            _members = new Membership?[ops.Count];
        }

        Array.Clear(_members);
        Count = 0;
        foreach (List<(int, int)> b in _busy)
        {
            b.Clear();
        }

        if (ir.Bitness != 64)
        {
            return;
        }

        int segment = 0;
        for (int i = 0; i < ops.Count; i++)
        {
            if (segment + 1 < ir.Segments.Count && ir.Segments[segment + 1].FirstOp == i)
            {
                // A region's segment is also reached by jumps from others: no group spans its start.
                segment++;
                for (int r = 0; r < 16; r++)
                {
                    Close(r);
                }
            }

            IrOp op = ops[i];
            if (Candidate(op, host) is (int b, int disp, int size))
            {
                List<int> group = _open[b];
                int low = Math.Min(disp, group.Count == 0 ? disp : _low[b]);
                int high = Math.Max(disp + size, group.Count == 0 ? disp + size : _high[b]);
                if (group.Count != 0 && high - low > Window)
                {
                    Close(b);
                    low = disp;
                    high = disp + size;
                }

                group.Add(i);
                _low[b] = low;
                _high[b] = high;
            }

            // What the instruction writes ends the groups based on it; anything but a host
            // instruction ends them all.
            ushort ends = op.Kind is IrKind.Native or IrKind.NativeMemory ? op.Written : ushort.MaxValue;
            for (ushort r = ends; r != 0; r &= (ushort)(r - 1))
            {
                Close(BitOperations.TrailingZeroCount(r));
            }
        }

        for (int b = 0; b < 16; b++)
        {
            Close(b);
        }
    }

    private static (int Base, int Displacement, int Size)? Candidate(in IrOp op, Register[] host)
    {
        ref readonly Instruction ins = ref op.Ins;
        if (op.Kind != IrKind.NativeMemory || op.MemoryWrite || op.Locked || op.CountInCl || op.HighByte
            || ins.MemoryIndex != Register.None || ins.MemorySegment is Register.FS or Register.GS
            || !ins.MemoryBase.IsGPR64() || CpuCore.AddressMask(ins, 64) != ulong.MaxValue)
        {
            return null;
        }

        int b = RegisterMap.Index[(int)ins.MemoryBase];
        int size = ins.MemorySize.GetSize();
        if (b < 0 || host[b] == Register.None || size is <= 0 or > Window)
        {
            return null;
        }

        return (b, (int)ins.MemoryDisplacement64, size);
    }

    // Ends the open group of base register `b`: two loads or more get a slot free over their span.
    private void Close(int b)
    {
        List<int> group = _open[b];
        if (group.Count >= 2)
        {
            int first = group[0], last = group[^1];
            for (int slot = 0; slot < Slots; slot++)
            {
                if (Free(_busy[slot], first, last))
                {
                    _busy[slot].Add((first, last));
                    for (int k = 0; k < group.Count; k++)
                    {
                        _members[group[k]] = new Membership(slot, k == 0, _low[b], _high[b]);
                    }

                    Count += group.Count;
                    break;
                }
            }
        }

        group.Clear();
    }

    // True when no group held in a slot spans any of ops [first, last].
    private static bool Free(List<(int First, int Last)> busy, int first, int last)
    {
        foreach ((int f, int l) in busy)
        {
            if (l >= first && f <= last)
            {
                return false;
            }
        }

        return true;
    }
}
