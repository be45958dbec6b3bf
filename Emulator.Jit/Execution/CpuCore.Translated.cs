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
            Translator?.Statistics.CountHelper(op->Ins.Mnemonic);
            if (TranslatorSettings.ProfileSites)
            {
                Translator?.Statistics.CountHelperSite(op->Ins);
            }
        }

        ulong next = (op->Ins.IP + op->Length) & IpMask;
        InstructionStart = op->Ins.IP;
        Rip = next;
        try
        {
            op->Handler(this, ref op->Ins);
        }
        catch (GuestFault fault)
        {
            Rip = InstructionStart;
            EndBlock = false;
            if (InternalError is null)
            {
                RaiseException(fault.Vector, fault.ErrorCode, fault.Address);
            }

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
