using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// The instructions the translator keeps as host instructions, and how each uses the arithmetic
/// flags. An instruction that leaves some flags as they were (INC/DEC keep CF; rotates touch only
/// CF and OF; a shift by a count of 0 changes nothing) "reads" them: the guest's flags must be in
/// the host's RFLAGS before it runs, so the untouched ones come out right (Intel SDM Vol. 1 A.2).
/// </summary>
internal static class NativeForms
{
    private enum Flags : byte
    {
        None,
        Write,
        ReadWrite,
        Read,
    }

    private static readonly Dictionary<Mnemonic, Flags> Table = new()
    {
        [Mnemonic.Mov] = Flags.None,
        [Mnemonic.Lea] = Flags.None,
        [Mnemonic.Movzx] = Flags.None,
        [Mnemonic.Movsx] = Flags.None,
        [Mnemonic.Movsxd] = Flags.None,
        [Mnemonic.Nop] = Flags.None,
        [Mnemonic.Bswap] = Flags.None,
        [Mnemonic.Xchg] = Flags.None,
        [Mnemonic.Not] = Flags.None,
        [Mnemonic.Add] = Flags.Write,
        [Mnemonic.Or] = Flags.Write,
        [Mnemonic.And] = Flags.Write,
        [Mnemonic.Sub] = Flags.Write,
        [Mnemonic.Xor] = Flags.Write,
        [Mnemonic.Cmp] = Flags.Write,
        [Mnemonic.Test] = Flags.Write,
        [Mnemonic.Neg] = Flags.Write,
        [Mnemonic.Imul] = Flags.Write,
        [Mnemonic.Bsf] = Flags.Write,
        [Mnemonic.Bsr] = Flags.Write,
        [Mnemonic.Xadd] = Flags.Write,
        [Mnemonic.Cmpxchg] = Flags.Write,
        [Mnemonic.Adc] = Flags.ReadWrite,
        [Mnemonic.Sbb] = Flags.ReadWrite,
        [Mnemonic.Inc] = Flags.ReadWrite,
        [Mnemonic.Dec] = Flags.ReadWrite,
        [Mnemonic.Shl] = Flags.ReadWrite,
        [Mnemonic.Sal] = Flags.ReadWrite,
        [Mnemonic.Shr] = Flags.ReadWrite,
        [Mnemonic.Sar] = Flags.ReadWrite,
        [Mnemonic.Rol] = Flags.ReadWrite,
        [Mnemonic.Ror] = Flags.ReadWrite,
        [Mnemonic.Rcl] = Flags.ReadWrite,
        [Mnemonic.Rcr] = Flags.ReadWrite,
        [Mnemonic.Shld] = Flags.ReadWrite,
        [Mnemonic.Shrd] = Flags.ReadWrite,
        [Mnemonic.Bt] = Flags.ReadWrite,
        [Mnemonic.Bts] = Flags.ReadWrite,
        [Mnemonic.Btr] = Flags.ReadWrite,
        [Mnemonic.Btc] = Flags.ReadWrite,

        // BMI1, BMI2, LZCNT, POPCNT and MOVBE, when the host has them (HostFeatures): without BMI1 the
        // host would run TZCNT as BSF (an F3 prefix it ignores), so the check is not optional.
        [Mnemonic.Tzcnt] = Flags.Write,
        [Mnemonic.Lzcnt] = Flags.Write,
        [Mnemonic.Popcnt] = Flags.Write,
        [Mnemonic.Andn] = Flags.Write,
        [Mnemonic.Blsi] = Flags.Write,
        [Mnemonic.Blsmsk] = Flags.Write,
        [Mnemonic.Blsr] = Flags.Write,
        [Mnemonic.Bextr] = Flags.Write,
        [Mnemonic.Bzhi] = Flags.Write,
        [Mnemonic.Sarx] = Flags.None,
        [Mnemonic.Shlx] = Flags.None,
        [Mnemonic.Shrx] = Flags.None,
        [Mnemonic.Rorx] = Flags.None,
        [Mnemonic.Pdep] = Flags.None,
        [Mnemonic.Pext] = Flags.None,
        [Mnemonic.Movbe] = Flags.None,
    };

