using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>
/// String instructions: MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE, and INS/OUTS (used by InOut).
/// A repeated instruction runs a bounded number of iterations per execution and then restarts
/// itself, so that interrupts and exit requests are seen during long copies; registers are updated
/// every iteration, so a fault leaves them at the failing element (Intel SDM Vol. 2B REP).
/// </summary>
internal static unsafe class Strings
{
    private const int IterationsPerSlice = 4096;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Movsb, &Movs);
        r.Add(Mnemonic.Movsw, &Movs);
        r.Add(Mnemonic.Movsd, &Movs);
        r.Add(Mnemonic.Movsq, &Movs);
        r.Add(Mnemonic.Stosb, &Stos);
        r.Add(Mnemonic.Stosw, &Stos);
        r.Add(Mnemonic.Stosd, &Stos);
        r.Add(Mnemonic.Stosq, &Stos);
        r.Add(Mnemonic.Lodsb, &Lods);
        r.Add(Mnemonic.Lodsw, &Lods);
        r.Add(Mnemonic.Lodsd, &Lods);
        r.Add(Mnemonic.Lodsq, &Lods);
        r.Add(Mnemonic.Cmpsb, &Cmps);
        r.Add(Mnemonic.Cmpsw, &Cmps);
        r.Add(Mnemonic.Cmpsd, &Cmps);
        r.Add(Mnemonic.Cmpsq, &Cmps);
        r.Add(Mnemonic.Scasb, &Scas);
        r.Add(Mnemonic.Scasw, &Scas);
        r.Add(Mnemonic.Scasd, &Scas);
        r.Add(Mnemonic.Scasq, &Scas);
    }

    /// <summary>Address size (2, 4, 8) of a string operand, from its Iced operand kind.</summary>
    public static int AddressSize(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.MemorySegSI or OpKind.MemoryESDI or OpKind.MemorySegDI: return 2;
                case OpKind.MemorySegESI or OpKind.MemoryESEDI or OpKind.MemorySegEDI: return 4;
                case OpKind.MemorySegRSI or OpKind.MemoryESRDI or OpKind.MemorySegRDI: return 8;
                default: break;
            }
        }

        return 2;
    }

    public static int ElementSize(in Instruction ins) => ins.MemorySize.GetSize();

    public static ulong ReadIndex(CpuCore cpu, int reg, int addressSize) => cpu.R[reg] & Alu.Mask(addressSize);

    public static void Advance(CpuCore cpu, int reg, int addressSize, int elementSize)
    {
        ulong mask = Alu.Mask(addressSize);
        ulong step = (cpu.FlagsRest & CpuCore.DF) != 0 ? (ulong)-elementSize : (ulong)elementSize;
        ulong v = (cpu.R[reg] + step) & mask;
        cpu.R[reg] = addressSize == 4 ? v : (cpu.R[reg] & ~mask) | v;
    }

    /// <summary>Decrements the count register; returns false when a REP prefix has no iterations left.</summary>
    public static bool RepHasWork(CpuCore cpu, in Instruction ins, int addressSize) =>
        !(ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix) || (cpu.R[1] & Alu.Mask(addressSize)) != 0;

    public static bool IsRepeated(in Instruction ins) => ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix;

    public static void DecrementCount(CpuCore cpu, int addressSize)
    {
        ulong mask = Alu.Mask(addressSize);
        ulong v = (cpu.R[1] - 1) & mask;
        cpu.R[1] = addressSize == 4 ? v : (cpu.R[1] & ~mask) | v;
    }

    /// <summary>Runs <paramref name="step"/> under the REP rules. <paramref name="step"/> returns false to stop early (REPE/REPNE).</summary>
    public static void Repeat(CpuCore cpu, in Instruction ins, Func<CpuCore, Instruction, int, bool> step)
    {
        int addressSize = AddressSize(ins);
        if (!IsRepeated(ins))
        {
            step(cpu, ins, addressSize);
            return;
        }

        if ((cpu.R[1] & Alu.Mask(addressSize)) == 0)
        {
            ClearUpperStringRegisters(cpu, ins, addressSize);
            return;
        }

        for (int i = 0; i < IterationsPerSlice; i++)
        {
            if ((cpu.R[1] & Alu.Mask(addressSize)) == 0)
            {
                return;
            }

            bool keepGoing = step(cpu, ins, addressSize);
            DecrementCount(cpu, addressSize);
            if (!keepGoing)
            {
                return;
            }

            if (cpu.DebugArmed && cpu.BreakpointHitPending)
            {
                // A data or I/O breakpoint traps after the iteration that hit it, with the
                // registers of that iteration; the rest runs when the handler returns (Intel SDM
                // Vol. 3B 18.3.1.2, repeated string instructions).
                if ((cpu.R[1] & Alu.Mask(addressSize)) != 0)
                {
                    cpu.Rip = cpu.InstructionStart;
                    cpu.EndBlock = true;
                }

                return;
            }
        }

        if ((cpu.R[1] & Alu.Mask(addressSize)) != 0)
        {
            // More to do: execute this instruction again after pending events are checked.
            cpu.Rip = cpu.InstructionStart;
            cpu.EndBlock = true;
        }
    }

    // With a 32-bit address size and a zero count no element is processed, yet Intel processors
    // still write ECX, clearing bits 63:32 of RCX as every 32-bit register write does in 64-bit mode
    // (Intel SDM Vol. 1 3.4.1.1); REP MOVS and REP STOS write ESI/EDI back too, while LODS, CMPS and
    // SCAS leave them. Neither the SDM (Vol. 2B REP, Operation) nor the AMD APM (Vol. 3 1.2.6) describes
    // this case, and AMD processors leave all three registers untouched. This CPU reports GenuineIntel,
    // so it does what Intel processors do (as Linux's KVM emulator does, commit 428e3d08574b); the
    // differential tests compare the upper halves only on Intel hosts (Tests VendorDifferences).
    private static void ClearUpperStringRegisters(CpuCore cpu, in Instruction ins, int addressSize)
    {
        if (addressSize != 4)
        {
            return;
        }

        cpu.R[1] = (uint)cpu.R[1];
        bool writesIndexes = ins.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq
            or Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq;
        for (int i = 0; i < ins.OpCount && writesIndexes; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.MemorySegESI:
                    cpu.R[6] = (uint)cpu.R[6];
                    break;
                case OpKind.MemoryESEDI or OpKind.MemorySegEDI:
                    cpu.R[7] = (uint)cpu.R[7];
                    break;
                default:
                    break;
            }
        }
    }

    private static ulong SourceLinear(CpuCore cpu, in Instruction ins, int addressSize, int size) =>
        cpu.Linear(CpuCore.SegmentIndex(ins.MemorySegment), ReadIndex(cpu, 6, addressSize), size);

    private static ulong DestinationLinear(CpuCore cpu, int addressSize, int size) =>
        cpu.Linear((int)SegIndex.Es, ReadIndex(cpu, 7, addressSize), size);

    private static ulong DestinationLinearWrite(CpuCore cpu, int addressSize, int size) =>
        cpu.LinearWrite((int)SegIndex.Es, ReadIndex(cpu, 7, addressSize), size);

    private static void Movs(CpuCore cpu, ref Instruction ins)
    {
        if (!StringsBulk.TryRun(cpu, ins, movs: true))
        {
            MovsElements(cpu, ins);
        }
    }

    private static void MovsElements(CpuCore cpu, in Instruction ins) => Repeat(cpu, ins, static (c, i, a) =>
    {
        int size = ElementSize(i);
        ulong v = c.ReadSized(SourceLinear(c, i, a, size), size);
        c.WriteSized(DestinationLinearWrite(c, a, size), size, v);
        Advance(c, 6, a, size);
        Advance(c, 7, a, size);
        return true;
    });

    private static void Stos(CpuCore cpu, ref Instruction ins)
    {
        if (!StringsBulk.TryRun(cpu, ins, movs: false))
        {
            StosElements(cpu, ins);
        }
    }

    private static void StosElements(CpuCore cpu, in Instruction ins) => Repeat(cpu, ins, static (c, i, a) =>
    {
        int size = ElementSize(i);
        c.WriteSized(DestinationLinearWrite(c, a, size), size, c.R[0] & Alu.Mask(size));
        Advance(c, 7, a, size);
        return true;
    });

    private static void Lods(CpuCore cpu, ref Instruction ins) => Repeat(cpu, ins, static (c, i, a) =>
    {
        int size = ElementSize(i);
        ulong v = c.ReadSized(SourceLinear(c, i, a, size), size);
        c.WriteOp(i, 0, size, v);
        Advance(c, 6, a, size);
        return true;
    });

    private static bool ContinueAfterCompare(CpuCore cpu, in Instruction ins) =>
        ins.HasRepePrefix ? cpu.Flags.Zero : !ins.HasRepnePrefix || !cpu.Flags.Zero;

    private static void Cmps(CpuCore cpu, ref Instruction ins) => Repeat(cpu, ins, static (c, i, a) =>
    {
        int size = ElementSize(i);
        ulong x = c.ReadSized(SourceLinear(c, i, a, size), size);
        ulong y = c.ReadSized(DestinationLinear(c, a, size), size);
        c.Flags.Set(FlagOp.Sub, size, (x - y) & Alu.Mask(size), x, y);
        Advance(c, 6, a, size);
        Advance(c, 7, a, size);
        return ContinueAfterCompare(c, i);
    });

    private static void Scas(CpuCore cpu, ref Instruction ins) => Repeat(cpu, ins, static (c, i, a) =>
    {
        int size = ElementSize(i);
        ulong x = c.R[0] & Alu.Mask(size);
        ulong y = c.ReadSized(DestinationLinear(c, a, size), size);
        c.Flags.Set(FlagOp.Sub, size, (x - y) & Alu.Mask(size), x, y);
        Advance(c, 7, a, size);
        return ContinueAfterCompare(c, i);
    });
}
