using System.Runtime.CompilerServices;
using Emulator.Jit.Memory;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>
/// REP MOVS and REP STOS a page at a time: the guest kernel's memcpy, memset, clear_page and
/// copy_to_user/copy_from_user are these instructions, and a network stack or a page allocator
/// runs them over whole pages. Where the TLB of the current privilege already maps the source for
/// reading and the destination for writing (so both are RAM, permitted, and the destination dirty;
/// see <see cref="CpuCore.ReadableHost"/> and <see cref="CpuCore.WritableHost"/>), the elements up
/// to the next page boundary of either are moved as one host copy or fill, and RSI, RDI and RCX
/// advance by that many. Anything else (a TLB miss, a page that holds code, an element that
/// crosses a page, MMIO) takes one element the ordinary way, which fills the TLB or faults with
/// the registers at that element (Intel SDM Vol. 2B REP), and the bulk path goes on. Only the
/// common case is taken here: 64-bit mode, 64-bit addresses, DF clear; the rest runs element by
/// element (<see cref="Repeat"/>).
/// </summary>
internal static unsafe partial class Strings
{
    // Bytes one execution moves, and runs it makes (the element-by-element ones included), before
    // it restarts itself, so interrupts are seen during long copies.
    private const long BulkBytesPerSlice = 64 * 1024;

    private static bool BulkApplies(CpuCore cpu, in Instruction ins) =>
        IsRepeated(ins) && cpu.Bitness == 64 && (cpu.FlagsRest & CpuCore.DF) == 0 && AddressSize(ins) == 8;

    // True when the instruction is done (or restarted for the rest), false to run it element by element.
    private static bool BulkStos(CpuCore cpu, in Instruction ins)
    {
        if (!BulkApplies(cpu, ins))
        {
            return false;
        }

        int size = ElementSize(ins);
        ulong value = cpu.R[0] & Alu.Mask(size);
        long budget = BulkBytesPerSlice;
        for (int steps = 0; cpu.R[1] != 0; steps++)
        {
            if (budget <= 0 || steps == IterationsPerSlice)
            {
                Restart(cpu);
                return true;
            }

            ulong linear = cpu.Linear((int)SegIndex.Es, cpu.R[7], size);
            ulong n = Math.Min(Math.Min(cpu.R[1], Room(linear, size)), (ulong)budget / (ulong)size);
            byte* to = n == 0 ? null : cpu.WritableHost(linear, (int)n * size);
            if (to is null)
            {
                // One element the ordinary way (a fault leaves the registers at it).
                cpu.WriteSized(linear, size, value);
                n = 1;
            }
            else
            {
                Fill(to, (int)n, size, value);
            }

            cpu.R[7] += n * (ulong)size;
            cpu.R[1] -= n;
            budget -= (long)n * size;
        }

        return true;
    }

    private static bool BulkMovs(CpuCore cpu, in Instruction ins)
    {
        if (!BulkApplies(cpu, ins))
        {
            return false;
        }

        int size = ElementSize(ins);
        int sourceSegment = CpuCore.SegmentIndex(ins.MemorySegment);
        long budget = BulkBytesPerSlice;
        for (int steps = 0; cpu.R[1] != 0; steps++)
        {
            if (budget <= 0 || steps == IterationsPerSlice)
            {
                Restart(cpu);
                return true;
            }

            ulong source = cpu.Linear(sourceSegment, cpu.R[6], size);
            ulong destination = cpu.Linear((int)SegIndex.Es, cpu.R[7], size);
            ulong n = Math.Min(Math.Min(cpu.R[1], (ulong)budget / (ulong)size), Math.Min(Room(source, size), Room(destination, size)));
            int bytes = (int)n * size;
            byte* from = n == 0 ? null : cpu.ReadableHost(source, bytes);
            byte* to = from is null ? null : cpu.WritableHost(destination, bytes);
            if (to is null)
            {
                cpu.WriteSized(destination, size, cpu.ReadSized(source, size));
                n = 1;
            }
            else
            {
                Copy(from, to, (int)n, size);
            }

            cpu.R[6] += n * (ulong)size;
            cpu.R[7] += n * (ulong)size;
            cpu.R[1] -= n;
            budget -= (long)n * size;
        }

        return true;
    }

    // Whole elements from `linear` to the end of its page.
    private static ulong Room(ulong linear, int size) => (SoftTlb.PageMask + 1 - (linear & SoftTlb.PageMask)) / (ulong)size;

    private static void Restart(CpuCore cpu)
    {
        cpu.Rip = cpu.InstructionStart;
        cpu.EndBlock = true;
    }

    // Sound: `to` addresses count * size bytes of one guest RAM page (WritableHost checked them).
    private static void Fill(byte* to, int count, int size, ulong value)
    {
        switch (size)
        {
            case 1:
                new Span<byte>(to, count).Fill((byte)value);
                break;
            case 2:
                new Span<ushort>(to, count).Fill((ushort)value);
                break;
            case 4:
                new Span<uint>(to, count).Fill((uint)value);
                break;
            default:
                new Span<ulong>(to, count).Fill(value);
                break;
        }
    }

    // Sound: both ranges lie in guest RAM pages (ReadableHost and WritableHost checked them). A
    // destination that starts inside the source, above it, gets what element-by-element copying
    // gives (the pattern repeats), not what memmove gives; otherwise the two agree.
    private static void Copy(byte* from, byte* to, int count, int size)
    {
        long bytes = (long)count * size;
        if (to <= from || to >= from + bytes)
        {
            Buffer.MemoryCopy(from, to, bytes, bytes);
            return;
        }

        for (int i = 0; i < count; i++)
        {
            byte* s = from + ((long)i * size), d = to + ((long)i * size);
            switch (size)
            {
                case 1: *d = *s; break;
                case 2: Unsafe.WriteUnaligned(d, Unsafe.ReadUnaligned<ushort>(s)); break;
                case 4: Unsafe.WriteUnaligned(d, Unsafe.ReadUnaligned<uint>(s)); break;
                default: Unsafe.WriteUnaligned(d, Unsafe.ReadUnaligned<ulong>(s)); break;
            }
        }
    }
}
