using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>The loads of a page group (<see cref="PageGroups"/>): one probe for the group, an addend for the rest.</summary>
internal sealed unsafe partial class X86Emitter
{
    private void GroupLoad(IrOp op, PageGroups.Membership member)
    {
        Label fallback = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        int slot = GuestState.PageAddendsOffset + (member.Slot * 8);
        if (member.First)
        {
            // The probe covers the group's whole window from the base register: a hit leaves the
            // addend in R10 for this load and in the slot for the others.
            Label miss = _a.CreateLabel();
            _a.lea(rax, __[new AssemblerRegister64(Host64Of(op.Ins.MemoryBase)) + member.Low]);
            Probe(member.High - member.Low, write: false, miss, codePages: false, addend: true);
            _a.mov(__qword_ptr[rbx + slot], r10);
            _groupBase = Register.R10;
            _outOfLine.Add(new OutOfLine(OutOfLineKind.GroupMiss, miss, fallback) { Size = slot });
        }
        else
        {
            _a.mov(rcx, __qword_ptr[rbx + slot]);
            _a.test(rcx, rcx);
            _a.jz(fallback);
            _groupBase = Register.RCX;
        }

        HostAccess(op);
        Bind(ref done);
        _outOfLine.Add(new OutOfLine(OutOfLineKind.GroupFallback, fallback, done) { Op = _opIndex, Replay = _opReplay });
    }

    // The group's probe missed: its slot says so to the group's later loads, and this load falls back.
    private void GroupMiss(Label miss, Label fallback, int slot)
    {
        Bind(ref miss);
        _a.mov(__qword_ptr[rbx + slot], 0);
        _a.jmp(fallback);
    }

    // The load on its own, from the state ClobberFlags left in the body, back to `done`. Its own
    // slow path is recorded for this op (out-of-line code may add more while it is replayed).
    private void GroupFallback(Label fallback, Label done, int opIndex, int replay)
    {
        bool hostFlags = _hostFlags, savedFlags = _savedFlags;
        int current = _opIndex, replayOp = _replayOp, candidate = _replayCandidate, opReplay = _opReplay;
        Bind(ref fallback);
        _hostFlags = false;
        _savedFlags = true;
        _replayOp = _opReplay = replay;
        _replayCandidate = -1;
        _opIndex = opIndex;
        PerAccess(_ir.Ops[opIndex]);
        _a.jmp(done);
        _opIndex = current;
        _hostFlags = hostFlags;
        _savedFlags = savedFlags;
        _replayOp = replayOp;
        _replayCandidate = candidate;
        _opReplay = opReplay;
    }
}
