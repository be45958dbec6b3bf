using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// Keeps the host's values of undefined flags out of the guest's sight. After MUL/IMUL, BSF/BSR,
/// BT/BTS/BTR/BTC, shifts and rotates, SHLD/SHRD, LZCNT/TZCNT and the BMI1/BMI2 forms the manuals
/// leave some arithmetic flags undefined (Intel SDM Vol. 2 and AMD APM Vol. 3, "Flags Affected"),
/// and processors leave different values there: Intel and AMD differ, and so do Intel's own
/// generations (sandpile.org, "undefined integer FLAGS behavior": after SHL by 1 the P5 sets AF,
/// the P4 clears it, the P6 varies). The interpreter gives one documented value for each
/// (ARCHITECTURE.md, "Undefined flags"). So a host instruction whose undefined flags a later
/// instruction may read (a reader in the block, or anything after the block ends) is left to the
/// interpreter's handler, which computes them, unless it is one of the common forms whose values a
/// few host instructions after it can set (<see cref="UndefinedFlagFixups"/>): the guest sees the
/// same flags in both tiers on every host. Where the flags are written again before any reader, the
/// usual case, the instruction stays a host instruction and costs nothing. After the block, the
/// flags its direct successors read first are live (<see cref="SuccessorFlags"/>), else all.
/// </summary>
internal static class FlagLiveness
{
    /// <summary>Every arithmetic flag (LazyFlags bits).</summary>
    public const uint All = LazyFlags.ArithMask;

    /// <summary>
    /// Turns into <see cref="IrKind.Interpret"/> every host instruction of <paramref name="ops"/> whose
    /// undefined flags may be read before they are written again, where the code after the block may
    /// read <paramref name="liveAfter"/>; returns how many it turned.
    /// </summary>
    public static int InterpretObservedUndefined(List<IrOp> ops, uint liveAfter) => InterpretObservedUndefined(ops, 0, ops.Count, liveAfter);

    /// <summary>As above, for the straight run of <paramref name="count"/> ops from <paramref name="first"/> (one segment of a region).</summary>
    public static int InterpretObservedUndefined(List<IrOp> ops, int first, int count, uint liveAfter)
    {
        uint live = liveAfter;
        int turned = 0;
        for (int i = first + count - 1; i >= first; i--)
        {
            if (i > first && ops[i - 1].Kind == IrKind.Sti)
            {
                // The block may end its run right after the instruction an STI shadows (X86Emitter.AfterSti).
                live = All;
            }

            IrOp op = ops[i];
            if (HostWritesFlags(op) && (Undefined(op.Ins) & live) != 0)
            {
                op.Fixup = UndefinedFlagFixups.For(op);
                if (op.Fixup == UndefinedFlagFixup.BitTest)
                {
                    // It keeps every flag but CF: those the code after it reads are read from before it.
                    op.ReadsFlags = true;
                    ops[i] = op;
                    live &= ~LazyFlags.CF;
                    continue;
                }

                if (op.Fixup == UndefinedFlagFixup.None)
                {
                    op = IrBuilder.Fallback(op);
                    op.ForUndefinedFlags = true;
                    turned++;
                }

                ops[i] = op;
            }

            live = LiveBefore(op, live);
        }

        return turned;
    }

    // The guest's flags are the host's after this op (X86Emitter.FlagsAfter). DIV and IDIV are not
    // such ops: the emitter keeps the guest's flags across them, as the interpreter does.
    private static bool HostWritesFlags(in IrOp op) =>
        op.Kind is IrKind.Native or IrKind.NativeMemory or IrKind.MulDiv && op.WritesFlags;

    private static uint LiveBefore(in IrOp op, uint live) => op.Kind switch
    {
        IrKind.Native or IrKind.NativeMemory or IrKind.MulDiv or IrKind.Vector =>
            (live & ~(op.WritesFlags ? Written(op.Ins) : 0)) | Arithmetic(op.Ins.RflagsRead),

        // Pass the flags through untouched.
        IrKind.Push or IrKind.Pop or IrKind.Leave or IrKind.Cli or IrKind.Sti or IrKind.MovFromSegment or IrKind.RepString => live,

        // The block's last op: what its successors read (the live set after it), and Jcc's condition.
        IrKind.Jump or IrKind.Call or IrKind.Branch => live | Arithmetic(op.Ins.RflagsRead),

        // Leave the block for a target not known here (JumpIndirect, Return), store the whole image
        // (Pushf), or run an interpreter handler that may read any flag.
        _ => All,
    };

    /// <summary>
    /// The flags an instruction surely replaces: none for a shift or rotate by CL, whose count may be 0
    /// (then every flag is left as it was); Iced's table gives none for an immediate count of 0 after masking.
    /// </summary>
    public static uint Written(in Instruction ins) =>
        NativeForms.IsShiftCount(ins, ins.OpCount - 1) && ins.GetOpKind(ins.OpCount - 1) == OpKind.Register
            ? 0
            : Arithmetic(ins.RflagsModified);

    /// <summary>
    /// The arithmetic flags (LazyFlags bits) a host instruction may leave other than the interpreter
    /// does: those the SDM calls undefined, from Iced's table of each form's "Flags Affected", with
    /// the count rules of shifts and rotates applied where the count is a register.
    /// </summary>
    public static uint Undefined(in Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test:
                // AF is undefined, but every processor clears it, as the interpreter does: Intel's P5,
                // P6 and P4 cores (sandpile.org; only the Pentium Pro's TEST differed) and the AMD
                // Zen host of the differential harness (AND, OR, XOR and TEST over random operands).
                return 0;
            case Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd
                or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr:
                return ShiftUndefined(ins);
            default:
                return Arithmetic(ins.RflagsUndefined);
        }
    }

    // A count of 0 after masking changes no flag; otherwise OF is undefined unless the count is 1,
    // AF is undefined after a shift, and CF after SHL/SHR of a byte or word by its width or more
    // (Intel SDM Vol. 2B SAL/SAR/SHL/SHR, SHLD/SHRD, RCL/RCR/ROL/ROR). A count in CL may be anything.
    private static uint ShiftUndefined(in Instruction ins)
    {
        int last = ins.OpCount - 1;
        int bits = (ins.Op0Kind == OpKind.Register ? ins.Op0Register.GetSize() : ins.MemorySize.GetSize()) * 8;
        bool variable = ins.GetOpKind(last) == OpKind.Register;
        int count = ins.OpCount == 1 ? 1 : variable ? -1 : (int)(ins.GetImmediate(last) & (bits == 64 ? 63UL : 31UL));
        if (count == 0)
        {
            return 0;
        }

        uint undefined = variable || count > 1 ? LazyFlags.OF : 0;
        if (ins.Mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr)
        {
            return undefined;
        }

        undefined |= LazyFlags.AF;
        if (ins.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr && bits <= 16 && (variable || count >= bits))
        {
            undefined |= LazyFlags.CF;
        }

        return undefined;
    }

    /// <summary>Iced's flags as LazyFlags bits (the arithmetic ones only).</summary>
    public static uint Arithmetic(RflagsBits bits) =>
        ((bits & RflagsBits.CF) != 0 ? LazyFlags.CF : 0)
        | ((bits & RflagsBits.PF) != 0 ? LazyFlags.PF : 0)
        | ((bits & RflagsBits.AF) != 0 ? LazyFlags.AF : 0)
        | ((bits & RflagsBits.ZF) != 0 ? LazyFlags.ZF : 0)
        | ((bits & RflagsBits.SF) != 0 ? LazyFlags.SF : 0)
        | ((bits & RflagsBits.OF) != 0 ? LazyFlags.OF : 0);
}
