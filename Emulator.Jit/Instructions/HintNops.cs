using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Encodings in the opcode space Intel reserves as NOPs (0F 0D and 0F 18-0F 1F with a ModRM byte;
/// Intel SDM Vol. 2B NOP, and the opcode map, Vol. 2D Appendix A Table A-3), which processors
/// execute as NOPs unless a newer feature gives them a meaning: the reserved NOPs themselves,
/// prefetch hints (PREFETCH, PREFETCHWT1, PREFETCHIT0/1), CLDEMOTE, and RDSSP, which is a NOP while
/// CET shadow stacks are off (Vol. 2B RDSSP, Operation) - always here, since CPUID reports no CET
/// and CR4.CET is reserved. None of them accesses memory, so none can fault.
/// </summary>
internal static unsafe class HintNops
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Reservednop, &Nop);
        r.Add(Mnemonic.Prefetch, &Nop);
        r.Add(Mnemonic.Prefetchwt1, &Nop);
        r.Add(Mnemonic.Prefetchit0, &Nop);
        r.Add(Mnemonic.Prefetchit1, &Nop);
        r.Add(Mnemonic.Cldemote, &Nop);
        r.Add(Mnemonic.Rdsspd, &Nop);
        r.Add(Mnemonic.Rdsspq, &Nop);
    }

    private static void Nop(CpuCore cpu, ref Instruction ins)
    {
    }
}
