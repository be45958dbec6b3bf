using Emulator.Jit.IntermediateRepresentation;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// The host instructions whose undefined flags translated code sets to the interpreter's values
/// itself, with a few host instructions after it (X86Emitter.UndefinedFlags), instead of calling the
/// interpreter's handler (<see cref="FlagLiveness"/>). These are the ones the kernel runs most where a
/// later reader may see the flags (a boot to /init made 0.6 million such handler calls, nearly all
/// shifts by a constant, two- and three-operand IMUL and BT/BTS/BTR/BTC on a register). The values
/// are the interpreter's, which its handlers document: AF set after a shift (Instructions/Shifts,
/// the 80386 and the AMD Zen host); OF of a longer shift as its last 1-bit step gives; SF, ZF and PF
/// of IMUL from the low half with AF clear (Instructions/MulDiv, as Intel hardware does); every flag
/// but CF kept by the bit tests (Instructions/BitOps). Register destinations only (no memory access
/// between the instruction and its fix-up), and counts below the operand's width, where CF is defined.
/// </summary>
internal enum UndefinedFlagFixup : byte
{
    /// <summary>Left to the interpreter when its undefined flags may be read.</summary>
    None,

    /// <summary>SHL/SAL by a constant: AF set, OF = SF xor CF (the 1-bit rule, MSB of the result xor CF).</summary>
    ShiftLeft,

    /// <summary>SHR by 1: AF set; OF (the operand's MSB) is the host's, defined for this count.</summary>
    ShiftRightByOne,

    /// <summary>SHR by more than 1, or SAR: AF set, OF clear.</summary>
    ShiftRightClearOverflow,

    /// <summary>IMUL with an explicit destination: SF, ZF and PF of the destination, AF clear; CF and OF the host's.</summary>
    MultiplyLow,

    /// <summary>BT, BTS, BTR, BTC: CF the host's, every other flag as before the instruction.</summary>
    BitTest,
}

/// <summary>Which <see cref="UndefinedFlagFixup"/> an op can have.</summary>
internal static class UndefinedFlagFixups
{
    /// <summary>The fix-up for <paramref name="op"/>, or None when the interpreter must compute its undefined flags.</summary>
    public static UndefinedFlagFixup For(in IrOp op)
    {
        ref readonly Instruction ins = ref op.Ins;
        if (op.Kind != IrKind.Native || op.HighByte || op.CountInCl || ins.Op0Kind != OpKind.Register)
        {
            return UndefinedFlagFixup.None;
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar:
                int bits = ins.Op0Register.GetSize() * 8;
                int last = ins.OpCount - 1;
                if (ins.OpCount > 1 && ins.GetOpKind(last) is not (OpKind.Immediate8 or OpKind.Immediate8_2nd))
                {
                    return UndefinedFlagFixup.None;
                }

                int count = ins.OpCount == 1 ? 1 : (int)(ins.GetImmediate(last) & (bits == 64 ? 63UL : 31UL));
                if (count == 0 || count >= bits)
                {
                    return UndefinedFlagFixup.None;
                }

                return ins.Mnemonic switch
                {
                    Mnemonic.Shl or Mnemonic.Sal => UndefinedFlagFixup.ShiftLeft,
                    Mnemonic.Shr when count == 1 => UndefinedFlagFixup.ShiftRightByOne,
                    _ => UndefinedFlagFixup.ShiftRightClearOverflow,
                };
            case Mnemonic.Imul when ins.OpCount >= 2 && ins.Op0Register.GetSize() >= 2:
                return UndefinedFlagFixup.MultiplyLow;
            case Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc:
                return UndefinedFlagFixup.BitTest;
            default:
                return UndefinedFlagFixup.None;
        }
    }
}
