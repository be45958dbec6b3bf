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
            _outOfLine.Add(() =>
            {
                Bind(ref miss);
                _a.mov(__qword_ptr[rbx + slot], 0);
                _a.jmp(fallback);
            });
        }
        else
        {
            _a.mov(rcx, __qword_ptr[rbx + slot]);
            _a.test(rcx, rcx);
            _a.jz(fallback);
            _groupBase = Register.RCX;
        }

        Operands(op);
        ushort spills = LoadSpills(OperandRegisters(op), OperandScratch);
        HostInstruction(op);
        _groupBase = Register.None;
        StoreSpills(spills, op.Written);
        FlagsAfter(op);
        Bind(ref done);
        _outOfLine.Add(() =>
        {
            // The load on its own, from the state ClobberFlags left above, back to `done`.
            bool hostFlags = _hostFlags, savedFlags = _savedFlags;
            Bind(ref fallback);
            _hostFlags = false;
            _savedFlags = true;
            PerAccess(op);
            _a.jmp(done);
            _hostFlags = hostFlags;
            _savedFlags = savedFlags;
        });
    }
}
