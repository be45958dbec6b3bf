using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Encodes the few dozen host instruction forms the emitter writes most (MOV, LEA, the ALU and
/// shift forms, Jcc/JMP/CALL rel32, MOV r,imm: 97% of the 2.6 million host instructions of a
/// Linux boot to /init) straight from their opcode, ModRM and SIB bytes (Intel SDM Vol. 2A
/// chapter 2, "Instruction Format"), at a fraction of the cost of Iced's general encoder. Anything
/// else, or any operand it does not handle (high-byte registers, segment or LOCK/REP prefixes,
/// 32-bit addressing, no base register), returns 0 and is left to Iced. Tests hold its bytes to
/// Iced's for every form (Tests/Cpu/DirectEncoderTests.cs).
/// </summary>
internal static class DirectEncoder
{
    private enum Kind : byte
    {
        None,
        RmReg,   // op0 r/m, op1 reg in ModRM.reg
        RegRm,   // op0 reg in ModRM.reg, op1 r/m
        RmImm,   // op0 r/m, ModRM.reg = digit, op1 immediate
        Rm,      // op0 r/m, ModRM.reg = digit
        Rel32,   // op0 near branch
        RegImm,  // register in the opcode's low 3 bits, op1 immediate
        Fixed,   // no operands
        AlImm8,  // AL, imm8
    }

    private readonly record struct Form(Kind Kind, bool W, byte Prefix, byte Escape, byte Opcode, byte Digit, byte ImmSize);

    private static readonly Form[] Forms = Build();

    /// <summary>How many bytes of <paramref name="ins"/> at <paramref name="ip"/> went into <paramref name="o"/> (at most 15), or 0 to use Iced.</summary>
    public static int TryEncode(in Instruction ins, ulong ip, Span<byte> o, out int displacementOffset)
    {
        displacementOffset = 0;
        int code = (int)ins.Code;
        if ((uint)code >= (uint)Forms.Length)
        {
            return 0;
        }

        Form f = Forms[code];
        if (f.Kind == Kind.None || ins.SegmentPrefix != Register.None || ins.HasLockPrefix || ins.HasRepPrefix || ins.HasRepnePrefix)
        {
            return 0;
        }

        switch (f.Kind)
        {
            case Kind.Fixed:
                o[0] = f.Opcode;
                return 1;
            case Kind.AlImm8:
                o[0] = f.Opcode;
                o[1] = (byte)ins.GetImmediate(1);
                return 2;
            case Kind.Rel32:
                return Rel32(f, ins, ip, o);
            case Kind.RegImm:
                return RegImm(f, ins, o);
            case Kind.RmReg:
                return ModRm(f, ins, ip, o, rmOperand: 0, RegCode(ins.Op1Register), immediate: false, ref displacementOffset);
            case Kind.RegRm:
                return ModRm(f, ins, ip, o, rmOperand: 1, RegCode(ins.Op0Register), immediate: false, ref displacementOffset);
            case Kind.RmImm:
                return ModRm(f, ins, ip, o, rmOperand: 0, f.Digit, immediate: true, ref displacementOffset);
            case Kind.Rm:
                return ModRm(f, ins, ip, o, rmOperand: 0, f.Digit, immediate: false, ref displacementOffset);
            default:
                return 0;
        }
    }

    private static int Rel32(Form f, in Instruction ins, ulong ip, Span<byte> o)
    {
        int n = 0;
        if (f.Escape != 0)
        {
            o[n++] = f.Escape;
        }

        o[n++] = f.Opcode;
        long rel = (long)(ins.NearBranch64 - (ip + (ulong)n + 4));
        if (rel != (int)rel)
        {
            return 0;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(o[n..], (int)rel);
        return n + 4;
    }

    private static int RegImm(Form f, in Instruction ins, Span<byte> o)
    {
        int r = RegCode(ins.Op0Register);
        if (r < 0)
        {
            return 0;
        }

        int n = 0;
        if (f.W || r >= 8)
        {
            o[n++] = (byte)(0x40 | (f.W ? 8 : 0) | (r >> 3));
        }

        o[n++] = (byte)(f.Opcode + (r & 7));
        return n + Immediate(ins.GetImmediate(1), f.ImmSize, o[n..]);
    }

    private static int ModRm(Form f, in Instruction ins, ulong ip, Span<byte> o, int rmOperand, int reg, bool immediate, ref int displacementOffset)
    {
        if (reg < 0)
        {
            return 0;
        }

        // A byte register that needs REX (SPL, BPL, SIL, DIL) in either place.
        bool byteRex = (RegFlags(rmOperand == 0 ? ins.Op0Kind : ins.Op1Kind, rmOperand == 0 ? ins.Op0Register : ins.Op1Register)
            | (f.Kind is Kind.RmReg ? RegFlags(ins.Op1Kind, ins.Op1Register) : f.Kind is Kind.RegRm ? RegFlags(ins.Op0Kind, ins.Op0Register) : 0)) != 0;

        Span<byte> tail = stackalloc byte[6]; // ModRM, SIB, disp32
        int tailLength;
        int rexXb;
        bool ripRelative = false;
        int displacementAt = -1;
        OpKind rmKind = rmOperand == 0 ? ins.Op0Kind : ins.Op1Kind;
        if (rmKind == OpKind.Register)
        {
            int rm = RegCode(rmOperand == 0 ? ins.Op0Register : ins.Op1Register);
            if (rm < 0)
            {
                return 0;
            }

            tail[0] = (byte)(0xC0 | ((reg & 7) << 3) | (rm & 7));
            tailLength = 1;
            rexXb = rm >> 3;
        }
        else if (rmKind == OpKind.Memory)
        {
            if (!Memory(ins, reg, tail, out tailLength, out rexXb, out ripRelative, out displacementAt))
            {
                return 0;
            }
        }
        else
        {
            return 0;
        }

        bool w = f.W;
        int rex = (w ? 8 : 0) | ((reg >> 3) << 2) | rexXb;
        int n = 0;
        if (f.Prefix != 0)
        {
            o[n++] = f.Prefix;
        }

        if (rex != 0 || byteRex)
        {
            o[n++] = (byte)(0x40 | rex);
        }

        if (f.Escape != 0)
        {
            o[n++] = f.Escape;
        }

        o[n++] = f.Opcode;
        int tailAt = n;
        tail[..tailLength].CopyTo(o[n..]);
        n += tailLength;
        if (immediate)
        {
            n += Immediate(ins.GetImmediate(1), f.ImmSize, o[n..]);
        }

        if (displacementAt >= 0)
        {
            displacementOffset = tailAt + displacementAt;
            if (ripRelative)
            {
                // RIP-relative: the displacement counts from the end of the instruction.
                long rel = (long)(ins.MemoryDisplacement64 - (ip + (ulong)n));
                if (rel != (int)rel)
                {
                    return 0;
                }

                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(o[displacementOffset..], (int)rel);
            }
        }

        return n;
    }

    // ModRM (with reg), SIB and displacement of a 64-bit-addressed memory operand; false for what Iced should do.
    private static bool Memory(in Instruction ins, int reg, Span<byte> tail, out int length, out int rexXb, out bool ripRelative, out int displacementAt)
    {
        length = 0;
        rexXb = 0;
        ripRelative = false;
        displacementAt = -1;
        Register baseRegister = ins.MemoryBase;
        Register index = ins.MemoryIndex;
        int r = (reg & 7) << 3;
        if (baseRegister == Register.RIP)
        {
            if (index != Register.None)
            {
                return false;
            }

            tail[0] = (byte)(0x05 | r);
            displacementAt = 1;
            length = 5;
            ripRelative = true;
            return true;
        }

        if (!IsGpr64(baseRegister) || (index != Register.None && (!IsGpr64(index) || index == Register.RSP)))
        {
            return false;
        }

        int b = Gpr64Code(baseRegister);
        long displacement = (long)ins.MemoryDisplacement64;
        if (displacement != (int)displacement)
        {
            return false;
        }

        // As Iced does: the displacement size the instruction asks for (MemoryDisplSize: 0 none if
        // it can, 1 a byte, 8 (64-bit addressing) always 32 bits), and a SIB byte whenever there
        // is an index, an RSP/R12 base, or a scale other than 1.
        int displSize = ins.MemoryDisplSize;
        if ((displSize == 1 && displacement != (sbyte)displacement) || displSize is 2 or 4)
        {
            return false; // a byte that cannot hold it, or a 16/32-bit addressing size: Iced refuses these
        }

        int mod = displSize >= 2 ? 2
            : displSize == 0 && displacement == 0 && (b & 7) != 5 ? 0
            : displacement == (sbyte)displacement ? 1 : 2;
        bool sib = index != Register.None || (b & 7) == 4 || ins.MemoryIndexScale != 1;
        if (!sib)
        {
            tail[0] = (byte)((mod << 6) | r | (b & 7));
            length = 1;
        }
        else
        {
            int x = index == Register.None ? 4 : Gpr64Code(index);
            int scale = ins.MemoryIndexScale switch { 1 => 0, 2 => 1, 4 => 2, 8 => 3, _ => -1 };
            if (scale < 0)
            {
                return false;
            }

            tail[0] = (byte)((mod << 6) | r | 4);
            tail[1] = (byte)((scale << 6) | ((x & 7) << 3) | (b & 7));
            length = 2;
            rexXb = (x >> 3) << 1;
        }

        rexXb |= b >> 3;
        if (mod == 1)
        {
            displacementAt = length;
            tail[length++] = (byte)displacement;
        }
        else if (mod == 2)
        {
            displacementAt = length;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(tail[length..], (int)displacement);
            length += 4;
        }

        return true;
    }

    private static int Immediate(ulong value, int size, Span<byte> o)
    {
        switch (size)
        {
            case 1:
                o[0] = (byte)value;
                return 1;
            case 2:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(o, (ushort)value);
                return 2;
            case 4:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(o, (uint)value);
                return 4;
            default:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(o, value);
                return 8;
        }
    }

    private static bool IsGpr64(Register r) => r >= Register.RAX && r <= Register.R15;

    private static int Gpr64Code(Register r) => r - Register.RAX;

    // The register's number in ModRM/REX (0-15), or -1 for one this encoder leaves to Iced (AH-BH, non-GPRs).
    private static int RegCode(Register r) => r switch
    {
        >= Register.AL and <= Register.BL => r - Register.AL,
        >= Register.SPL and <= Register.R15L => r - Register.AL - 4, // SPL..DIL = 4..7, R8L.. = 8..
        >= Register.AX and <= Register.R15W => r - Register.AX,
        >= Register.EAX and <= Register.R15D => r - Register.EAX,
        >= Register.RAX and <= Register.R15 => r - Register.RAX,
        _ => -1,
    };

    // Non-zero for SPL, BPL, SIL and DIL, which exist only with a REX prefix.
    private static int RegFlags(OpKind kind, Register r) => kind == OpKind.Register && r >= Register.SPL && r <= Register.DIL ? 1 : 0;

    private static Form[] Build()
    {
        var table = new Dictionary<Code, Form>
        {
            [Code.Mov_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x89, 0, 0),
            [Code.Mov_rm32_r32] = new(Kind.RmReg, false, 0, 0, 0x89, 0, 0),
            [Code.Mov_rm16_r16] = new(Kind.RmReg, false, 0x66, 0, 0x89, 0, 0),
            [Code.Mov_rm8_r8] = new(Kind.RmReg, false, 0, 0, 0x88, 0, 0),
            [Code.Add_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x01, 0, 0),
            [Code.Add_rm32_r32] = new(Kind.RmReg, false, 0, 0, 0x01, 0, 0),
            [Code.Or_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x09, 0, 0),
            [Code.And_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x21, 0, 0),
            [Code.Sub_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x29, 0, 0),
            [Code.Xor_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x31, 0, 0),
            [Code.Xor_rm32_r32] = new(Kind.RmReg, false, 0, 0, 0x31, 0, 0),
            [Code.Cmp_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x39, 0, 0),
            [Code.Cmp_rm32_r32] = new(Kind.RmReg, false, 0, 0, 0x39, 0, 0),
            [Code.Test_rm8_r8] = new(Kind.RmReg, false, 0, 0, 0x84, 0, 0),
            [Code.Test_rm32_r32] = new(Kind.RmReg, false, 0, 0, 0x85, 0, 0),
            [Code.Test_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x85, 0, 0),
            [Code.Xchg_rm64_r64] = new(Kind.RmReg, true, 0, 0, 0x87, 0, 0),

            [Code.Mov_r64_rm64] = new(Kind.RegRm, true, 0, 0, 0x8B, 0, 0),
            [Code.Mov_r32_rm32] = new(Kind.RegRm, false, 0, 0, 0x8B, 0, 0),
            [Code.Mov_r16_rm16] = new(Kind.RegRm, false, 0x66, 0, 0x8B, 0, 0),
            [Code.Mov_r8_rm8] = new(Kind.RegRm, false, 0, 0, 0x8A, 0, 0),
            [Code.Add_r64_rm64] = new(Kind.RegRm, true, 0, 0, 0x03, 0, 0),
            [Code.Sub_r64_rm64] = new(Kind.RegRm, true, 0, 0, 0x2B, 0, 0),
            [Code.Xor_r32_rm32] = new(Kind.RegRm, false, 0, 0, 0x33, 0, 0),
            [Code.Cmp_r64_rm64] = new(Kind.RegRm, true, 0, 0, 0x3B, 0, 0),
            [Code.Lea_r64_m] = new(Kind.RegRm, true, 0, 0, 0x8D, 0, 0),
            [Code.Lea_r32_m] = new(Kind.RegRm, false, 0, 0, 0x8D, 0, 0),
            [Code.Movsxd_r64_rm32] = new(Kind.RegRm, true, 0, 0, 0x63, 0, 0),
            [Code.Movzx_r32_rm8] = new(Kind.RegRm, false, 0, 0x0F, 0xB6, 0, 0),
            [Code.Movzx_r32_rm16] = new(Kind.RegRm, false, 0, 0x0F, 0xB7, 0, 0),

            [Code.Add_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0x83, 0, 1),
            [Code.And_rm32_imm8] = new(Kind.RmImm, false, 0, 0, 0x83, 4, 1),
            [Code.Sub_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0x83, 5, 1),
            [Code.Cmp_rm32_imm8] = new(Kind.RmImm, false, 0, 0, 0x83, 7, 1),
            [Code.Cmp_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0x83, 7, 1),
            [Code.Add_rm64_imm32] = new(Kind.RmImm, true, 0, 0, 0x81, 0, 4),
            [Code.And_rm32_imm32] = new(Kind.RmImm, false, 0, 0, 0x81, 4, 4),
            [Code.And_rm64_imm32] = new(Kind.RmImm, true, 0, 0, 0x81, 4, 4),
            [Code.Sub_rm64_imm32] = new(Kind.RmImm, true, 0, 0, 0x81, 5, 4),
            [Code.Cmp_rm64_imm32] = new(Kind.RmImm, true, 0, 0, 0x81, 7, 4),
            [Code.Cmp_rm8_imm8] = new(Kind.RmImm, false, 0, 0, 0x80, 7, 1),
            [Code.Shl_rm32_imm8] = new(Kind.RmImm, false, 0, 0, 0xC1, 4, 1),
            [Code.Shl_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0xC1, 4, 1),
            [Code.Shr_rm32_imm8] = new(Kind.RmImm, false, 0, 0, 0xC1, 5, 1),
            [Code.Shr_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0xC1, 5, 1),
            [Code.Sar_rm64_imm8] = new(Kind.RmImm, true, 0, 0, 0xC1, 7, 1),
            [Code.Mov_rm8_imm8] = new(Kind.RmImm, false, 0, 0, 0xC6, 0, 1),
            [Code.Mov_rm16_imm16] = new(Kind.RmImm, false, 0x66, 0, 0xC7, 0, 2),
            [Code.Mov_rm32_imm32] = new(Kind.RmImm, false, 0, 0, 0xC7, 0, 4),
            [Code.Mov_rm64_imm32] = new(Kind.RmImm, true, 0, 0, 0xC7, 0, 4),
            [Code.Test_rm8_imm8] = new(Kind.RmImm, false, 0, 0, 0xF6, 0, 1),
            [Code.Test_rm32_imm32] = new(Kind.RmImm, false, 0, 0, 0xF7, 0, 4),

            [Code.Seto_rm8] = new(Kind.Rm, false, 0, 0x0F, 0x90, 0, 0),
            [Code.Call_rm64] = new(Kind.Rm, false, 0, 0, 0xFF, 2, 0),
            [Code.Jmp_rm64] = new(Kind.Rm, false, 0, 0, 0xFF, 4, 0),

            [Code.Jmp_rel32_64] = new(Kind.Rel32, false, 0, 0, 0xE9, 0, 0),
            [Code.Call_rel32_64] = new(Kind.Rel32, false, 0, 0, 0xE8, 0, 0),

            [Code.Mov_r64_imm64] = new(Kind.RegImm, true, 0, 0, 0xB8, 0, 8),
            [Code.Mov_r32_imm32] = new(Kind.RegImm, false, 0, 0, 0xB8, 0, 4),

            [Code.Lahf] = new(Kind.Fixed, false, 0, 0, 0x9F, 0, 0),
            [Code.Sahf] = new(Kind.Fixed, false, 0, 0, 0x9E, 0, 0),
            [Code.Retnq] = new(Kind.Fixed, false, 0, 0, 0xC3, 0, 0),
            [Code.Add_AL_imm8] = new(Kind.AlImm8, false, 0, 0, 0x04, 0, 1),
        };

        // Jcc rel32: 0F 80+cc, in the SDM's condition order.
        Code[] jcc =
        [
            Code.Jo_rel32_64, Code.Jno_rel32_64, Code.Jb_rel32_64, Code.Jae_rel32_64, Code.Je_rel32_64, Code.Jne_rel32_64, Code.Jbe_rel32_64, Code.Ja_rel32_64,
            Code.Js_rel32_64, Code.Jns_rel32_64, Code.Jp_rel32_64, Code.Jnp_rel32_64, Code.Jl_rel32_64, Code.Jge_rel32_64, Code.Jle_rel32_64, Code.Jg_rel32_64,
        ];
        for (int cc = 0; cc < jcc.Length; cc++)
        {
            table[jcc[cc]] = new(Kind.Rel32, false, 0, 0x0F, (byte)(0x80 + cc), 0, 0);
        }

        int size = table.Keys.Max(c => (int)c) + 1;
        var forms = new Form[size];
        foreach ((Code c, Form f) in table)
        {
            forms[(int)c] = f;
        }

        return forms;
    }

    /// <summary>The instruction forms this encoder writes itself (for its tests).</summary>
    public static IEnumerable<Code> Codes()
    {
        for (int i = 0; i < Forms.Length; i++)
        {
            if (Forms[i].Kind != Kind.None)
            {
                yield return (Code)i;
            }
        }
    }
}
