using System.Numerics;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Flags that no instruction reads, but that a fault could still show. In
/// <c>shr ecx, 8; movzx r15d, r15b; xor ecx, [r9 + r15*4]</c> the XOR replaces every flag the SHR
/// wrote, so no instruction reads them; but the TLB probe before the XOR clobbers RFLAGS, and if the
/// XOR's access faults, the RFLAGS image the exception pushes must hold the SHR's flags, as the
/// interpreter's would. Saving them before every such probe (LAHF, SETO, a store: 11% of the samples
/// in translated code on a boot to /init) is the price of that precision.
///
/// Instead, when the flag-writing op A is a register-only host instruction that replaces all six
/// arithmetic flags, and before another op W replaces them all again nothing reads them and nothing
/// overwrites the registers A read (other than A's own destination), A's flags need not be kept at
/// all: A stores its destination's old value (<see cref="GuestState.ReplaySource"/>, one MOV), and
/// the slow paths of the accesses between A and W (the only places the flags can be seen: a TLB miss
/// runs the instruction in the interpreter, which may fault) recompute them by running A's host
/// instruction again on that value into RAX, then save them. Host-undefined flags (a shift's AF and
/// OF) come out as the host's own instruction left them, as before. Where anything else needs the
/// flags (a LAHF for an interpreter call, a partial flag writer's LoadFlags), the recomputation
/// happens inline, so the flags are exact wherever they are looked at.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    // The op that just wrote RFLAGS and may be replayed instead of saved (PlanReplay held), or -1.
    private int _replayCandidate = -1;

    // The op whose flags RFLAGS no longer holds and the state does not either: whoever needs them
    // recomputes them (ReplayIntoHost, SaveReplayedFlags), or -1.
    private int _replayOp = -1;

    // What _replayOp was once the current op's ClobberFlags had run: the slow paths recorded for the
    // op recompute that op's flags (FlagsAfter may clear _replayOp before they are recorded).
    private int _opReplay = -1;

    // For a Native op about to be emitted: true when its flags may be replayed rather than saved
    // before the next clobber; then its destination's old value is stored for the replay.
    private bool PlanReplay(in IrOp op)
    {
        if (!TranslatorSettings.ReplayFlags || !Replayable(op))
        {
            return false;
        }

        ushort others = (ushort)(op.Registers & ~op.Written);
        IrSegment segment = _ir.Segments[_segment];
        int end = segment.FirstOp + segment.Count;
        List<IrOp> ops = _ir.Ops;
        bool clobbered = false;
        for (int j = _opIndex + 1; j < end; j++)
        {
            IrOp next = ops[j];
            if (next.ReadsFlags || next.HighByte)
            {
                return false;
            }

            if (next.Kind is IrKind.Native or IrKind.NativeMemory)
            {
                bool access = next.Kind == IrKind.NativeMemory;
                if (next.WritesFlags)
                {
                    // W: every flag replaced (its own slow path still sees A's); a partial writer
                    // (INC, DEC, a shift by CL) would need A's flags in RFLAGS.
                    return FlagLiveness.Written(next.Ins) == FlagLiveness.All && (clobbered || access);
                }

                clobbered |= access;
            }
            else if (next.Kind is IrKind.Push or IrKind.Pop)
            {
                clobbered = true;
            }
            else
            {
                return false;
            }

            if ((next.Written & others) != 0)
            {
                return false;
            }
        }

        return false;
    }

    // A register-only host instruction that writes all six arithmetic flags from its operands alone:
    // no memory operand, no flag input, no fixup, one destination at most (its first operand). Host-
    // undefined flags are allowed where the host computes them from the operands: a logic op's AF
    // (cleared by every processor, FlagLiveness.Undefined) and a shift by an immediate count.
    private static bool Replayable(in IrOp op)
    {
        ref readonly Instruction ins = ref op.Ins;
        if (op.Kind != IrKind.Native || op.HighByte || op.CountInCl || op.ReadsFlags || !op.WritesFlags
            || op.Fixup != UndefinedFlagFixup.None || ins.OpCount is < 1 or > 3 || ins.Op0Kind != OpKind.Register
            || FlagLiveness.Written(ins) != FlagLiveness.All || BitOperations.PopCount(op.Written) > 1
            || ins.Mnemonic is Mnemonic.Xchg or Mnemonic.Xadd or Mnemonic.Cmpxchg)
        {
            return false;
        }

        if (op.Written != 0 && RegisterMap.Index[(int)ins.Op0Register] != BitOperations.TrailingZeroCount(op.Written))
        {
            return false;
        }

        for (int i = 1; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) is OpKind.Memory or OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64)
            {
                return false;
            }
        }

        bool hostDefined = ins.Mnemonic is Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test
            or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar;
        return FlagLiveness.Arithmetic(ins.RflagsUndefined) == 0 || hostDefined;
    }

    // Before a Native op PlanReplay accepted: its destination's value, which the op replaces.
    private void SaveReplaySource(in IrOp op)
    {
        if (op.Written != 0)
        {
            _a.mov(__qword_ptr[rbx + GuestState.ReplaySourceOffset], Host64(BitOperations.TrailingZeroCount(op.Written)));
        }
    }

    // ClobberFlags' alternative: RFLAGS holds the candidate's flags and nothing reads them, so they
    // are left to be recomputed where they could be seen.
    private bool ReplayInsteadOfSave()
    {
        if (_replayOp >= 0 && !_hostFlags)
        {
            return true; // already recomputable; slow paths recorded from here recompute them
        }

        if (_replayCandidate >= 0 && _hostFlags && !_savedFlags)
        {
            _replayOp = _opReplay = _replayCandidate;
            _replayCandidate = -1;
            _hostFlags = false;
            return true;
        }

        return false;
    }

    // Inline, where the body needs the flags after all: recomputed into RFLAGS.
    private void ReplayIntoHost()
    {
        if (_replayOp >= 0)
        {
            Replay(_replayOp);
            _replayOp = _opReplay = -1;
            _hostFlags = true;
            _savedFlags = false;
        }
    }

    // On a slow path, before the interpreter runs: the recomputed flags into the state.
    private void SaveReplayedFlags(int replay)
    {
        if (replay >= 0)
        {
            Replay(replay);
            _a.lahf();
            _a.seto(al);
            _a.mov(__word_ptr[rbx + GuestState.HostRflagsOffset], ax);
        }
    }

    // The op's host instruction again, its destination (wherever it is also a source) replaced by
    // RAX holding the destination's old value. Clobbers RAX and RFLAGS.
    private void Replay(int opIndex)
    {
        IrOp op = _ir.Ops[opIndex];
        Instruction ins = Rewrite(op);
        if (op.Written != 0)
        {
            Register destination = _host[BitOperations.TrailingZeroCount(op.Written)];
            _a.mov(rax, __qword_ptr[rbx + GuestState.ReplaySourceOffset]);
            for (int i = 0; i < ins.OpCount; i++)
            {
                if (ins.GetOpKind(i) == OpKind.Register && ins.GetOpRegister(i).GetFullRegister() == destination)
                {
                    ins.SetOpRegister(i, ins.GetOpRegister(i).GetSize() switch
                    {
                        8 => Register.RAX,
                        4 => Register.EAX,
                        2 => Register.AX,
                        _ => Register.AL,
                    });
                }
            }
        }

        _a.AddInstruction(ins);
    }
}
