using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.Translation;

namespace Emulator.Jit.State;

/// <summary>The interpreter: executes one cached block, turning guest faults into exception delivery.</summary>
internal sealed unsafe partial class CpuCore
{
    // EMU_TRACE=exec prints CS:RIP of every block executed to stderr (like QEMU's -d exec); the
    // JIT folds the check away when it is off.
    private static readonly bool TraceExec = Environment.GetEnvironmentVariable("EMU_TRACE") == "exec";

    /// <summary>Guest instructions completed so far.</summary>
    public long InstructionsRetired;

    /// <summary>
    /// Set from any thread by <see cref="RequestStop"/>: the vCPU's loop has something to look at (an
    /// interrupt, a request), so <see cref="ExecuteBlocks"/> and translated code return at their next
    /// block boundary. The vCPU's loop clears it before it looks.
    /// </summary>
    public volatile bool StopRequested;

    /// <summary>An external interrupt may be waiting for IF (GuestState.InterruptPending; any thread).</summary>
    public bool InterruptPending
    {
        get => Volatile.Read(ref _state->InterruptPending) != 0;
        set => Volatile.Write(ref _state->InterruptPending, value ? (byte)1 : (byte)0);
    }

    /// <summary>
    /// Asks the running vCPU to return to its loop soon (any thread). Translated code sees it at its
    /// next block entry or loop back edge, through its budget, which is zeroed here: QEMU's TCG checks
    /// an exit request at every block entry for the same reason. Without this the code would run out
    /// its whole budget first.
    /// </summary>
    public void RequestStop()
    {
        StopRequested = true;
        // Translated code decrements the budget without a lock, so a decrement racing with this
        // exchange can undo it; the budget itself then bounds the delay (TranslationCache.Budget).
        long left = Interlocked.Exchange(ref _state->Budget, 0);
        if (left > 0)
        {
            Interlocked.Add(ref _state->Forfeited, left);
        }
    }

    /// <summary>Set when exception delivery itself failed past #DF: the machine must shut down.</summary>
    public bool TripleFault;

    public ulong IpMask => Bitness switch { 16 => 0xffff, 32 => 0xffff_ffff, _ => ulong.MaxValue };

    /// <summary>Runs the block at CS:RIP. Returns after the block ends, an instruction ends it early, or a fault is delivered.</summary>
    public void ExecuteBlock() => ExecuteBlocks(1);

    /// <summary>
    /// Runs up to <paramref name="maxBlocks"/> blocks back to back. It stops early, for the vCPU's
    /// loop to look at interrupts and requests, when an instruction ends its block on purpose
    /// (HLT, STI, a mode or CR change: <see cref="EndBlock"/>), an interrupt shadow begins, a
    /// fault is delivered, or <see cref="RequestStop"/> was called (an interrupt arrived): such an
    /// interrupt waits at most for the block (or translated code's block boundary) under way.
    /// </summary>
    public void ExecuteBlocks(int maxBlocks)
    {
        long done = 0;
        try
        {
            for (int n = 0; n < maxBlocks; n++)
            {
                // The first block always runs, so that a caller outside the vCPU's loop (a single
                // step) makes progress whatever the flag says.
                if (n > 0 && StopRequested)
                {
                    break;
                }

                if (Traced)
                {
                    // Single-step, breakpoints or RF: one instruction at a time (CpuCore.Debug.cs).
                    if (ExecuteTraced())
                    {
                        EndBlock = false;
                        break;
                    }

                    continue;
                }

                InstructionStart = Rip;
                Block block = FetchBlock();
                if (Translator is { } translator && !EndBlock && !InterpretNext && (FlagsRest & TF) == 0 && !DebugArmed)
                {
                    TranslationCache.Outcome outcome = translator.TryRun(block);
                    if (outcome == TranslationCache.Outcome.Stop)
                    {
                        EndBlock = false;
                        break;
                    }

                    if (outcome == TranslationCache.Outcome.Continue)
                    {
                        continue;
                    }
                }

                if (TranslatorSettings.Profile && Translator is { } why && (EndBlock || InterpretNext || (FlagsRest & TF) != 0))
                {
                    why.Statistics.CountReason(EndBlock ? "one instruction" : InterpretNext ? "assumption failed" : "TF");
                }

                InterpretNext = false;
                if (TranslatorSettings.Profile && Translator is { } profiled)
                {
                    profiled.Statistics.InterpretedBlocks++;
                    foreach (DecodedOp o in block.Ops)
                    {
                        profiled.Statistics.CountInterpreted(o.Ins.Mnemonic);
                    }
                }

                if (TraceExec)
                {
                    Console.Error.WriteLine($"exec {Seg[(int)Core.Cpu.Seg.Cs].Selector:x4}:{Rip:x8} ({block.Ops.Length} instructions) {block.Ops[0].Ins}");
                }

                Span<DecodedOp> ops = block.Ops;
                ulong mask = IpMask;
                for (int i = 0; i < ops.Length; i++)
                {
                    ref DecodedOp op = ref ops[i];
                    InstructionStart = Rip;
                    Rip = (Rip + op.Length) & mask;
                    MovSsShadow = false;
                    op.Handler(this, ref op.Ins);
                    done++;
                    if (EndBlock)
                    {
                        EndBlock = false;
                        InstructionsRetired += done;
                        return;
                    }
                }

                if (InterruptShadow)
                {
                    break;
                }
            }
        }
        catch (GuestFault fault)
        {
            DeliverFault(fault);
        }

        InstructionsRetired += done;
    }

    /// <summary>
    /// Delivers <paramref name="fault"/> of the instruction at <see cref="InstructionStart"/>, whose
    /// state is as before it (the interpreter's loop and translated code's helper both end here).
    /// </summary>
    public void DeliverFault(GuestFault fault)
    {
        Rip = InstructionStart;
        EndBlock = false;
        _deferredTrap = 0;
        if (InternalError is null)
        {
            // Every fault-class exception pushes RF = 1, so that returning to the instruction does
            // not take its instruction breakpoint again (Intel SDM Vol. 3B 18.3.1.1, RF flag).
            FlagsRest |= RF;
            RaiseException(fault.Vector, fault.ErrorCode, fault.Address);
        }
    }

    /// <summary>
    /// Runs only the first instruction of the block at CS:RIP (a fallback for another backend):
    /// <see cref="EndBlock"/> set before a block stops it after its first instruction.
    /// </summary>
    public void ExecuteOneInstruction()
    {
        EndBlock = true;
        ExecuteBlocks(1);
    }
}