    /// <summary>True when <paramref name="ins"/> can run as a host instruction; gives its use of the flags.</summary>
    public static bool TryGetFlags(in Instruction ins, out bool reads, out bool writes)
    {
        reads = writes = false;
        Flags flags;
        if (ins.ConditionCode != ConditionCode.None && ins.Mnemonic is >= Mnemonic.Cmova and <= Mnemonic.Cmovs or >= Mnemonic.Seta and <= Mnemonic.Sets)
        {
            flags = Flags.Read;
        }
        else if (!Table.TryGetValue(ins.Mnemonic, out flags) || !FormAllowed(ins) || !HostFeatures.Has(ins.Code))
        {
            return false;
        }

        reads = flags is Flags.Read or Flags.ReadWrite;
        writes = flags is Flags.Write or Flags.ReadWrite;
        if (reads && ShiftsByNonZeroImmediate(ins))
        {
            // A count that is not 0 after masking sets CF, SF, ZF and PF and leaves OF and AF
            // undefined (count > 1, and AF always): every arithmetic flag is the shift's own, so the
            // guest's earlier flags need not be in RFLAGS (Intel SDM Vol. 2B SAL/SAR/SHL/SHR, SHLD, SHRD).
            reads = false;
        }

        return true;
    }

    // SHL/SAL/SHR/SAR/SHLD/SHRD whose immediate count, masked to 5 bits (6 for a 64-bit operand), is not 0.
    private static bool ShiftsByNonZeroImmediate(in Instruction ins)
    {
        if (ins.Mnemonic is not (Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd))
        {
            return false;
        }

        int last = ins.OpCount - 1;
        if (ins.GetOpKind(last) != OpKind.Immediate8)
        {
            return false;
        }

        int mask = ins.Op0Kind == OpKind.Register && ins.Op0Register.GetSize() == 8 || ins.MemorySize.GetSize() == 8 ? 63 : 31;
        return (ins.GetImmediate(last) & (ulong)mask) != 0;
    }

    /// <summary>True when operand <paramref name="index"/> is the CL count of a shift or rotate.</summary>
    public static bool IsShiftCount(in Instruction ins, int index) =>
        ins.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol or Mnemonic.Ror
            or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shld or Mnemonic.Shrd
        && index == ins.OpCount - 1;

    /// <summary>True for the instructions that store to their first operand (not CMP, TEST, BT).</summary>
    public static bool WritesDestination(Mnemonic m) => m is not (Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt);

    private static bool UsesAccumulator(in Instruction ins, int operand) =>
        ins.GetOpKind(operand) == OpKind.Register && ins.GetOpRegister(operand).GetFullRegister() == Register.RAX;

    private static bool FormAllowed(in Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Imul:
                // The one-operand form writes RDX:RAX implicitly.
                return ins.OpCount >= 2;
            case Mnemonic.Xchg or Mnemonic.Xadd:
                // Register and memory forms; the memory ones are locked (see IrBuilder).
                return ins.Op1Kind == OpKind.Register;
            case Mnemonic.Cmpxchg:
                // The accumulator passes through the host's RAX, so it may not also be an explicit operand.
                return ins.Op1Kind == OpKind.Register && !UsesAccumulator(ins, 0) && !UsesAccumulator(ins, 1);
            case Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc:
                // With a register bit offset, a memory operand is addressed by the offset too.
                return ins.Op0Kind == OpKind.Register || ins.Op1Kind != OpKind.Register;
            case Mnemonic.Shld or Mnemonic.Shrd when ins.MemorySize.GetSize() == 2 || ins.Op0Kind == OpKind.Register && ins.Op0Register.GetSize() == 2:
                // A count above 16 leaves the result undefined (Intel SDM Vol. 2B SHLD, SHRD), and
                // processors differ there: the interpreter's result stands in both tiers.
                return ins.GetOpKind(2) == OpKind.Immediate8 && (ins.GetImmediate(2) & 31) <= 16;
            case Mnemonic.Nop:
                return true;
            default:
                return ins.Mnemonic != Mnemonic.Mov || (ins.Op0Kind is OpKind.Register or OpKind.Memory && ins.Op1Kind is not OpKind.Memory || ins.Op0Kind == OpKind.Register);
        }
    }
}
