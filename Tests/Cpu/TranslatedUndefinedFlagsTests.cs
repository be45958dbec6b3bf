using Emulator.Tests.Cpu.Simd;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Flags the SDM leaves undefined must not depend on the tier that ran the instruction, nor on the
/// host's vendor: every native instruction form with undefined flags runs through the translator
/// (every block translated at its first run) and through the interpreter alone over the same random
/// operands and flags, followed by one kind of flag reader (PUSHF, LAHF and SETO, SETcc, Jcc), and
/// both tiers must leave the same registers and the same flags image. The interpreter's values are
/// checked against hardware elsewhere (Roms/tests/undefflags, the 80386 measurements; the
/// differential harness for the defined flags). Where nothing reads the undefined flags before
/// they are written again the instruction must stay a host instruction.
/// </summary>
public sealed class TranslatedUndefinedFlagsTests
{
    private const int Cases = 160, CaseBytes = 64;
    private const ulong Table32 = 0x20000;
    private const ulong Table64 = LongModeMachine.DataAddress;

    public enum Reader
    {
        Pushf,
        LahfSeto,
        Setcc,
        Jcc,
    }

    /// <summary>How the reader is reached: in a block after the form's, which is where SuccessorFlags looks.</summary>
    public enum Path
    {
        /// <summary>In the same block.</summary>
        Straight,

        /// <summary>Through a JMP.</summary>
        Jump,

        /// <summary>Through a CALL (the return address is dropped with LEA, which leaves the flags).</summary>
        Call,

        /// <summary>Either way of JECXZ (which reads no flag): the reader is on both paths.</summary>
        BothWays,

        /// <summary>Through a JMP to a BT, which writes CF and leaves OF, SF, AF and PF as they were in the interpreter.</summary>
        BtFirst,
    }

