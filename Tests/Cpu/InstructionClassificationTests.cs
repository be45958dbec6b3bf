using Emulator.Core.Cpu;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Tests.Cpu.Simd;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Every Iced <see cref="Code"/> is either executed by a handler or raises #UD exactly where a
/// processor with the model's CPUID would: a feature the model lacks (a clear CPUID bit, another
/// vendor's instruction, an older processor's), or bytes the decoder never reads as that code.
/// Only a code the model has and nothing implements would stop the machine (exit status 4), and
/// there must be none. Then the guest's view: probes that real processors answer with #UD
/// (VMX/SVM instructions, XGETBV with CR4.OSXSAVE clear, VEX with OSXSAVE clear, AVX-512, other
/// vendors' instructions, UD0/UD1/UD2, RSM outside SMM, opcodes invalid in 64-bit mode, ARPL/LAR/
/// LSL/VERR in real mode) raise #UD and leave no internal error.
/// </summary>
public sealed class InstructionClassificationTests(ITestOutputHelper output)
{
    // Implemented codes whose CPUID feature the model does not report, each with why a processor
    // without the feature still executes them (or why the decoder never produces them).
    private static readonly Dictionary<Mnemonic, string> RunWithoutTheirFeature = new()
    {
        [Mnemonic.Prefetch] = "0F 0D is a reserved-NOP/prefetch hint group; without PREFETCHW it executes as a NOP (Intel SDM Vol. 2 Appendix A, Table A-3)",
        [Mnemonic.Prefetchw] = "as PREFETCH: a hint in the 0F 0D group",
        [Mnemonic.Prefetchwt1] = "as PREFETCH: a hint in the 0F 0D group",
        [Mnemonic.Prefetchit0] = "0F 18 /7 is in the 0F 18-1F reserved-NOP space (Intel SDM Vol. 2B NOP)",
        [Mnemonic.Prefetchit1] = "0F 18 /6 is in the 0F 18-1F reserved-NOP space",
        [Mnemonic.Cldemote] = "0F 1C /0 is in the 0F 18-1F reserved-NOP space",
        [Mnemonic.Rdsspd] = "RDSSP is a NOP while CET shadow stacks are off (Intel SDM Vol. 2B RDSSP)",
        [Mnemonic.Rdsspq] = "RDSSP is a NOP while CET shadow stacks are off (Intel SDM Vol. 2B RDSSP)",
        [Mnemonic.Endbr32] = "ENDBR32 is a NOP while CET is off (Intel SDM Vol. 2A ENDBR32)",
        [Mnemonic.Endbr64] = "ENDBR64 is a NOP while CET is off (Intel SDM Vol. 2A ENDBR64)",
        [Mnemonic.Wbnoinvd] = "F3 0F 09 runs as WBINVD without the WBNOINVD bit (Intel SDM Vol. 2B WBNOINVD: no CPUID #UD condition)",
        [Mnemonic.Pop] = "POP CS (8086 only): with DecoderOptions.None 0F is the two-byte escape (PopCsIsNeverDecoded)",
    };

