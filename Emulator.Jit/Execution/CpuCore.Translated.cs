using System.Runtime.ExceptionServices;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.Translation;

namespace Emulator.Jit.State;

/// <summary>The interpreter as seen from translated code: one instruction at a time, faults as return codes.</summary>
internal sealed unsafe partial class CpuCore
{
    private ExceptionDispatchInfo? _translatedCodeException;

    /// <summary>The translator of this vCPU; null runs the interpreter alone.</summary>
    public TranslationCache? Translator { get; set; }

    /// <summary>Set when translated code found an assumption broken: the next block is interpreted.</summary>
    public bool InterpretNext;

    /// <summary>Set by <see cref="LoadSegment"/>: a helper called from translated code must then leave it.</summary>
    public bool SegmentLoaded;

    /// <summary>
    /// Runs the instruction <paramref name="op"/> (translated code is at it: registers and flags are
    /// in the state) with its interpreter handler. Returns 0 when translated code may go on with the
    /// next instruction, else the <see cref="ExitReason"/> to leave with. A guest fault is delivered
    /// here, as the interpreter's loop delivers it; any other exception is kept and rethrown by the
    /// dispatcher, since it must not unwind through host code frames.
    /// </summary>
    public int InterpretFromTranslatedCode(DecodedOp* op)
    {
        if (TranslatorSettings.Profile)
        {
            Translator?.Statistics.CountHelper(op);
            if (TranslatorSettings.ProfileSites)
            {
                Translator?.Statistics.CountHelperSite(op->Ins);
            }
        }

        ulong next = (op->Ins.IP + op->Length) & IpMask;
        InstructionStart = op->Ins.IP;
        Rip = next;
        SegmentLoaded = false;
        try
        {
            op->Handler(this, ref op->Ins);
        }
        catch (GuestFault fault)
        {
            DeliverFault(fault);
            Flags.ToHostForm();
            return (int)ExitReason.End;
        }
        catch (Exception e)
        {
            _translatedCodeException = ExceptionDispatchInfo.Capture(e);
            Flags.ToHostForm();
            return (int)ExitReason.End;
        }

        Flags.ToHostForm();
        if (EndBlock || InterruptShadow || Halted)
        {
            return (int)ExitReason.End;
        }

        // Translated code was entered with the segments it uses found flat (TranslationCache.TryRun);
        // a data segment register this instruction loaded (MOV, POP, LDS...) may no longer be, and
        // then the rest of the block goes to the interpreter. 64-bit code uses no segment but the
        // FS/GS bases, which it reads from the state at each access.
        if (SegmentLoaded && Bitness != 64 && Translator is { } translator && translator.SegmentsBecameNonFlat())
        {
            return (int)ExitReason.Interpret;
        }

        return Rip == next ? 0 : (int)ExitReason.Continue;
    }

    /// <summary>Rethrows what a handler called from translated code threw.</summary>
    public void RethrowFromTranslatedCode()
    {
        if (_translatedCodeException is { } e)
        {
            _translatedCodeException = null;
            e.Throw();
        }
    }

    /// <summary>Linear-to-code mappings may have changed (TLB flush, INVLPG, A20, state load): forget the jump caches.</summary>
    private void ForgetCodeMappings() => Translator?.ForgetJumps();
}