    // Forms over EAX/AX/AL (destination), EBX and ECX (sources, CL a count), EDX, and [ESI+48] (a
    // random dword of the case, for the memory forms).
    private static readonly Dictionary<string, Action<Assembler>> Forms32 = new()
    {
        ["imul eax,ebx"] = a => a.imul(eax, ebx),
        ["imul ax,bx"] = a => a.imul(ax, bx),
        ["imul eax,ebx,imm"] = a => a.imul(eax, ebx, 0x1235),
        ["imul eax,[esi+48]"] = a => a.imul(eax, __dword_ptr[esi + 48]),
        ["mul ebx"] = a => a.mul(ebx),
        ["imul ebx (one operand)"] = a => a.imul(ebx),
        ["mul bx"] = a => a.mul(bx),
        ["div ebx"] = a => a.div(ebx),
        ["bsf eax,ebx"] = a => a.bsf(eax, ebx),
        ["bsr eax,ebx"] = a => a.bsr(eax, ebx),
        ["bsf ax,bx"] = a => a.bsf(ax, bx),
        ["bsr eax,[esi+48]"] = a => a.bsr(eax, __dword_ptr[esi + 48]),
        ["bt eax,ebx"] = a => a.bt(eax, ebx),
        ["bts eax,ebx"] = a => a.bts(eax, ebx),
        ["btr eax,5"] = a => a.btr(eax, 5),
        ["btc eax,ebx"] = a => a.btc(eax, ebx),
        ["bt [esi+48],3"] = a => a.bt(__dword_ptr[esi + 48], 3),
        ["shl eax,1"] = a => a.shl(eax, 1),
        ["shl eax,4"] = a => a.shl(eax, 4),
        ["shl eax,cl"] = a => a.shl(eax, cl),
        ["shr eax,7"] = a => a.shr(eax, 7),
        ["shr eax,1"] = a => a.shr(eax, 1),
        ["sar eax,1"] = a => a.sar(eax, 1),
        ["shl ax,15"] = a => a.shl(ax, 15),
        ["shr al,3"] = a => a.shr(al, 3),
        ["sar bx,9"] = a => a.sar(bx, 9),
        ["shr eax,cl"] = a => a.shr(eax, cl),
        ["sar eax,3"] = a => a.sar(eax, 3),
        ["sar eax,cl"] = a => a.sar(eax, cl),
        ["shl al,cl"] = a => a.shl(al, cl),
        ["shr ax,cl"] = a => a.shr(ax, cl),
        ["shl al,8"] = a => a.shl(al, 8),
        ["shr [esi+48],cl"] = a => a.shr(__dword_ptr[esi + 48], cl),
        ["rol eax,3"] = a => a.rol(eax, 3),
        ["rol eax,cl"] = a => a.rol(eax, cl),
        ["ror eax,5"] = a => a.ror(eax, 5),
        ["ror al,cl"] = a => a.ror(al, cl),
        ["rcl eax,3"] = a => a.rcl(eax, 3),
        ["rcl eax,cl"] = a => a.rcl(eax, cl),
        ["rcr ax,17"] = a => a.rcr(ax, 17),
        ["rcr bl,cl"] = a => a.rcr(bl, cl),
        ["shld eax,ebx,5"] = a => a.shld(eax, ebx, 5),
        ["shld eax,ebx,cl"] = a => a.shld(eax, ebx, cl),
        ["shrd eax,ebx,9"] = a => a.shrd(eax, ebx, 9),
        ["shrd eax,ebx,cl"] = a => a.shrd(eax, ebx, cl),
        ["shld ax,bx,5"] = a => a.shld(ax, bx, 5),
        ["shrd ax,bx,cl"] = a => a.shrd(ax, bx, cl),
        ["tzcnt eax,ebx"] = a => a.tzcnt(eax, ebx),
        ["lzcnt eax,ebx"] = a => a.lzcnt(eax, ebx),
        ["andn eax,ebx,ecx"] = a => a.andn(eax, ebx, ecx),
        ["blsi eax,ebx"] = a => a.blsi(eax, ebx),
        ["blsmsk eax,ebx"] = a => a.blsmsk(eax, ebx),
        ["blsr eax,ebx"] = a => a.blsr(eax, ebx),
        ["bextr eax,ebx,ecx"] = a => a.bextr(eax, ebx, ecx),
        ["bzhi eax,ebx,ecx"] = a => a.bzhi(eax, ebx, ecx),
        ["and eax,ebx"] = a => a.and(eax, ebx),
        ["or eax,ebx"] = a => a.or(eax, ebx),
        ["xor eax,ebx"] = a => a.xor(eax, ebx),
        ["test eax,ebx"] = a => a.test(eax, ebx),
    };

    private static readonly Dictionary<string, Action<Assembler>> Forms64 = new()
    {
        ["imul rax,rbx"] = a => a.imul(rax, rbx),
        ["mul rbx"] = a => a.mul(rbx),
        ["bsf rax,rbx"] = a => a.bsf(rax, rbx),
        ["bts rax,rbx"] = a => a.bts(rax, rbx),
        ["shl rax,cl"] = a => a.shl(rax, cl),
        ["shr rax,33"] = a => a.shr(rax, 33),
        ["shl rax,1"] = a => a.shl(rax, 1),
        ["sar rax,63"] = a => a.sar(rax, 63),
        ["shl rbx,4"] = a => a.shl(rbx, 4),
        ["imul rax,rbx,imm"] = a => a.imul(rax, rbx, -0x3579),
        ["imul rbx,rcx"] = a => a.imul(rbx, rcx),
        ["bt rax,52"] = a => a.bt(rax, 52),
        ["btr rax,rbx"] = a => a.btr(rax, rbx),
        ["btc rcx,rbx"] = a => a.btc(rcx, rbx),
        ["rol rax,cl"] = a => a.rol(rax, cl),
        ["shrd rax,rbx,cl"] = a => a.shrd(rax, rbx, cl),
        ["tzcnt rax,rbx"] = a => a.tzcnt(rax, rbx),
        ["bzhi rax,rbx,rcx"] = a => a.bzhi(rax, rbx, rcx),
    };

