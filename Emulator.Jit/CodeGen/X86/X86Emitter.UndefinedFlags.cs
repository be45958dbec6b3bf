using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The host code around a host instruction that gives its undefined flags the interpreter's values
/// (<see cref="UndefinedFlagFixups"/>). It works on the flags through AH (LAHF/SAHF: SF, ZF, AF, PF,
/// CF) and AL (OF, made by ADD AL,7Fh from 0 or 1, as LoadFlags does), so it needs RAX, and RDX for
/// the bit tests: only ops whose registers are all in host registers (no spill uses those scratch
/// registers) are fixed; the others go to the interpreter, as before.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    // True when the fix-up can be emitted around `op`; otherwise it is marked and interpreted.
    private bool CanFixUndefinedFlags(ref IrOp op)
    {
        if (!Spills((ushort)(OperandRegisters(op) | AddressRegisters(op.Ins))))
        {
            return true;
        }

        op.ForUndefinedFlags = true;
        _ir.Ops[_opIndex] = op; // counted as interpreted for its flags
        return false;
    }

    // Before a bit test: the guest's flags (in RFLAGS, Operands loaded them) into AX.
    private void BeforeUndefinedFlagFixup(in IrOp op)
    {
        if (op.Fixup == UndefinedFlagFixup.BitTest)
        {
            _a.lahf();
            _a.seto(al);
        }
    }

    // After the host instruction: the flags it left undefined set to the interpreter's values.
    private void AfterUndefinedFlagFixup(in IrOp op)
    {
        Assembler a = _a;
        switch (op.Fixup)
        {
            case UndefinedFlagFixup.ShiftLeft:
                // OF = SF xor CF, the 1-bit rule the interpreter applies to every count.
                a.lahf();
                a.or(ah, 0x10);
                a.mov(al, ah);
                a.shr(al, 7);
                a.xor(al, ah);
                a.and(al, 1);
                a.add(al, 0x7f);
                a.sahf();
                break;
            case UndefinedFlagFixup.ShiftRightByOne:
                a.lahf();
                a.seto(al);
                a.or(ah, 0x10);
                a.add(al, 0x7f);
                a.sahf();
                break;
            case UndefinedFlagFixup.ShiftRightClearOverflow:
                // OR clears OF, and SAHF leaves it.
                a.lahf();
                a.or(ah, 0x10);
                a.sahf();
                break;
            case UndefinedFlagFixup.MultiplyLow:
                a.seto(al); // CF = OF = the product did not fit
                Register destination = Host(op.Ins.Op0Register);
                switch (destination.GetSize())
                {
                    case 8: a.test(new AssemblerRegister64(destination), new AssemblerRegister64(destination)); break;
                    case 4: a.test(new AssemblerRegister32(destination), new AssemblerRegister32(destination)); break;
                    default: a.test(new AssemblerRegister16(destination), new AssemblerRegister16(destination)); break;
                }

                a.lahf();
                a.and(ah, unchecked((sbyte)0xee)); // AF and CF clear
                a.or(ah, al);
                a.add(al, 0x7f);
                a.sahf();
                break;
            case UndefinedFlagFixup.BitTest:
                // AX holds the flags from before; only CF is the instruction's.
                a.setc(dl);
                a.and(ah, unchecked((sbyte)0xfe));
                a.or(ah, dl);
                a.add(al, 0x7f);
                a.sahf();
                break;
        }
    }
}
