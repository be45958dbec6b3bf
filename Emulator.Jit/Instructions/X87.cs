using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The x87 register stack and its control, load and store instructions (Intel SDM Vol. 1 8.1-8.3,
/// Vol. 2 FLD...FXCH): TOP, the tag word, stack overflow and underflow, the status and control
/// words, the environment and the memory formats. Arithmetic is in <see cref="X87Arithmetic"/>.
/// Registers and memory images are 80-bit exact; see ARCHITECTURE.md for the arithmetic precision.
/// </summary>
internal static unsafe class X87
{
    // FSW bits (Intel SDM Vol. 1 8.1.3, Figure 8-4).
    public const ushort StackFault = 1 << 6, ErrorSummary = 1 << 7, C0 = 1 << 8, C1 = 1 << 9, C2 = 1 << 10, C3 = 1 << 14, Busy = 1 << 15;
    public const ushort ConditionCodes = C0 | C1 | C2 | C3;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Fninit, &Fninit);
        r.Add(Mnemonic.Finit, &Fninit);
        r.Add(Mnemonic.Fnclex, &Fnclex);
        r.Add(Mnemonic.Fclex, &Fnclex);
        r.Add(Mnemonic.Fnstcw, &Fnstcw);
        r.Add(Mnemonic.Fstcw, &Fnstcw);
        r.Add(Mnemonic.Fldcw, &Fldcw);
        r.Add(Mnemonic.Fnstsw, &Fnstsw);
        r.Add(Mnemonic.Fstsw, &Fnstsw);
        r.Add(Mnemonic.Fnstenv, &Fnstenv);
        r.Add(Mnemonic.Fstenv, &Fnstenv);
        r.Add(Mnemonic.Fldenv, &Fldenv);
        r.Add(Mnemonic.Fnsave, &Fnsave);
        r.Add(Mnemonic.Fsave, &Fnsave);
        r.Add(Mnemonic.Frstor, &Frstor);
        r.Add(Code.Wait, &Fwait);
        r.Add(Mnemonic.Fnop, &Fnop);
        foreach (Mnemonic m in new[] { Mnemonic.Feni, Mnemonic.Fneni, Mnemonic.Fdisi, Mnemonic.Fndisi, Mnemonic.Fsetpm, Mnemonic.Fnsetpm })
        {
            r.Add(m, &Unsupported287);
        }

        r.Add(Mnemonic.Ffree, &Ffree);
        r.Add(Mnemonic.Ffreep, &Ffree);
        r.Add(Mnemonic.Fincstp, &Fincstp);
        r.Add(Mnemonic.Fdecstp, &Fdecstp);
        r.Add(Mnemonic.Fld, &Fld);
        r.Add(Mnemonic.Fild, &Fld);
        r.Add(Mnemonic.Fld1, &LoadConstant);
        r.Add(Mnemonic.Fldz, &LoadConstant);
        r.Add(Mnemonic.Fldpi, &LoadConstant);
        r.Add(Mnemonic.Fldl2e, &LoadConstant);
        r.Add(Mnemonic.Fldl2t, &LoadConstant);
        r.Add(Mnemonic.Fldlg2, &LoadConstant);
        r.Add(Mnemonic.Fldln2, &LoadConstant);
        r.Add(Mnemonic.Fst, &Fst);
        r.Add(Mnemonic.Fstp, &Fst);
        // D9 D8+i (Iced's FSTPNCE, "FSTP1" in sandpile.org's map): an undocumented alias of
        // FSTP ST(i) that Intel processors since the 387 execute as FSTP.
        r.Add(Mnemonic.Fstpnce, &Fst);
        r.Add(Mnemonic.Fist, &Fst);
        r.Add(Mnemonic.Fistp, &Fst);
        r.Add(Mnemonic.Fisttp, &Fst);
        r.Add(Mnemonic.Fxch, &Fxch);
        r.Add(Mnemonic.Fbld, &Fbld);
        r.Add(Mnemonic.Fbstp, &Fbstp);
        foreach (Mnemonic m in new[] { Mnemonic.Fcmovb, Mnemonic.Fcmove, Mnemonic.Fcmovbe, Mnemonic.Fcmovu, Mnemonic.Fcmovnb, Mnemonic.Fcmovne, Mnemonic.Fcmovnbe, Mnemonic.Fcmovnu })
        {
            r.Add(m, &Fcmov);
        }
    }

    /// <summary>
    /// Common start of an x87 instruction: #NM when CR0.EM or CR0.TS is set; for a waiting
    /// instruction a pending unmasked exception (FSW.ES) is reported first as #MF with CR0.NE set
    /// (Intel SDM Vol. 1 8.6, Vol. 3A 6.15 interrupt 16). Non-control instructions record the
    /// instruction and data pointers (FOP is not tracked and stays 0).
    /// </summary>
    public static void Begin(CpuCore cpu, in Instruction ins, bool control = false)
    {
        cpu.CheckFpu();
        if ((cpu.Fsw & ErrorSummary) != 0 && !IsNoWait(ins.Mnemonic))
        {
            if ((cpu.Cr0 & CpuCore.Cr0NE) != 0)
            {
                throw new GuestFault(Vectors.MF);
            }

            // CR0.NE clear: the error would be signalled through FERR# and the PIC (IRQ 13), not modelled.
        }

        if (!control)
        {
            cpu.Fip = cpu.InstructionStart;
            cpu.Fcs = cpu.Seg[(int)Core.Cpu.Seg.Cs].Selector;
            if (ins.OpCount > 0 && ins.GetOpKind(0) == OpKind.Memory)
            {
                cpu.Fdp = cpu.EffectiveAddress(ins);
                cpu.Fds = cpu.Seg[CpuCore.SegmentIndex(ins.MemorySegment)].Selector;
            }
        }
    }

    private static bool IsNoWait(Mnemonic m) => m is Mnemonic.Fninit or Mnemonic.Fnclex or Mnemonic.Fnstcw or Mnemonic.Fnstsw or Mnemonic.Fnstenv or Mnemonic.Fnsave;

    public static int RoundingMode(CpuCore cpu) => (cpu.Fcw >> 10) & 3;

    public static bool IsEmpty(CpuCore cpu, int i) => (cpu.FpValid & (1 << cpu.StIndex(i))) == 0;

    public static Float80 St(CpuCore cpu, int i)
    {
        int p = cpu.StIndex(i);
        return new Float80(cpu.FpSignificand[p], cpu.FpSignExponent[p]);
    }

    public static void SetSt(CpuCore cpu, int i, Float80 v)
    {
        int p = cpu.StIndex(i);
        cpu.FpSignificand[p] = v.Significand;
        cpu.FpSignExponent[p] = v.SignExponent;
        cpu.FpValid |= (byte)(1 << p);
    }

    public static void SetConditionCodes(CpuCore cpu, ushort codes) => cpu.Fsw = (ushort)((cpu.Fsw & ~ConditionCodes) | codes);

    /// <summary>
    /// Records exception flags in FSW. An unmasked one sets ES and B and the instruction must leave
    /// its destination unchanged (returns false) — the #MF comes at the next waiting instruction.
    /// </summary>
    public static bool Commit(CpuCore cpu, uint flags)
    {
        cpu.Fsw |= (ushort)(flags & 0x7f);
        if ((flags & ~(uint)cpu.Fcw & 0x3f) != 0)
        {
            cpu.Fsw |= ErrorSummary | Busy;
            return false;
        }

        return true;
    }

    /// <summary>Reads ST(i) for an operation; an empty register is a stack underflow (IE and SF, C1 = 0) whose masked response is the indefinite QNaN.</summary>
    public static Float80 Operand(CpuCore cpu, int i, ref uint flags)
    {
        if (IsEmpty(cpu, i))
        {
            flags |= MxcsrArithmetic.IE | StackFault;
            cpu.Fsw &= unchecked((ushort)~C1);
            return Float80.Indefinite;
        }

        return St(cpu, i);
    }

    /// <summary>Pushes a value; a full ST(7) is a stack overflow (IE and SF, C1 = 1) whose masked response pushes the indefinite QNaN.</summary>
    public static void Push(CpuCore cpu, Float80 v, uint flags = 0)
    {
        if (!IsEmpty(cpu, 7))
        {
            flags |= MxcsrArithmetic.IE | StackFault;
            cpu.Fsw |= C1;
            v = Float80.Indefinite;
        }

        if (!Commit(cpu, flags))
        {
            return;
        }

        cpu.FpTop = (cpu.FpTop - 1) & 7;
        SetSt(cpu, 0, v);
    }

    public static void Pop(CpuCore cpu)
    {
        cpu.FpValid &= (byte)~(1 << cpu.FpTop);
        cpu.FpTop = (cpu.FpTop + 1) & 7;
    }

    /// <summary>Loads the memory operand in its format (real, integer, 80-bit) as an extended value; SNaNs stay signalling.</summary>
    public static Float80 ReadMemory(CpuCore cpu, in Instruction ins)
    {
        ulong linear = cpu.MemoryLinear(ins, Math.Max(1, ins.MemorySize.GetSize()));
        return ins.MemorySize switch
        {
            MemorySize.Float32 => Float80.FromSingle(BitConverter.UInt32BitsToSingle((uint)cpu.ReadSized(linear, 4))),
            MemorySize.Float64 => Float80.FromDouble(BitConverter.UInt64BitsToDouble(cpu.ReadSized(linear, 8))),
            MemorySize.Float80 => new Float80(cpu.ReadSized(linear, 8), (ushort)cpu.ReadSized(linear + 8, 2)),
            MemorySize.Int16 => Float80.FromInteger((short)cpu.ReadSized(linear, 2)),
            MemorySize.Int32 => Float80.FromInteger((int)cpu.ReadSized(linear, 4)),
            _ => Float80.FromInteger((long)cpu.ReadSized(linear, 8)),
        };
    }

    private static void Fninit(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        cpu.ResetFpu();
    }

    private static void Fnclex(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        cpu.Fsw &= unchecked((ushort)~(0x7f | ErrorSummary | Busy));
    }

    private static void Fnstcw(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        cpu.WriteSized(cpu.MemoryLinearWrite(ins, 2), 2, cpu.Fcw);
    }

    private static void Fldcw(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        cpu.Fcw = (ushort)(cpu.ReadSized(cpu.MemoryLinear(ins, 2), 2) | 0x40);
        UpdateErrorSummary(cpu);
    }

    /// <summary>FNSTSW m16 / FNSTSW AX.</summary>
    private static void Fnstsw(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        if (ins.GetOpKind(0) == OpKind.Register)
        {
            cpu.WriteReg(Iced.Intel.Register.AX, cpu.FswWithTop);
        }
        else
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, 2), 2, cpu.FswWithTop);
        }
    }

    /// <summary>FWAIT: #NM when CR0.MP and CR0.TS are both set (Intel SDM Vol. 3A 2.5, Table 2-2), then any pending x87 exception.</summary>
    private static void Fwait(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Cr0 & (CpuCore.Cr0MP | CpuCore.Cr0TS)) == (CpuCore.Cr0MP | CpuCore.Cr0TS))
        {
            throw new GuestFault(Vectors.NM);
        }

        if ((cpu.Fsw & ErrorSummary) != 0 && (cpu.Cr0 & CpuCore.Cr0NE) != 0)
        {
            throw new GuestFault(Vectors.MF);
        }
    }

    private static void Fnop(CpuCore cpu, ref Instruction ins) => Begin(cpu, ins);

    // FENI and FDISI (8087) and FSETPM (287) "perform no function" on the 387 and later: "no internal
    // x87 FPU states are affected" (Intel SDM Vol. 1 8.3.13). Only the escape's #NM check applies,
    // and for the forms Iced merges with a WAIT (9B), the WAIT's pending-exception check.
    private static void Unsupported287(CpuCore cpu, ref Instruction ins)
    {
        if (ins.Mnemonic is Mnemonic.Feni or Mnemonic.Fdisi or Mnemonic.Fsetpm)
        {
            Begin(cpu, ins, control: true);
        }
        else
        {
            cpu.CheckFpu();
        }
    }

    private static void Ffree(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        cpu.FpValid &= (byte)~(1 << cpu.StIndex(ins.Op0Register - Iced.Intel.Register.ST0));
        if (ins.Mnemonic == Mnemonic.Ffreep)
        {
            Pop(cpu);
        }
    }

    private static void Fincstp(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        cpu.FpTop = (cpu.FpTop + 1) & 7;
        cpu.Fsw &= unchecked((ushort)~C1);
    }

    private static void Fdecstp(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        cpu.FpTop = (cpu.FpTop - 1) & 7;
        cpu.Fsw &= unchecked((ushort)~C1);
    }

    /// <summary>FLD m32/m64/m80/ST(i), FILD m16/m32/m64: loading an SNaN from m32/m64 is invalid and loads it quiet; m80 loads are exact copies.</summary>
    private static void Fld(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v;
        if (ins.GetOpKind(0) == OpKind.Register)
        {
            v = Operand(cpu, ins.Op0Register - Iced.Intel.Register.ST0, ref flags);
        }
        else
        {
            v = ReadMemory(cpu, ins);
            if (ins.MemorySize is MemorySize.Float32 or MemorySize.Float64)
            {
                if (v.IsSignalingNaN)
                {
                    flags |= MxcsrArithmetic.IE;
                    v = v.Quiet();
                }
                else if (X87Arithmetic.IsDenormalInMemoryFormat(v, ins.MemorySize))
                {
                    // A denormal in the source format (normal once widened) is a denormal operand.
                    flags |= MxcsrArithmetic.DE;
                }
            }
        }

        cpu.Fsw &= unchecked((ushort)~C1);
        Push(cpu, v, flags);
    }

    // Constants rounded to 64 bits in the current rounding mode (Intel SDM Vol. 1 8.3.6: the internal 66-bit constants round per RC).
    private static void LoadConstant(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        int mode = RoundingMode(cpu);
        bool down = mode is 1 or 3;
        Float80 v = ins.Mnemonic switch
        {
            Mnemonic.Fld1 => Float80.One,
            Mnemonic.Fldz => Float80.Zero(false),
            Mnemonic.Fldpi => new Float80(down ? 0xc90f_daa2_2168_c234 : 0xc90f_daa2_2168_c235, 0x4000),
            Mnemonic.Fldl2e => new Float80(down ? 0xb8aa_3b29_5c17_f0bb : 0xb8aa_3b29_5c17_f0bc, 0x3fff),
            Mnemonic.Fldl2t => new Float80(mode == 2 ? 0xd49a_784b_cd1b_8aff : 0xd49a_784b_cd1b_8afe, 0x4000),
            Mnemonic.Fldlg2 => new Float80(down ? 0x9a20_9a84_fbcf_f798 : 0x9a20_9a84_fbcf_f799, 0x3ffd),
            _ => new Float80(down ? 0xb172_17f7_d1cf_79ab : 0xb172_17f7_d1cf_79ac, 0x3ffe),
        };
        cpu.Fsw &= unchecked((ushort)~C1);
        Push(cpu, v);
    }

    /// <summary>
    /// FST/FSTP to m32/m64/m80/ST(i), FIST/FISTP to m16/m32/m64, FISTTP (truncating, SSE3). Rounds per
    /// FCW.RC; an unmasked exception leaves memory and the stack unchanged.
    /// </summary>
    private static void Fst(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        bool pop = ins.Mnemonic is Mnemonic.Fstp or Mnemonic.Fstpnce or Mnemonic.Fistp or Mnemonic.Fisttp;
        int mode = ins.Mnemonic == Mnemonic.Fisttp ? 3 : RoundingMode(cpu);
        cpu.Fsw &= unchecked((ushort)~C1);
        if (ins.GetOpKind(0) == OpKind.Register)
        {
            if (Commit(cpu, flags))
            {
                SetSt(cpu, ins.Op0Register - Iced.Intel.Register.ST0, v);
                if (pop)
                {
                    Pop(cpu);
                }
            }

            return;
        }

        ulong linear = cpu.MemoryLinearWrite(ins, Math.Max(1, ins.MemorySize.GetSize()));
        int size;
        ulong bits;
        ushort high = 0;
        switch (ins.MemorySize)
        {
            case MemorySize.Float32:
                flags |= v.IsSignalingNaN ? MxcsrArithmetic.IE : 0;
                bits = BitConverter.SingleToUInt32Bits(v.ToSingle(mode, ref flags));
                size = 4;
                break;
            case MemorySize.Float64:
                flags |= v.IsSignalingNaN ? MxcsrArithmetic.IE : 0;
                bits = BitConverter.DoubleToUInt64Bits(v.ToDouble(mode, ref flags));
                size = 8;
                break;
            case MemorySize.Float80:
                bits = v.Significand;
                high = v.SignExponent;
                size = 10;
                break;
            default:
                size = ins.MemorySize.GetSize();
                bits = (ulong)v.ToInteger(size * 8, mode, ref flags);
                break;
        }

        if (!Commit(cpu, flags))
        {
            return;
        }

        if (size == 10)
        {
            cpu.WriteSized(linear + 8, 2, high);
            cpu.WriteSized(linear, 8, bits);
        }
        else
        {
            cpu.WriteSized(linear, size, bits);
        }

        if (pop)
        {
            Pop(cpu);
        }
    }

    /// <summary>FBLD m80bcd: 18 packed BCD digits and a sign byte (Intel SDM Vol. 1 4.7), converted exactly; invalid digits give an undefined value (here, their binary weight).</summary>
    private static void Fbld(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        ulong linear = cpu.MemoryLinear(ins, 10);
        ulong low = cpu.ReadSized(linear, 8);
        ushort high = (ushort)cpu.ReadSized(linear + 8, 2);
        long value = 0;
        for (int i = 8; i >= 0; i--)
        {
            int b = i == 8 ? high & 0xff : (int)(low >> (8 * i)) & 0xff;
            value = (value * 100) + ((b >> 4) * 10) + (b & 0xf);
        }

        Float80 v = Float80.FromInteger(value);
        if ((high & 0x8000) != 0)
        {
            v = v.Negate();
        }

        cpu.Fsw &= unchecked((ushort)~C1);
        Push(cpu, v);
    }

    /// <summary>FBSTP m80bcd: ST(0) rounded per FCW.RC to 18 BCD digits and popped; NaN, infinity or |value| >= 10^18 store the packed BCD indefinite and raise IE.</summary>
    private static void Fbstp(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        ulong linear = cpu.MemoryLinearWrite(ins, 10);
        long value = v.IsZero ? 0 : v.ToInteger(64, RoundingMode(cpu), ref flags);
        ulong low;
        ushort high;
        if ((flags & MxcsrArithmetic.IE) != 0 || Math.Abs(value) >= 1_000_000_000_000_000_000L || value == long.MinValue)
        {
            flags = (flags & ~MxcsrArithmetic.PE) | MxcsrArithmetic.IE;
            low = 0xc000_0000_0000_0000;
            high = 0xffff;
        }
        else
        {
            ulong magnitude = (ulong)Math.Abs(value);
            low = 0;
            for (int i = 0; i < 8; i++)
            {
                ulong pair = magnitude % 100;
                magnitude /= 100;
                low |= ((pair / 10 << 4) | (pair % 10)) << (8 * i);
            }

            high = (ushort)(((magnitude / 10) << 4) | (magnitude % 10) | (v.Negative ? 0x8000u : 0));
        }

        cpu.Fsw &= unchecked((ushort)~C1);
        if (!Commit(cpu, flags))
        {
            return;
        }

        cpu.WriteSized(linear + 8, 2, high);
        cpu.WriteSized(linear, 8, low);
        Pop(cpu);
    }

    private static void Fxch(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        int i = ins.OpCount > 1 ? ins.Op1Register - Iced.Intel.Register.ST0 : 1;
        uint flags = 0;
        Float80 a = Operand(cpu, 0, ref flags), b = Operand(cpu, i, ref flags);
        cpu.Fsw &= unchecked((ushort)~C1);
        if (Commit(cpu, flags))
        {
            SetSt(cpu, 0, b);
            SetSt(cpu, i, a);
        }
    }

    /// <summary>FCMOVcc ST(0), ST(i): conditions on CF, ZF, PF as the integer CMOVcc (Intel SDM Vol. 2A FCMOVcc).</summary>
    private static void Fcmov(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint f = (uint)cpu.Rflags;
        bool cf = (f & LazyFlags.CF) != 0, zf = (f & LazyFlags.ZF) != 0, pf = (f & LazyFlags.PF) != 0;
        bool move = ins.Mnemonic switch
        {
            Mnemonic.Fcmovb => cf,
            Mnemonic.Fcmove => zf,
            Mnemonic.Fcmovbe => cf || zf,
            Mnemonic.Fcmovu => pf,
            Mnemonic.Fcmovnb => !cf,
            Mnemonic.Fcmovne => !zf,
            Mnemonic.Fcmovnbe => !cf && !zf,
            _ => !pf,
        };
        uint flags = 0;
        Float80 v = Operand(cpu, ins.Op1Register - Iced.Intel.Register.ST0, ref flags);
        if (Commit(cpu, flags) && move)
        {
            SetSt(cpu, 0, v);
        }
    }

    /// <summary>The full 16-bit tag word from the abridged one and the register contents (Intel SDM Vol. 1 8.1.7): 00 valid, 01 zero, 10 special, 11 empty.</summary>
    public static ushort FullTagWord(CpuCore cpu)
    {
        int tags = 0;
        for (int p = 0; p < 8; p++)
        {
            int tag;
            if ((cpu.FpValid & (1 << p)) == 0)
            {
                tag = 3;
            }
            else
            {
                var v = new Float80(cpu.FpSignificand[p], cpu.FpSignExponent[p]);
                tag = v.IsZero ? 1 : v.Exponent == 0x7fff || v.Exponent == 0 || v.IsUnsupported ? 2 : 0;
            }

            tags |= tag << (2 * p);
        }

        return (ushort)tags;
    }

    private static void UpdateErrorSummary(CpuCore cpu)
    {
        if ((cpu.Fsw & ~cpu.Fcw & 0x3f) != 0)
        {
            cpu.Fsw |= ErrorSummary | Busy;
        }
        else
        {
            cpu.Fsw &= unchecked((ushort)~(ErrorSummary | Busy));
        }
    }

    /// <summary>
    /// FNSTENV: the 28-byte protected-mode environment with 32-bit operand size (or 14-byte 16-bit /
    /// real-mode layout with a 16-bit operand size; Intel SDM Vol. 1 8.1.10, Figures 8-9, 8-10),
    /// then all exceptions masked.
    /// </summary>
    private static void Fnstenv(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        StoreEnvironment(cpu, ins, cpu.MemoryLinearWrite(ins, 28));
        cpu.Fcw |= 0x3f;
        UpdateErrorSummary(cpu);
    }

    private static void Fldenv(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        LoadEnvironment(cpu, ins, cpu.MemoryLinear(ins, 28));
    }

    /// <summary>FNSAVE: environment, then ST0-ST7 as 80-bit values, then FNINIT.</summary>
    private static void Fnsave(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        ulong linear = cpu.MemoryLinearWrite(ins, 108);
        int envSize = StoreEnvironment(cpu, ins, linear);
        for (int i = 0; i < 8; i++)
        {
            Float80 v = St(cpu, i);
            cpu.WriteSized(linear + (ulong)(envSize + (10 * i)), 8, v.Significand);
            cpu.WriteSized(linear + (ulong)(envSize + (10 * i) + 8), 2, v.SignExponent);
        }

        cpu.ResetFpu();
    }

    private static void Frstor(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins, control: true);
        ulong linear = cpu.MemoryLinear(ins, 108);
        int envSize = LoadEnvironment(cpu, ins, linear);
        for (int i = 0; i < 8; i++)
        {
            int p = cpu.StIndex(i);
            cpu.FpSignificand[p] = cpu.ReadSized(linear + (ulong)(envSize + (10 * i)), 8);
            cpu.FpSignExponent[p] = (ushort)cpu.ReadSized(linear + (ulong)(envSize + (10 * i) + 8), 2);
        }
    }

    private static int StoreEnvironment(CpuCore cpu, in Instruction ins, ulong linear)
    {
        bool wide = ins.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108;
        int step = wide ? 4 : 2;
        cpu.WriteSized(linear, step, cpu.Fcw);
        cpu.WriteSized(linear + (ulong)step, step, cpu.FswWithTop);
        cpu.WriteSized(linear + (ulong)(2 * step), step, FullTagWord(cpu));
        if (wide)
        {
            cpu.WriteSized(linear + 12, 4, (uint)cpu.Fip);
            cpu.WriteSized(linear + 16, 4, cpu.Fcs | ((uint)cpu.Fop << 16));
            cpu.WriteSized(linear + 20, 4, (uint)cpu.Fdp);
            cpu.WriteSized(linear + 24, 4, cpu.Fds);
            return 28;
        }

        cpu.WriteSized(linear + 6, 2, (ushort)cpu.Fip);
        cpu.WriteSized(linear + 8, 2, cpu.Fcs);
        cpu.WriteSized(linear + 10, 2, (ushort)cpu.Fdp);
        cpu.WriteSized(linear + 12, 2, cpu.Fds);
        return 14;
    }

    private static int LoadEnvironment(CpuCore cpu, in Instruction ins, ulong linear)
    {
        bool wide = ins.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108;
        int step = wide ? 4 : 2;
        cpu.Fcw = (ushort)(cpu.ReadSized(linear, 2) | 0x40);
        ushort fsw = (ushort)cpu.ReadSized(linear + (ulong)step, 2);
        cpu.Fsw = (ushort)(fsw & ~0x3800);
        cpu.FpTop = (fsw >> 11) & 7;
        ushort tags = (ushort)cpu.ReadSized(linear + (ulong)(2 * step), 2);
        byte valid = 0;
        for (int p = 0; p < 8; p++)
        {
            if (((tags >> (2 * p)) & 3) != 3)
            {
                valid |= (byte)(1 << p);
            }
        }

        cpu.FpValid = valid;
        if (wide)
        {
            cpu.Fip = cpu.ReadSized(linear + 12, 4);
            cpu.Fcs = (ushort)cpu.ReadSized(linear + 16, 2);
            cpu.Fop = (ushort)(cpu.ReadSized(linear + 18, 2) & 0x7ff);
            cpu.Fdp = cpu.ReadSized(linear + 20, 4);
            cpu.Fds = (ushort)cpu.ReadSized(linear + 24, 2);
        }
        else
        {
            cpu.Fip = cpu.ReadSized(linear + 6, 2);
            cpu.Fcs = (ushort)cpu.ReadSized(linear + 8, 2);
            cpu.Fdp = cpu.ReadSized(linear + 10, 2);
            cpu.Fds = (ushort)cpu.ReadSized(linear + 12, 2);
        }

        UpdateErrorSummary(cpu);
        return wide ? 28 : 14;
    }
}