    public static TheoryData<string, Reader> Cases32() => Combine(Forms32.Keys);

    public static TheoryData<string, Reader> Cases64() => Combine(Forms64.Keys);

    public static TheoryData<string, Path> Successors32() => WithPaths(Forms32.Keys);

    public static TheoryData<string, Path> Successors64() => WithPaths(Forms64.Keys);

    private static TheoryData<string, Path> WithPaths(IEnumerable<string> forms)
    {
        var data = new TheoryData<string, Path>();
        foreach (string form in forms)
        {
            foreach (Path path in Enum.GetValues<Path>().Where(p => p != Path.Straight))
            {
                data.Add(form, path);
            }
        }

        return data;
    }

    private static TheoryData<string, Reader> Combine(IEnumerable<string> forms)
    {
        var data = new TheoryData<string, Reader>();
        foreach (string form in forms)
        {
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                data.Add(form, reader);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases32))]
    public void BothTiersLeaveTheSameFlags32(string form, Reader reader)
    {
        byte[] inputs = Inputs(form, bits64: false);
        byte[] translated = Run32(Forms32[form], reader, inputs, translate: true, out _);
        byte[] interpreted = Run32(Forms32[form], reader, inputs, translate: false, out _);
        AssertSame(form, reader, inputs, translated, interpreted);
    }

    [Theory]
    [MemberData(nameof(Cases64))]
    public void BothTiersLeaveTheSameFlags64(string form, Reader reader)
    {
        byte[] inputs = Inputs(form, bits64: true);
        byte[] translated = Run64(Forms64[form], reader, inputs, translate: true);
        byte[] interpreted = Run64(Forms64[form], reader, inputs, translate: false);
        AssertSame(form, reader, inputs, translated, interpreted);
    }

    /// <summary>
    /// The block ends after the form and the reader is in a successor block (a JMP's or CALL's
    /// target, either way of a Jcc, or after a BT): translated code still shows the interpreter's flags.
    /// </summary>
    [Theory]
    [MemberData(nameof(Successors32))]
    public void SuccessorsSeeTheSameFlags32(string form, Path path)
    {
        byte[] inputs = Inputs(form, bits64: false);
        byte[] translated = Run32(Forms32[form], Reader.Pushf, inputs, translate: true, out _, path);
        byte[] interpreted = Run32(Forms32[form], Reader.Pushf, inputs, translate: false, out _, path);
        AssertSame(form, Reader.Pushf, inputs, translated, interpreted);
    }

    [Theory]
    [MemberData(nameof(Successors64))]
    public void SuccessorsSeeTheSameFlags64(string form, Path path)
    {
        byte[] inputs = Inputs(form, bits64: true);
        byte[] translated = Run64(Forms64[form], Reader.Pushf, inputs, translate: true, path);
        byte[] interpreted = Run64(Forms64[form], Reader.Pushf, inputs, translate: false, path);
        AssertSame(form, Reader.Pushf, inputs, translated, interpreted);
    }

    /// <summary>How translated code gives a form's undefined flags.</summary>
    public enum Outcome
    {
        /// <summary>Nothing reads them: the host instruction alone.</summary>
        Native,

        /// <summary>Host code after the host instruction sets them (Translation/UndefinedFlagFixups).</summary>
        FixedInHostCode,

        /// <summary>The interpreter's handler runs the instruction.</summary>
        Interpreted,
    }

    /// <summary>
    /// A block that ends with a JMP stays a host instruction where the JMP's target writes the flags
    /// first (ADD every one, INC all but CF). Where the target reads one first or leaves it (INC's CF;
    /// BT keeps OF, SF, AF and PF in the interpreter), the common forms (shifts by a constant, IMUL
    /// with a destination, bit tests) get host code that sets them, and the rest are interpreted.
    /// </summary>
    [Theory]
    [InlineData("shl eax,4", "add", Outcome.Native)]
    [InlineData("imul eax,ebx", "add", Outcome.Native)]
    [InlineData("bt eax,ebx", "add", Outcome.Native)]
    [InlineData("rol eax,3", "add", Outcome.Native)]
    [InlineData("bsf eax,ebx", "add", Outcome.Native)]
    [InlineData("shl eax,4", "inc", Outcome.Native)]
    [InlineData("bsf eax,ebx", "inc", Outcome.Interpreted)]
    [InlineData("shl eax,4", "bt", Outcome.FixedInHostCode)]
    [InlineData("imul eax,ebx", "bt", Outcome.FixedInHostCode)]
    [InlineData("imul eax,ebx", "pushf", Outcome.FixedInHostCode)]
    [InlineData("bt eax,ebx", "pushf", Outcome.FixedInHostCode)]
    [InlineData("shl al,8", "pushf", Outcome.Interpreted)]
    [InlineData("shl eax,cl", "pushf", Outcome.Interpreted)]
    [InlineData("rol eax,3", "pushf", Outcome.Interpreted)]
    public void TheJumpTargetDecides(string form, string target, Outcome outcome)
    {
        byte[] inputs = Inputs(form, bits64: false);
        byte[] translated = Run32(
            a =>
            {
                Forms32[form](a);
                Label next = a.CreateLabel();
                a.jmp(next);
                a.int3();
                a.Label(ref next);
                switch (target)
                {
                    case "add": a.add(edi, 0); break;
                    case "inc": a.inc(edi); break;
                    case "bt": a.bt(edi, 0); break;
                    default: a.nop(); break;
                }
            },
            Reader.Pushf,
            inputs,
            translate: true,
            out long undefinedInterpreted,
            out long fixedInHostCode);
        Assert.Equal(outcome == Outcome.Interpreted, undefinedInterpreted > 0);
        Assert.Equal(outcome == Outcome.FixedInHostCode, fixedInHostCode > 0);
    }

    /// <summary>
    /// The bytes SuccessorFlags read are watched as the block's own: halfway through the cases an
    /// ADD (which made the form's undefined flags dead) after the JMP is overwritten with NOPs, and
    /// the translated block must then give the interpreter's flags to the PUSHFD after it.
    /// </summary>
    [Theory]
    [InlineData("imul eax,ebx")]
    [InlineData("bsf eax,ebx")]
    [InlineData("shl eax,4")]
    [InlineData("rol eax,3")]
    [InlineData("bt eax,ebx")]
    public void OverwrittenSuccessorIsSeen(string form)
    {
        byte[] inputs = Inputs(form, bits64: false);
        byte[] translated = RunPatched(form, inputs, translate: true);
        byte[] interpreted = RunPatched(form, inputs, translate: false);
        AssertSame(form + " (successor patched)", Reader.Pushf, inputs, translated, interpreted);
    }

    // The cases, with the form followed by JMP to ADD EDI,0, which the program overwrites with NOPs
    // when it reaches the middle case (the flags saved across the check).
    private static byte[] RunPatched(string form, byte[] inputs, bool translate)
    {
        using var rig = new TranslatorRig(translate: translate);
        rig.Write(Table32, inputs);
        ulong patch = 0x7fff_0000;
        for (int pass = 0; pass < 2; pass++)
        {
            Label target = default;
            ulong at = patch;
            AssemblerResult result = rig.Load(a =>
            {
                EmitCases(
                    a,
                    bits64: false,
                    Table32,
                    a =>
                    {
                        Label skip = a.CreateLabel();
                        a.pushfd();
                        a.cmp(esi, (int)(Table32 + (Cases / 2 * CaseBytes)));
                        a.jne(skip);
                        for (int i = 0; i < 3; i++)
                        {
                            a.mov(__byte_ptr[(uint)at + (uint)i], 0x90);
                        }

                        a.Label(ref skip);
                        a.popfd();
                        Forms32[form](a);
                        target = a.CreateLabel();
                        a.jmp(target);
                        a.int3();
                        a.Label(ref target);
                        a.add(edi, 0);
                    },
                    Reader.Pushf);
                a.hlt();
            });
            patch = result.GetLabelRIP(target);
        }

        Assert.True(rig.RunToHalt(), "the program did not reach HLT");
        byte[] table = new byte[inputs.Length];
        rig.Platform.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(Table32), table);
        return table;
    }

    /// <summary>
    /// When an instruction that defines every flag follows before any reader, the undefined flags
    /// are dead and the instruction stays a host instruction: nothing is left to the interpreter
    /// for its flags, and the block ran natively except for the reader (PUSHFD) and the POPFD.
    /// </summary>
    [Theory]
    [InlineData("imul eax,ebx", Outcome.FixedInHostCode)]
    [InlineData("bsf eax,ebx", Outcome.Interpreted)]
    [InlineData("bt eax,ebx", Outcome.FixedInHostCode)]
    [InlineData("shl eax,4", Outcome.FixedInHostCode)]
    [InlineData("shl eax,cl", Outcome.Interpreted)]
    [InlineData("rol eax,3", Outcome.Interpreted)]
    [InlineData("shld eax,ebx,cl", Outcome.Interpreted)]
    public void DeadUndefinedFlagsCostNothing(string form, Outcome whenRead)
    {
        byte[] inputs = Inputs(form, bits64: false);
        Run32(
            a =>
            {
                Forms32[form](a);
                a.add(edi, 0);   // writes every arithmetic flag
            },
            Reader.Pushf,
            inputs,
            translate: true,
            out long undefinedInterpreted,
            out long fixedInHostCode);
        Assert.Equal(0, undefinedInterpreted);
        Assert.Equal(0, fixedInHostCode);

        // With the reader right after it, the same instruction gets host code for its undefined
        // flags, or is left to the interpreter.
        Run32(Forms32[form], Reader.Pushf, inputs, translate: true, out undefinedInterpreted, out fixedInHostCode);
        Assert.True(whenRead == Outcome.Interpreted ? undefinedInterpreted > 0 && fixedInHostCode == 0 : undefinedInterpreted == 0 && fixedInHostCode > 0,
            $"{form}: {undefinedInterpreted} interpreted and {fixedInHostCode} fixed in host code though PUSHFD reads its undefined flags (expected {whenRead})");
    }

    // Per case: RAX, RBX, RCX, RDX, the flags to start with (8 bytes each), the flags a reader saw
    // (40-47), a memory operand (48). The registers the instruction leaves are stored over the inputs.
    private static byte[] Inputs(string form, bool bits64)
    {
        var random = new Random(form.GetHashCode(StringComparison.Ordinal) ^ (bits64 ? 64 : 32));
        ulong[] edges = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue];
        byte[] table = new byte[Cases * CaseBytes];
        for (int c = 0; c < Cases; c++)
        {
            Span<byte> entry = table.AsSpan(c * CaseBytes, CaseBytes);
            for (int r = 0; r < 4; r++)
            {
                ulong v = random.Next(4) == 0 ? edges[random.Next(edges.Length)] : (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33);
                if (!bits64)
                {
                    v = (uint)v;
                }

                BitConverter.TryWriteBytes(entry[(r * 8)..], v);
            }

            // RCX: a count from 0 to 63 most of the time (the shifts mask it), else random.
            if (random.Next(4) != 0)
            {
                BitConverter.TryWriteBytes(entry[16..], (ulong)(uint)random.Next(64) | ((ulong)(uint)random.Next() << 8));
            }

            if (form.StartsWith("div", StringComparison.Ordinal))
            {
                // No #DE: EDX below the divisor.
                BitConverter.TryWriteBytes(entry[24..], 0UL);
                entry[8] |= 1;
            }

            // Any combination of CF, PF, AF, ZF, SF, OF.
            uint flags = 0;
            foreach (uint bit in (ReadOnlySpan<uint>)[0x1, 0x4, 0x10, 0x40, 0x80, 0x800])
            {
                flags |= random.Next(2) == 0 ? bit : 0;
            }

            BitConverter.TryWriteBytes(entry[32..], (ulong)(flags | 2));
            BitConverter.TryWriteBytes(entry[48..], random.Next() ^ (random.Next(2) << 31));
        }

        return table;
    }

    // One case after another from the table at `table`: load RAX..RDX and the flags, run the form,
    // store the registers it leaves over the inputs, then the reader, which stores what it saw at +40.
    private static void EmitCases(Assembler a, bool bits64, ulong table, Action<Assembler> form, Reader reader, Path path = Path.Straight)
    {
        Register si = bits64 ? Register.RSI : Register.ESI;
        Register[] gprs = bits64 ? [Register.RAX, Register.RBX, Register.RCX, Register.RDX] : [Register.EAX, Register.EBX, Register.ECX, Register.EDX];
        Label top = a.CreateLabel();
        a.AddInstruction(bits64 ? Instruction.Create(Code.Mov_r64_imm64, si, table) : Instruction.Create(Code.Mov_r32_imm32, si, (uint)table));
        a.Label(ref top);
        a.AddInstruction(Instruction.Create(bits64 ? Code.Push_rm64 : Code.Push_rm32, new MemoryOperand(si, 32)));
        a.AddInstruction(Instruction.Create(bits64 ? Code.Popfq : Code.Popfd));
        for (int r = 0; r < gprs.Length; r++)
        {
            a.AddInstruction(Instruction.Create(bits64 ? Code.Mov_r64_rm64 : Code.Mov_r32_rm32, gprs[r], new MemoryOperand(si, r * 8)));
        }

        form(a);
        for (int r = 0; r < gprs.Length; r++)
        {
            a.AddInstruction(Instruction.Create(bits64 ? Code.Mov_rm64_r64 : Code.Mov_rm32_r32, new MemoryOperand(si, r * 8), gprs[r]));
        }

        EmitPath(a, path, () => EmitReader(a, reader, si, bits64), bits64);
        a.AddInstruction(Instruction.Create(bits64 ? Code.Add_rm64_imm32 : Code.Add_rm32_imm32, si, CaseBytes));
        a.AddInstruction(Instruction.Create(bits64 ? Code.Cmp_rm64_imm32 : Code.Cmp_rm32_imm32, si, (int)(table + (Cases * CaseBytes))));
        a.jne(top);
    }

    private static void EmitPath(Assembler a, Path path, Action reader, bool bits64)
    {
        Label next = a.CreateLabel(), done = a.CreateLabel();
        switch (path)
        {
            case Path.Jump or Path.BtFirst:
                a.jmp(next);
                a.int3();
                a.Label(ref next);
                if (path == Path.BtFirst)
                {
                    a.AddInstruction(Instruction.Create(bits64 ? Code.Bt_rm64_imm8 : Code.Bt_rm32_imm8, bits64 ? Register.RDI : Register.EDI, 0));
                }

                reader();
                break;
            case Path.Call:
                a.call(next);
                a.int3();
                a.Label(ref next);
                a.AddInstruction(bits64 ? Instruction.Create(Code.Lea_r64_m, Register.RSP, new MemoryOperand(Register.RSP, 8)) : Instruction.Create(Code.Lea_r32_m, Register.ESP, new MemoryOperand(Register.ESP, 4)));
                reader();
                break;
            case Path.BothWays:
                if (bits64)
                {
                    a.jrcxz(next);
                }
                else
                {
                    a.jecxz(next);
                }

                reader();
                a.jmp(done);
                a.Label(ref next);
                reader();
                a.Label(ref done);
                break;
            default:
                reader();
                break;
        }
    }

    private static void EmitReader(Assembler a, Reader reader, Register si, bool bits64)
    {
        var seen = new MemoryOperand(si, 40);
        switch (reader)
        {
            case Reader.Pushf:
                a.AddInstruction(Instruction.Create(bits64 ? Code.Pushfq : Code.Pushfd));
                a.AddInstruction(Instruction.Create(bits64 ? Code.Pop_r64 : Code.Pop_r32, bits64 ? Register.RDI : Register.EDI));
                a.AddInstruction(Instruction.Create(bits64 ? Code.Mov_rm64_r64 : Code.Mov_rm32_r32, seen, bits64 ? Register.RDI : Register.EDI));
                break;
            case Reader.LahfSeto:
                a.lahf();
                a.seto(al);
                a.AddInstruction(Instruction.Create(Code.Mov_rm16_r16, seen, Register.AX));
                break;
            case Reader.Setcc:
                Code[] sets = [Code.Seto_rm8, Code.Sets_rm8, Code.Sete_rm8, Code.Setp_rm8, Code.Setb_rm8, Code.Setbe_rm8, Code.Setl_rm8, Code.Setle_rm8];
                for (int i = 0; i < sets.Length; i++)
                {
                    a.AddInstruction(Instruction.Create(sets[i], new MemoryOperand(si, 40 + i)));
                }

                break;
            case Reader.Jcc:
                foreach ((int i, Action<Label> jump) in (ReadOnlySpan<(int, Action<Label>)>)
                    [(0, l => a.jo(l)), (1, l => a.js(l)), (2, l => a.je(l)), (3, l => a.jp(l)), (4, l => a.jb(l))])
                {
                    Label skip = a.CreateLabel();
                    jump(skip);
                    a.AddInstruction(Instruction.Create(Code.Mov_rm8_imm8, new MemoryOperand(si, 40 + i), 1));
                    a.Label(ref skip);
                }

                break;
        }
    }

    private static byte[] Run32(Action<Assembler> form, Reader reader, byte[] inputs, bool translate, out long undefinedInterpreted, Path path = Path.Straight) =>
        Run32(form, reader, inputs, translate, out undefinedInterpreted, out _, path);

    private static byte[] Run32(Action<Assembler> form, Reader reader, byte[] inputs, bool translate, out long undefinedInterpreted, out long fixedInHostCode, Path path = Path.Straight)
    {
        using var rig = new TranslatorRig(translate: translate);
        rig.Write(Table32, inputs);
        rig.Load(a =>
        {
            EmitCases(a, bits64: false, Table32, form, reader, path);
            a.hlt();
        });
        Assert.True(rig.RunToHalt(), "the program did not reach HLT");
        undefinedInterpreted = rig.Statistics?.UndefinedFlagsInterpreted ?? 0;
        fixedInHostCode = rig.Statistics?.UndefinedFlagsFixed ?? 0;
        byte[] table = new byte[inputs.Length];
        rig.Platform.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(Table32), table);
        return table;
    }

    private static byte[] Run64(Action<Assembler> form, Reader reader, byte[] inputs, bool translate, Path path = Path.Straight)
    {
        using var m = new LongModeMachine(translate);
        m.Write(Table64, inputs);
        m.Run(a => EmitCases(a, bits64: true, Table64, form, reader, path));
        return m.Read(Table64, inputs.Length);
    }

    private static void AssertSame(string form, Reader reader, byte[] inputs, byte[] translated, byte[] interpreted)
    {
        for (int c = 0; c < Cases; c++)
        {
            ReadOnlySpan<byte> t = translated.AsSpan(c * CaseBytes, CaseBytes), i = interpreted.AsSpan(c * CaseBytes, CaseBytes);
            if (!t.SequenceEqual(i))
            {
                ReadOnlySpan<byte> input = inputs.AsSpan(c * CaseBytes, 40);
                Assert.Fail($"{form}, {reader} reader, case {c} (RAX..RDX, flags in: {Convert.ToHexString(input)}):\n"
                    + $"translated  {Convert.ToHexString(t)}\ninterpreted {Convert.ToHexString(i)}");
            }
        }
    }
}
