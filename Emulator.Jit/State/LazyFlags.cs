namespace Emulator.Jit.State;

/// <summary>Which operation last set the arithmetic flags, so they can be computed only when read.</summary>
internal enum FlagOp : byte
{
    /// <summary>Flags are materialized in <see cref="LazyFlags.Materialized"/>.</summary>
    None,
    Add,
    Adc,
    Sub,
    Sbb,
    Logic,
    Inc,
    Dec,
    Neg,
    Shl,
    Shr,
    Sar,

    /// <summary>Flags are the arithmetic bits of <see cref="LazyFlags.HostRflags"/>, saved by translated code from the host's RFLAGS.</summary>
    Host,
}

/// <summary>
/// The six arithmetic flags (CF, PF, AF, ZF, SF, OF) kept lazily: the last operation, its operands and
/// result are stored and each flag is derived only when an instruction reads it.
/// </summary>
internal struct LazyFlags
{
    public const uint CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, OF = 1 << 11;
    public const uint ArithMask = CF | PF | AF | ZF | SF | OF;

    public FlagOp Op;
    public int Size;          // operand size in bytes
    public ulong Result;
    public ulong Src1;
    public ulong Src2;        // second operand; for Adc/Sbb the carry-in is in CarryIn
    public uint CarryIn;
    public uint Materialized; // valid when Op == None; for shifts/inc/dec holds flags not produced by the op
    public uint KeepMask;     // flags in Materialized that survive the lazy op (CF for INC/DEC)

    /// <summary>
    /// Valid when Op == Host: the flags as translated code saves them from the host's RFLAGS with
    /// LAHF and SETO (the guest's and the host's flags are the same bits): bits 8-15 hold SF ZF AF PF
    /// CF as LAHF gives them, bit 0 holds OF. Translated code restores them with ADD AL,7Fh (OF) and SAHF.
    /// </summary>
    public ulong HostRflags;

    /// <summary>Converts flags to the <see cref="HostRflags"/> form.</summary>
    public static ulong ToHost(uint flags) => ((flags & 0xd5) << 8) | ((flags >> 11) & 1) | 0x200;

    /// <summary>Converts the <see cref="HostRflags"/> form back to flags.</summary>
    public static uint FromHost(ulong host) => ((uint)(host >> 8) & 0xd5) | ((uint)(host & 1) << 11);

    /// <summary>Puts the flags in the form translated code keeps them in (Op == Host).</summary>
    public void ToHostForm()
    {
        if (Op != FlagOp.Host)
        {
            HostRflags = ToHost(Get());
            Op = FlagOp.Host;
        }
    }

    public void Set(FlagOp op, int size, ulong result, ulong src1, ulong src2)
    {
        Op = op;
        Size = size;
        Result = result;
        Src1 = src1;
        Src2 = src2;
        KeepMask = 0;
    }

    /// <summary>Records INC/DEC, which leave CF as it was (Intel SDM Vol. 2A INC).</summary>
    public void SetKeepCarry(FlagOp op, int size, ulong result, ulong src1)
    {
        uint cf = Get() & CF;
        Op = op;
        Size = size;
        Result = result;
        Src1 = src1;
        Src2 = 1;
        Materialized = cf;
        KeepMask = CF;
    }

    public void SetAll(uint flags)
    {
        Op = FlagOp.None;
        Materialized = flags & ArithMask;
    }

    public readonly uint Get()
    {
        if (Op == FlagOp.None)
        {
            return Materialized;
        }

        if (Op == FlagOp.Host)
        {
            return FromHost(HostRflags);
        }

        uint f = (Materialized & KeepMask) | (Compute() & ~KeepMask);
        return f;
    }

    public readonly bool Carry => Op switch
    {
        FlagOp.Logic => false,
        FlagOp.Add => Trunc(Result) < Trunc(Src1),
        FlagOp.Sub => Trunc(Src1) < Trunc(Src2),
        _ => (Get() & CF) != 0,
    };

    public readonly bool Zero => Op is FlagOp.None or FlagOp.Host ? (Get() & ZF) != 0 : Trunc(Result) == 0;

    private readonly ulong Mask => Size == 8 ? ulong.MaxValue : (1UL << (Size * 8)) - 1;

    private readonly ulong Trunc(ulong v) => v & Mask;

    private readonly ulong SignBit => 1UL << ((Size * 8) - 1);

    private readonly uint Compute()
    {
        ulong r = Trunc(Result), a = Trunc(Src1), b = Trunc(Src2);
        uint f = 0;
        if (r == 0)
        {
            f |= ZF;
        }

        if ((r & SignBit) != 0)
        {
            f |= SF;
        }

        if ((System.Numerics.BitOperations.PopCount(r & 0xff) & 1) == 0)
        {
            f |= PF;
        }

        switch (Op)
        {
            case FlagOp.Add:
            case FlagOp.Adc:
                if (r < a || (Op == FlagOp.Adc && CarryIn != 0 && r == a))
                {
                    f |= CF;
                }

                if (((a ^ r) & (b ^ r) & SignBit) != 0)
                {
                    f |= OF;
                }

                f |= (uint)((a ^ b ^ r) & 0x10);
                break;
            case FlagOp.Sub:
            case FlagOp.Sbb:
                if (a < b || (Op == FlagOp.Sbb && CarryIn != 0 && a == b))
                {
                    f |= CF;
                }

                if (((a ^ b) & (a ^ r) & SignBit) != 0)
                {
                    f |= OF;
                }

                f |= (uint)((a ^ b ^ r) & 0x10);
                break;
            case FlagOp.Inc:
                if (r == SignBit)
                {
                    f |= OF;
                }

                f |= (uint)((a ^ r) & 0x10);
                break;
            case FlagOp.Dec:
                if (a == SignBit)
                {
                    f |= OF;
                }

                f |= (uint)((a ^ r) & 0x10);
                break;
            case FlagOp.Neg:
                if (a != 0)
                {
                    f |= CF;
                }

                if (a == SignBit)
                {
                    f |= OF;
                }

                f |= (uint)((a ^ r) & 0x10);
                break;
            case FlagOp.Logic:
                break;
            case FlagOp.Shl:
            case FlagOp.Shr:
            case FlagOp.Sar:
                // Shifts store their CF and OF in Src2 (computed at the shift, where the count is known).
                f |= (uint)(Src2 & (CF | OF | AF));
                break;
            default:
                break;
        }

        return f;
    }
}
