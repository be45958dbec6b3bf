using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Hardware is the oracle for whole blocks: random straight-line runs of 2-30 instructions (ALU,
/// shifts and rotates, ADC/SBB, SETcc, CMOVcc, forward Jcc, loads, stores and read-modify-writes
/// through a base register, and a few instructions the translator leaves to the interpreter) run
/// natively and through the translator from the same state, and must end in the same registers,
/// flags and memory. One instruction at a time cannot show what a translator gets wrong between
/// instructions: which guest register sits in which host register, when the guest's flags live in
/// the host's RFLAGS and when they must be saved around a TLB probe or a helper call, and the
/// exits and chains of a block. Only instructions whose flags are all defined (or are rewritten
/// before being read) are drawn, so no flag the manuals leave undefined reaches the comparison.
/// EMU_DIFF_CASES scales the number of blocks.
/// </summary>
public sealed unsafe class BlockDifferentialTests(ITestOutputHelper output)
{
    private const int SlotBytes = 600;
    private const int MaxInstructions = 30;

    // Registers the blocks compute in: all but RSP (the native stub's stack) and RBX (the data pointer).
    private static readonly AssemblerRegister64[] Regs64 = [rax, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15];
    private static readonly AssemblerRegister32[] Regs32 = [eax, ecx, edx, esi, edi, ebp, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d];
    private static readonly AssemblerRegister64[] Divisors = [rcx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15];
    private static readonly AssemblerRegister8[] Regs8 = [al, cl, dl, sil, dil, bpl, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b];

    [SkippableFact]
    public void TranslatedBlocksMatchHost()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64, "needs an x86-64 Linux host to run the blocks natively");
        int blocks = Math.Max(200, DifferentialRunner.CasesPerForm * 4);
        using var native = new NativeCpu(SlotBytes);
        using var data = HostPages.Low(CaseGenerator.BufferSize);
        using var emulated = new EmulatedCpu(native.Page, native.SlotAddress, data.Address, CaseGenerator.BufferSize, translate: true, slotSize: SlotBytes);
        var random = new Random(20261205 + DifferentialRunner.SeedOffset);
        byte[] initialData = new byte[CaseGenerator.BufferSize];
        var failures = new List<string>();
        for (int n = 0; n < blocks && failures.Count < 3; n++)
        {
            random.NextBytes(initialData);
            (byte[] code, string listing) = Generate(random, native.SlotAddress);
            RegisterImage initial = default;
            for (int i = 0; i < 16; i++)
            {
                initial.Gpr[i] = RandomValue(random);
            }

            initial.Gpr[3] = data.Address + 4096;  // RBX: the data pointer
            initial.Rflags = 0x202 | ((uint)random.Next() & CaseGenerator.ArithmeticFlags);
            initialData.CopyTo(data.Span);
            initialData.CopyTo(emulated.DataBuffer);
            RegisterImage expected = initial;
            native.Run(code, ref expected);
            EmulatedOutcome outcome = emulated.Run(code, initial, out RegisterImage actual);
            string? diff = Compare(expected, actual, outcome, data.Span, emulated.DataBuffer, emulated.CodeAddress + (ulong)code.Length + 1);
            if (diff is not null)
            {
                failures.Add($"block {n}:{diff}\n{listing}");
            }
        }

        output.WriteLine($"{blocks} blocks, {emulated.TranslatedInstructions} instructions ran as host code");
        Assert.True(emulated.TranslatedInstructions > blocks * 5, "the translator ran too little of the blocks natively to test it");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string? Compare(in RegisterImage expected, in RegisterImage actual, EmulatedOutcome outcome, ReadOnlySpan<byte> nativeData, ReadOnlySpan<byte> emulatedData, ulong end)
    {
        var diff = new StringBuilder();
        if (outcome.InternalError is not null || outcome.TripleFault || !outcome.Halted || outcome.Rip != end)
        {
            diff.Append(CultureInfo.InvariantCulture, $" ended at {outcome.Rip:x} (halted {outcome.Halted}, error {outcome.InternalError}, triple fault {outcome.TripleFault}), not {end:x};");
        }

        for (int i = 0; i < 16; i++)
        {
            if (expected.Gpr[i] != actual.Gpr[i])
            {
                diff.Append(CultureInfo.InvariantCulture, $" {RegisterModel.Name(i)} native {expected.Gpr[i]:x} translated {actual.Gpr[i]:x};");
            }
        }

        uint flags = CaseGenerator.ArithmeticFlags;
        if ((expected.Rflags & flags) != (actual.Rflags & flags))
        {
            diff.Append(CultureInfo.InvariantCulture, $" flags native {expected.Rflags & flags:x} translated {actual.Rflags & flags:x};");
        }

        int first = nativeData.CommonPrefixLength(emulatedData);
        if (first < nativeData.Length)
        {
            diff.Append(CultureInfo.InvariantCulture, $" memory differs from buffer+{first:x};");
        }

        return diff.Length == 0 ? null : diff.ToString();
    }

    private static ulong RandomValue(Random random) => random.Next(4) switch
    {
        0 => (ulong)random.Next(-3, 3),
        1 => 1UL << random.Next(64),
        _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40),
    };

    // One random block, assembled for the slot's address; forward branches skip to a label further on.
    private static (byte[] Code, string Listing) Generate(Random random, ulong rip)
    {
        var a = new Assembler(64);
        int count = random.Next(2, MaxInstructions + 1);
        var pending = new Dictionary<int, Label>();
        for (int i = 0; i < count; i++)
        {
            if (pending.Remove(i, out Label label))
            {
                a.Label(ref label);
            }

            Emit(a, random, i, count, pending);
        }

        a.nop();
        var writer = new Bytes();
        a.Assemble(writer, rip);
        var listing = new StringBuilder();
        var decoder = Iced.Intel.Decoder.Create(64, writer.ToArray(), rip);
        var formatter = new NasmFormatter();
        foreach (Instruction ins in decoder)
        {
            var o = new StringOutput();
            formatter.Format(ins, o);
            listing.Append("    ").Append(o.ToStringAndReset()).Append('\n');
        }

        return (writer.ToArray(), listing.ToString());
    }

    private static void Emit(Assembler a, Random r, int index, int count, Dictionary<int, Label> pending)
    {
        AssemblerRegister64 d = Regs64[r.Next(Regs64.Length)], s = Regs64[r.Next(Regs64.Length)];
        AssemblerRegister32 d32 = Regs32[r.Next(Regs32.Length)], s32 = Regs32[r.Next(Regs32.Length)];
        AssemblerRegister8 d8 = Regs8[r.Next(Regs8.Length)];
        AssemblerMemoryOperand m = __qword_ptr[rbx + ((r.Next(-64, 512) * 8) + r.Next(8))];
        AssemblerMemoryOperand m32 = __dword_ptr[rbx + (r.Next(-256, 2048) * 4)];
        int imm = r.Next(3) == 0 ? r.Next(-128, 128) : r.Next();
        // A divisor that is neither RAX nor RDX (they hold the dividend).
        AssemblerRegister64 v = Divisors[r.Next(Divisors.Length)];
        switch (r.Next(34))
        {
            case 0: a.add(d, s); break;
            case 1: a.sub(d32, s32); break;
            case 2: a.adc(d, s); break;
            case 3: a.sbb(d32, imm); break;
            case 4: a.and(d, imm); break;
            case 5: a.xor(d32, s32); break;
            case 6: a.or(d, m); break;
            case 7: a.cmp(m32, s32); break;
            case 8: a.add(m, s); break;
            case 9: a.inc(d32); break;
            case 10: a.dec(m); break;
            case 11: a.neg(d); break;
            case 12: a.shl(d, (byte)r.Next(1, 64)); a.test(d, d); break;
            case 13: a.mov(ecx, r.Next(64)); a.sar(d32 == ecx ? eax : d32, cl); a.cmp(d, s); break;
            case 14: a.rol(d, (byte)r.Next(1, 64)); a.add(d32, s32); break;
            case 15: a.mov(d, m); break;
            case 16: a.mov(m32, s32); break;
            case 17: a.movzx(d32, __byte_ptr[rbx + r.Next(0, 4000)]); break;
            case 18: a.lea(d, __[s + (Regs64[r.Next(Regs64.Length)] * 4) + imm]); break;
            case 19: a.setb(d8); break;
            case 20: a.cmovg(d, s); break;
            case 21: a.cmovbe(d32, m32); break;
            case 22: a.imul(d, s); a.test(d, s); break;
            case 23: a.mov(d, (ulong)r.NextInt64()); break;
            case 24: a.xadd(m, s); break;
            case 25:
                // Left to the interpreter: implicit registers, a locked exchange, flag operations.
                switch (r.Next(5))
                {
                    case 0: a.cqo(); break;
                    case 1: a.xchg(m, s); break;
                    case 2: a.cmc(); break;
                    case 3: a.lahf(); break;
                    default: a.cmpxchg(d, s); break;
                }

                break;
            case 26 or 27 when index + 2 < count:
                int at = r.Next(index + 1, count);
                if (!pending.TryGetValue(at, out Label target))
                {
                    target = a.CreateLabel();
                    pending[at] = target;
                }

                switch (r.Next(4))
                {
                    case 0: a.jne(target); break;
                    case 1: a.jl(target); break;
                    case 2: a.jbe(target); break;
                    default: a.jo(target); break;
                }

                break;
            case 28: a.sbb(d, m); break;
            case 29: a.mul(s); a.test(d, d); break;
            case 30: a.imul(m32); a.test(d32, d32); break;
            case 31:
                // Odd and positive, over a zero or sign-extended high half: the division cannot fault.
                if (r.Next(2) == 0)
                {
                    a.shr(v, 1);
                    a.or(v, 1);
                    a.xor(edx, edx);
                    a.div(v);
                }
                else
                {
                    var v32 = new AssemblerRegister32((Register)((int)v.Value - (int)Register.RAX + (int)Register.EAX));
                    a.shr(v32, 1);
                    a.or(v32, 1);
                    a.mov(edx, eax);
                    a.sar(edx, 31);
                    a.idiv(v32);
                }

                a.test(d, d);
                break;
            case 32: a.or(m, 1); a.xor(edx, edx); a.div(m); a.test(d32, d32); break;
            case 33: a.mov(rdx, rax); a.sar(rdx, 63); a.shr(v, 1); a.or(v, 1); a.idiv(v); a.add(d, s); break;
            default: a.test(d32, imm); break;
        }
    }

    private sealed class Bytes : CodeWriter
    {
        private readonly List<byte> _bytes = [];

        public override void WriteByte(byte value) => _bytes.Add(value);

        public byte[] ToArray() => [.. _bytes];
    }
}
