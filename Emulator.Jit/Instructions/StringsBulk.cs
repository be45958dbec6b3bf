using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Jit.Memory;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>
/// REP MOVS and REP STOS in 64-bit mode with DF = 0, a page at a time: where the source and the
/// destination of the next elements both stay on one page and the current TLB already holds plain
/// entries for them (a read entry; a write entry that is not a code page's, so no decoded code
/// is overwritten, and no data breakpoint watches the page), those elements are copied or filled
/// with one host block operation and RSI/RDI/RCX advance by as many. The result is the one the
/// element-by-element loop gives (Intel SDM Vol. 2B MOVS, STOS, REP): non-overlapping source and
/// destination only, no segment limits in 64-bit mode, permissions by construction of the TLB.
/// Anything else (a miss, MMIO, overlap, a code page) runs one element through the ordinary path,
/// which fills the TLB or raises the fault at that element.
/// </summary>
internal static unsafe class StringsBulk
{
    private const long BytesPerSlice = 1 << 16;

    /// <summary>Runs the instruction if the bulk rules apply; false to leave it to the element loop.</summary>
    public static bool TryRun(CpuCore cpu, in Instruction ins, bool movs)
    {
        // Single-stepping traps between iterations, a data breakpoint after the iteration that hit
        // it, and a zero count has its own register rules (Strings.ClearUpperStringRegisters): all
        // stay with the element loop.
        if (cpu.Bitness != 64 || !Strings.IsRepeated(ins) || (cpu.FlagsRest & (CpuCore.DF | CpuCore.TF)) != 0 || cpu.DataBreakpointsArmed)
        {
            return false;
        }

        int addressSize = Strings.AddressSize(ins);
        if (addressSize == 2 || (cpu.R[1] & Alu.Mask(addressSize)) == 0)
        {
            return false;
        }

        ulong mask = Alu.Mask(addressSize);
        int size = Strings.ElementSize(ins);
        long budget = BytesPerSlice;
        while ((cpu.R[1] & mask) != 0)
        {
            if (budget <= 0)
            {
                // More to do: run this instruction again after pending events are checked.
                cpu.Rip = cpu.InstructionStart;
                cpu.EndBlock = true;
                return true;
            }

            ulong count = cpu.R[1] & mask;
            ulong dst = cpu.LinearWrite((int)SegIndex.Es, cpu.R[7] & mask, size);
            ulong room = SoftTlb.PageMask + 1 - (dst & SoftTlb.PageMask);
            ulong src = 0;
            if (movs)
            {
                src = cpu.Linear(CpuCore.SegmentIndex(ins.MemorySegment), cpu.R[6] & mask, size);
                room = Math.Min(room, SoftTlb.PageMask + 1 - (src & SoftTlb.PageMask));
            }

            ulong n = Math.Min(count, room / (ulong)size);
            ulong bytes = n * (ulong)size;
            byte* from = null, to = null;
            if (n >= 2)
            {
                // The source first: a MOVS element reads before it writes, so its fault comes first.
                if (movs)
                {
                    from = ReadPointer(cpu.Tlb, src);
                    from = from != null ? from : SmapPointer(cpu, src, bytes, write: false);
                }

                if (!movs || from != null)
                {
                    to = WritePointer(cpu.Tlb, dst);
                    to = to != null ? to : SmapPointer(cpu, dst, bytes, write: true);
                }
            }

            if (to == null || (movs && (from == null || (to > from && to < from + bytes) || (from > to && from < to + bytes))))
            {
                // One element the ordinary way (and the TLB entry it may fill), then try again.
                OneElement(cpu, ins, movs, addressSize, size);
                budget -= size;
                continue;
            }

            if (movs)
            {
                Unsafe.CopyBlockUnaligned(to, from, (uint)bytes);
            }
            else
            {
                Fill(to, n, size, cpu.R[0]);
            }

            Advance(cpu, 7, mask, addressSize, bytes);
            if (movs)
            {
                Advance(cpu, 6, mask, addressSize, bytes);
            }

            ulong left = (cpu.R[1] - n) & mask;
            cpu.R[1] = addressSize == 4 ? left : (cpu.R[1] & ~mask) | left;
            budget -= (long)bytes;
        }

        return true;
    }

    private static void OneElement(CpuCore cpu, in Instruction ins, bool movs, int addressSize, int size)
    {
        ulong mask = Alu.Mask(addressSize);
        ulong dst = cpu.LinearWrite((int)SegIndex.Es, cpu.R[7] & mask, size);
        ulong value = movs ? cpu.ReadSized(cpu.Linear(CpuCore.SegmentIndex(ins.MemorySegment), cpu.R[6] & mask, size), size) : cpu.R[0] & Alu.Mask(size);
        cpu.WriteSized(dst, size, value);
        Strings.Advance(cpu, 7, addressSize, size);
        if (movs)
        {
            Strings.Advance(cpu, 6, addressSize, size);
        }

        Strings.DecrementCount(cpu, addressSize);
    }

    private static void Advance(CpuCore cpu, int reg, ulong mask, int addressSize, ulong bytes)
    {
        ulong v = (cpu.R[reg] + bytes) & mask;
        cpu.R[reg] = addressSize == 4 ? v : (cpu.R[reg] & ~mask) | v;
    }

    // A plain write entry only: a code page's entry carries SoftTlb.CodePageTag and does not match.
    private static byte* WritePointer(SoftTlb tlb, ulong linear)
    {
        int i = SoftTlb.Slot(linear);
        return tlb.WriteTag[i] == SoftTlb.Tag(linear) ? (byte*)(tlb.WriteAddend[i] + (nint)linear) : null;
    }

    // The kernel's copy_to_user and copy_from_user under SMAP: a supervisor access to a user page,
    // permitted by EFLAGS.AC, for which the TLB keeps no entry (AC decides per access). The page is
    // walked once for the run instead of once per element (CpuCore.BulkPointer).
    private static byte* SmapPointer(CpuCore cpu, ulong linear, ulong bytes, bool write) =>
        !cpu.Tlb.User && (cpu.Cr4 & CpuCore.Cr4Smap) != 0 ? cpu.BulkPointer(linear, (int)bytes, write) : null;

    private static byte* ReadPointer(SoftTlb tlb, ulong linear)
    {
        int i = SoftTlb.Slot(linear);
        return tlb.ReadTag[i] == SoftTlb.Tag(linear) ? (byte*)(tlb.ReadAddend[i] + (nint)linear) : null;
    }

    private static void Fill(byte* to, ulong n, int size, ulong rax)
    {
        switch (size)
        {
            case 1:
                Unsafe.InitBlockUnaligned(to, (byte)rax, (uint)n);
                break;
            case 2:
                MemoryMarshal.CreateSpan(ref Unsafe.AsRef<ushort>(to), (int)n).Fill((ushort)rax);
                break;
            case 4:
                MemoryMarshal.CreateSpan(ref Unsafe.AsRef<uint>(to), (int)n).Fill((uint)rax);
                break;
            default:
                MemoryMarshal.CreateSpan(ref Unsafe.AsRef<ulong>(to), (int)n).Fill(rax);
                break;
        }
    }
}
