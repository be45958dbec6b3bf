using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// One instruction form of the differential harness: an Iced <see cref="Iced.Intel.Code"/> (one
/// encoding with its operand sizes) and, for encodings with a ModRM r/m operand, whether that
/// operand is a register or memory.
/// </summary>
internal sealed record DiffForm(Code Code, bool Memory, bool HasRm, bool Simd = false)
{
    public Mnemonic Mnemonic => Code.Mnemonic();

    public string Name => HasRm ? $"{Code} ({(Memory ? "memory" : "register")})" : Code.ToString();

    public override string ToString() => Name;
}

/// <summary>
/// The instruction forms the harness covers, built from Iced's encoding tables: every legacy
/// encoding of the general-purpose integer mnemonics below that is valid in 64-bit mode and whose
/// operands the generator can produce. Encodings it leaves out are listed with the reason.
/// </summary>
internal static class FormCatalog
{
    /// <summary>The general-purpose integer instructions under test.</summary>
    public static readonly Mnemonic[] Mnemonics =
    [
        Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.Neg, Mnemonic.Inc, Mnemonic.Dec,
        Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Test, Mnemonic.Not,
        Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Div, Mnemonic.Idiv,
        Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr,
        Mnemonic.Shld, Mnemonic.Shrd,
        Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc, Mnemonic.Bsf, Mnemonic.Bsr, Mnemonic.Bswap,
        Mnemonic.Lzcnt, Mnemonic.Tzcnt, Mnemonic.Popcnt,
        Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Movbe, Mnemonic.Lea, Mnemonic.Xchg, Mnemonic.Xlatb,
        Mnemonic.Xadd, Mnemonic.Cmpxchg, Mnemonic.Cmpxchg8b, Mnemonic.Cmpxchg16b,
        Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
        Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg,
        Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta,
        Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg,
        Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo,
        Mnemonic.Movsb, Mnemonic.Movsw, Mnemonic.Movsd, Mnemonic.Movsq, Mnemonic.Stosb, Mnemonic.Stosw, Mnemonic.Stosd, Mnemonic.Stosq,
        Mnemonic.Lodsb, Mnemonic.Lodsw, Mnemonic.Lodsd, Mnemonic.Lodsq, Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsd, Mnemonic.Cmpsq,
        Mnemonic.Scasb, Mnemonic.Scasw, Mnemonic.Scasd, Mnemonic.Scasq,
        Mnemonic.Lahf, Mnemonic.Sahf, Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Cld, Mnemonic.Std,
        Mnemonic.Adcx, Mnemonic.Adox,
        Mnemonic.Andn, Mnemonic.Bextr, Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr,
        Mnemonic.Bzhi, Mnemonic.Mulx, Mnemonic.Pdep, Mnemonic.Pext, Mnemonic.Rorx, Mnemonic.Sarx, Mnemonic.Shlx, Mnemonic.Shrx,
    ];

    /// <summary>Mnemonics whose VEX encodings are general-purpose integer instructions (BMI1, BMI2).</summary>
    private static readonly HashSet<Mnemonic> VexIntegerMnemonics =
    [
        Mnemonic.Andn, Mnemonic.Bextr, Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr,
        Mnemonic.Bzhi, Mnemonic.Mulx, Mnemonic.Pdep, Mnemonic.Pext, Mnemonic.Rorx, Mnemonic.Sarx, Mnemonic.Shlx, Mnemonic.Shrx,
    ];

    private static readonly Lazy<(List<DiffForm> Forms, Dictionary<Code, string> Excluded)> Built = new(Build);

    public static IReadOnlyList<DiffForm> Forms => Built.Value.Forms;

    /// <summary>Encodings of the mnemonics above that are not run, with the reason.</summary>
    public static IReadOnlyDictionary<Code, string> Excluded => Built.Value.Excluded;