    [Fact]
    public void EveryIcedCpuidFeatureHasAPlaceInTheModel()
    {
        CpuidFeature[] unknown = [.. Enum.GetValues<CpuidFeature>().Where(f => !ModelFeatures.Knows(f))];
        foreach (CpuidFeature f in Enum.GetValues<CpuidFeature>())
        {
            output.WriteLine($"{f}: {(ModelFeatures.Has(f) ? "has" : "lacks")}, {ModelFeatures.Describe(f)}");
        }

        Assert.True(unknown.Length == 0, $"features with no rule: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void EveryCodeIsImplementedOrRaisesUndefinedOpcode()
    {
        var counts = new Dictionary<CodeSupport, int>();
        var unclassified = new List<string>();
        foreach (Code code in Enum.GetValues<Code>())
        {
            CodeSupport support = HandlerTable.Classify(code, out string reason);
            counts[support] = counts.GetValueOrDefault(support) + 1;
            if (support == CodeSupport.Unclassified)
            {
                unclassified.Add($"{code} ({string.Join("+", code.CpuidFeatures())}): {reason}");
            }
        }

        foreach ((CodeSupport support, int n) in counts.OrderBy(c => c.Key))
        {
            output.WriteLine($"{support}: {n}");
        }

        Assert.True(counts.GetValueOrDefault(CodeSupport.Implemented) > 1500, "far fewer codes implemented than expected");
        Assert.True(unclassified.Count == 0, $"{unclassified.Count} codes the model has but nothing implements:\n{string.Join("\n", unclassified)}");
    }

    [Fact]
    public void ImplementedCodesNeedOnlyFeaturesTheModelHas()
    {
        var wrong = new List<string>();
        foreach (Code code in Enum.GetValues<Code>().Where(HandlerTable.IsImplemented))
        {
            if (ModelFeatures.Missing(code) is { } feature && code.ToOpCode().DecoderOption == DecoderOptions.None
                && !RunWithoutTheirFeature.ContainsKey(code.Mnemonic()))
            {
                wrong.Add($"{code}: implemented, but the model lacks {feature} ({ModelFeatures.Describe(feature)}); advertise it or raise #UD");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.All(RunWithoutTheirFeature.Keys, m => Assert.Contains(Enum.GetValues<Code>(), c => c.Mnemonic() == m && HandlerTable.IsImplemented(c)));
    }

    [Fact]
    public void PopCsIsNeverDecoded()
    {
        byte[] bytes = new byte[16];
        bytes[0] = 0x0f;
        foreach (int bitness in new[] { 16, 32 })
        {
            for (int second = 0; second < 256; second++)
            {
                bytes[1] = (byte)second;
                var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(bytes));
                decoder.Decode(out Instruction ins);
                Assert.NotEqual(Code.Popw_CS, ins.Code);
            }
        }
    }

    // Instructions a processor with the model's CPUID (GenuineIntel, no VMX, no AVX-512, no XSAVEC)
    // rejects with #UD in 64-bit mode, with CR4.OSXSAVE clear as after RESET.
    [Theory]
    [InlineData("vmcall", "0f01c1")]
    [InlineData("vmlaunch", "0f01c2")]
    [InlineData("vmxon [rax]", "f30fc730")]
    [InlineData("invept rax, [rax]", "660f388000")]
    [InlineData("getsec", "0f37")]
    [InlineData("vmmcall (AMD SVM)", "0f01d9")]
    [InlineData("skinit (AMD SVM)", "0f01de")]
    [InlineData("xgetbv with CR4.OSXSAVE clear", "0f01d0")]
    [InlineData("xsetbv", "0f01d1")]
    [InlineData("vzeroupper (VEX) with CR4.OSXSAVE clear", "c5f877")]
    [InlineData("xsave with CR4.OSXSAVE clear", "0fae20")]
    [InlineData("xsavec (CPUID.(EAX=0DH,ECX=1):EAX[1] clear)", "0fc720")]
    [InlineData("xsaves (CPUID.(EAX=0DH,ECX=1):EAX[3] clear)", "0fc728")]
    [InlineData("vaesenc (VEX, AES not in the model)", "c4e279dcc1")]
    [InlineData("vaddps zmm (EVEX, AVX-512)", "62f17c4858c1")]
    [InlineData("femms (AMD 3DNow!)", "0f0e")]
    [InlineData("extrq (AMD SSE4A)", "660f78c00102")]
    [InlineData("clzero (AMD)", "0f01fc")]
    [InlineData("monitor (CPUID.1:ECX.MONITOR clear)", "0f01c8")]
    [InlineData("xstore (VIA PadLock)", "0fa7c0")]
    [InlineData("enclu (SGX)", "0f01d7")]
    [InlineData("ud0", "0fffc0")]
    [InlineData("ud1", "0fb9c0")]
    [InlineData("ud2", "0f0b")]
    [InlineData("rsm outside SMM", "0faa")]
    [InlineData("push es (invalid in 64-bit mode)", "06")]
    [InlineData("daa (invalid in 64-bit mode)", "27")]
    [InlineData("aam (invalid in 64-bit mode)", "d40a")]
    [InlineData("into (invalid in 64-bit mode)", "ce")]
    public void UndefinedIn64BitMode(string what, string hex)
    {
        using var m = new LongModeMachine();
        (int vector, string? internalError) = Execute(m, LongModeMachine.InitialState(), 64, hex);
        Assert.True(internalError is null, $"{what}: {internalError}");
        Assert.True(vector == 6, $"{what}: vector {vector}, expected #UD (6)");
    }

    // ARPL, LAR, LSL, VERR and VERW "are not recognized in real-address mode" (Intel SDM Vol. 2A
    // ARPL, LAR, LSL; Vol. 2B VERR/VERW: Real-Address Mode Exceptions, #UD).
    [Theory]
    [InlineData("arpl bx, ax", "63c3")]
    [InlineData("lar ax, bx", "0f02c3")]
    [InlineData("lsl ax, bx", "0f03c3")]
    [InlineData("verr bx", "0f00e3")]
    [InlineData("verw bx", "0f00eb")]
    public void UndefinedInRealMode(string what, string hex)
    {
        using var m = new LongModeMachine();
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
        (int vector, string? internalError) = Execute(m, s, 16, hex);
        Assert.True(internalError is null, $"{what}: {internalError}");
        Assert.True(vector == 6, $"{what}: vector {vector}, expected #UD (6)");
    }

    // In 64-bit mode 63 /r is MOVSXD, never ARPL (Intel SDM Vol. 2A ARPL: "N. E." in 64-bit mode; MOVSXD).
    [Fact]
    public void Opcode63IsMovsxdIn64BitMode()
    {
        using var m = new LongModeMachine();
        CpuState s = LongModeMachine.InitialState();
        s.Gpr[(int)Gpr.Rbx] = 0xffff_ffff_8000_0003;
        s.Gpr[(int)Gpr.Rax] = 0x1111_1111_1111_1111;
        (int vector, string? internalError) = Execute(m, s, 64, "4863c3"); // movsxd rax, ebx
        Assert.Null(internalError);
        Assert.Equal(-1, vector);
        Assert.Equal(0xffff_ffff_8000_0003UL, m.Core.R[0]);
    }

    /// <summary>Loads <paramref name="state"/>, executes the one instruction in <paramref name="hex"/> through its handler; returns the vector it raised (-1 for none) and any internal error.</summary>
    private static unsafe (int Vector, string? InternalError) Execute(LongModeMachine m, CpuState state, int bitness, string hex)
    {
        byte[] bytes = Convert.FromHexString(hex);
        m.Core.LoadState(state);
        m.Core.UpdateMode();
        m.Core.InternalError = null;
        var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(bytes), state.Rip);
        decoder.Decode(out Instruction ins);
        Assert.Equal(bytes.Length, ins.Length);
        var op = DecodedOp.Create(ins, bitness);
        try
        {
            op.Handler(m.Core, ref op.Ins);
            return (-1, m.Core.InternalError);
        }
        catch (GuestFault fault)
        {
            return (fault.Vector, m.Core.InternalError);
        }
    }
}