    /// <summary>What an operand of an encoding is, for the generator.</summary>
    public static OperandShape Shape(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.r8_or_mem => new(OperandRole.RegisterOrMemory, 1),
        OpCodeOperandKind.r16_or_mem => new(OperandRole.RegisterOrMemory, 2),
        OpCodeOperandKind.r32_or_mem => new(OperandRole.RegisterOrMemory, 4),
        OpCodeOperandKind.r64_or_mem => new(OperandRole.RegisterOrMemory, 8),
        OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode => new(OperandRole.Register, 1),
        OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r16_rm => new(OperandRole.Register, 2),
        OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_vvvv => new(OperandRole.Register, 4),
        OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_vvvv => new(OperandRole.Register, 8),
        OpCodeOperandKind.mem => new(OperandRole.Memory, 0),
        OpCodeOperandKind.mem_offs => new(OperandRole.MemoryOffset, 0),
        OpCodeOperandKind.al => new(OperandRole.FixedRegister, 1, Register.AL),
        OpCodeOperandKind.cl => new(OperandRole.FixedRegister, 1, Register.CL),
        OpCodeOperandKind.ax => new(OperandRole.FixedRegister, 2, Register.AX),
        OpCodeOperandKind.eax => new(OperandRole.FixedRegister, 4, Register.EAX),
        OpCodeOperandKind.rax => new(OperandRole.FixedRegister, 8, Register.RAX),
        OpCodeOperandKind.imm8 or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 => new(OperandRole.Immediate, 1),
        OpCodeOperandKind.imm8_const_1 => new(OperandRole.ImmediateOne, 1),
        OpCodeOperandKind.imm16 => new(OperandRole.Immediate, 2),
        OpCodeOperandKind.imm32 or OpCodeOperandKind.imm32sex64 => new(OperandRole.Immediate, 4),
        OpCodeOperandKind.imm64 => new(OperandRole.Immediate, 8),
        OpCodeOperandKind.seg_rSI or OpCodeOperandKind.es_rDI or OpCodeOperandKind.seg_rDI => new(OperandRole.String, 0),
        OpCodeOperandKind.seg_rBX_al => new(OperandRole.Xlat, 0),
        OpCodeOperandKind.xmm_reg or OpCodeOperandKind.xmm_rm or OpCodeOperandKind.xmm_vvvv or OpCodeOperandKind.xmm_is4 => new(OperandRole.VectorRegister, 16),
        OpCodeOperandKind.ymm_reg or OpCodeOperandKind.ymm_rm or OpCodeOperandKind.ymm_vvvv or OpCodeOperandKind.ymm_is4 => new(OperandRole.VectorRegister, 32),
        OpCodeOperandKind.xmm_or_mem => new(OperandRole.VectorOrMemory, 16),
        OpCodeOperandKind.ymm_or_mem => new(OperandRole.VectorOrMemory, 32),
        OpCodeOperandKind.mem_vsib32x or OpCodeOperandKind.mem_vsib32y or OpCodeOperandKind.mem_vsib64x or OpCodeOperandKind.mem_vsib64y => new(OperandRole.Vsib, 0),
        _ => new(OperandRole.Unsupported, 0),
    };

    private static (List<DiffForm>, Dictionary<Code, string>) Build()
    {
        var wanted = new HashSet<Mnemonic>(Mnemonics);
        var forms = new List<DiffForm>();
        var excluded = new Dictionary<Code, string>();
        foreach (Code code in Enum.GetValues<Code>())
        {
            if (!wanted.Contains(code.Mnemonic()))
            {
                continue;
            }

            OpCodeInfo info = code.ToOpCode();
            string? reason = !info.IsInstruction ? "not an instruction"
                : !info.Mode64 ? "not valid in 64-bit mode"
                : info.Encoding != EncodingKind.Legacy && !(info.Encoding == EncodingKind.VEX && VexIntegerMnemonics.Contains(code.Mnemonic())) ? $"{info.Encoding} encoding"
                : info.DecoderOption != DecoderOptions.None ? $"decoded only with {info.DecoderOption}"
                : info.IsPrivileged || info.IsInputOutput ? "privileged or I/O"
                : null;
            if (reason is not null)
            {
                excluded[code] = reason;
                continue;
            }

            OperandShape[] shapes = [.. Enumerable.Range(0, info.OpCount).Select(i => Shape(info.GetOpKind(i)))];
            int unsupported = Array.FindIndex(shapes, s => s.Role is OperandRole.Unsupported or OperandRole.VectorRegister or OperandRole.VectorOrMemory or OperandRole.Vsib);
            if (unsupported >= 0)
            {
                excluded[code] = $"operand {info.GetOpKind(unsupported)} (not a general-purpose integer form)";
                continue;
            }

            bool hasRm = shapes.Any(s => s.Role == OperandRole.RegisterOrMemory);
            bool hasMemory = shapes.Any(s => s.Role is OperandRole.Memory or OperandRole.MemoryOffset or OperandRole.String or OperandRole.Xlat);
            if (hasRm)
            {
                forms.Add(new DiffForm(code, Memory: false, HasRm: true));
                forms.Add(new DiffForm(code, Memory: true, HasRm: true));
            }
            else
            {
                forms.Add(new DiffForm(code, hasMemory, HasRm: false));
            }
        }

        return (forms, excluded);
    }
}

/// <summary>The roles an operand of an encoding can play in a generated case.</summary>
internal enum OperandRole
{
    Unsupported,
    Register,
    RegisterOrMemory,
    Memory,
    MemoryOffset,
    FixedRegister,
    Immediate,
    ImmediateOne,
    String,
    Xlat,

    /// <summary>An XMM or YMM register (size 16 or 32).</summary>
    VectorRegister,

    /// <summary>An XMM or YMM register, or memory of the instruction's memory size.</summary>
    VectorOrMemory,

    /// <summary>A VSIB memory operand (base + vector index * scale + displacement) of a gather.</summary>
    Vsib,
}

/// <summary>An operand's role, its size in bytes, and the register an encoding fixes (AL, CL, AX, EAX, RAX).</summary>
internal readonly record struct OperandShape(OperandRole Role, int Size, Register Fixed = Register.None);
