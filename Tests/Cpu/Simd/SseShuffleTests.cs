using System.Runtime.Intrinsics;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// Moves, shuffles, unpacks, packs, blends, inserts and extracts, MMX forms included, differentially
/// against the host CPU (<see cref="HostSimd"/>) on random XMM0, XMM1 and RAX; XMM0, XMM1, RAX and
/// the arithmetic flags must match.
/// </summary>
public sealed class SseShuffleTests
{
    private const int Cases = 200;

    private static readonly Dictionary<string, Action<Assembler>> Forms = new()
    {
        ["pshufd"] = a => a.pshufd(xmm0, xmm1, 0x1b),
        ["pshufd_e4"] = a => a.pshufd(xmm0, xmm1, 0x4e),
        ["pshuflw"] = a => a.pshuflw(xmm0, xmm1, 0xb1),
        ["pshufhw"] = a => a.pshufhw(xmm0, xmm1, 0x72),
        ["shufps"] = a => a.shufps(xmm0, xmm1, 0x9c),
        ["shufpd"] = a => a.shufpd(xmm0, xmm1, 2),
        ["unpcklps"] = a => a.unpcklps(xmm0, xmm1),
        ["unpckhpd"] = a => a.unpckhpd(xmm0, xmm1),
        ["punpcklbw"] = a => a.punpcklbw(xmm0, xmm1),
        ["punpckhwd"] = a => a.punpckhwd(xmm0, xmm1),
        ["punpckhdq"] = a => a.punpckhdq(xmm0, xmm1),
        ["punpcklqdq"] = a => a.punpcklqdq(xmm0, xmm1),
        ["packsswb"] = a => a.packsswb(xmm0, xmm1),
        ["packssdw"] = a => a.packssdw(xmm0, xmm1),
        ["packuswb"] = a => a.packuswb(xmm0, xmm1),
        ["packusdw"] = a => a.packusdw(xmm0, xmm1),
        ["pshufb"] = a => a.pshufb(xmm0, xmm1),
        ["palignr5"] = a => a.palignr(xmm0, xmm1, 5),
        ["palignr20"] = a => a.palignr(xmm0, xmm1, 20),
        ["pslldq"] = a => a.pslldq(xmm0, 3),
        ["psrldq"] = a => a.psrldq(xmm1, 11),
        ["pblendw"] = a => a.pblendw(xmm0, xmm1, 0x5a),
        ["blendps"] = a => a.blendps(xmm0, xmm1, 0x6),
        ["blendvpd"] = a => a.blendvpd(xmm1, xmm0),
        ["pblendvb"] = a => a.pblendvb(xmm1, xmm0),
        ["insertps"] = a => a.insertps(xmm0, xmm1, 0x9a),
        ["pmovsxbw"] = a => a.pmovsxbw(xmm0, xmm1),
        ["pmovzxwq"] = a => a.pmovzxwq(xmm0, xmm1),
        ["pmovsxdq"] = a => a.pmovsxdq(xmm0, xmm1),
        ["ptest"] = a => a.ptest(xmm0, xmm1),
        ["pmovmskb"] = a => a.pmovmskb(eax, xmm1),
        ["movmskps"] = a => a.movmskps(rax, xmm1),
        ["pextrw"] = a => a.pextrw(eax, xmm1, 5),
        ["pextrq"] = a => a.pextrq(rax, xmm1, 1),
        ["pinsrd"] = a => a.pinsrd(xmm0, eax, 2),
        ["pinsrw"] = a => a.pinsrw(xmm0, eax, 7),
        ["movd_load"] = a => a.movd(xmm0, eax),
        ["movq_store"] = a => a.movq(rax, xmm1),
        ["movq_xmm"] = a => a.movq(xmm0, xmm1),
        ["movss_reg"] = a => a.movss(xmm0, xmm1),
        ["movsd_reg"] = a => a.movsd(xmm0, xmm1),
        ["movhlps"] = a => a.movhlps(xmm0, xmm1),
        ["movlhps"] = a => a.movlhps(xmm0, xmm1),
        ["movshdup"] = a => a.movshdup(xmm0, xmm1),
        ["phaddw"] = a => a.phaddw(xmm0, xmm1),
        ["phsubsw"] = a => a.phsubsw(xmm0, xmm1),
        ["mpsadbw"] = a => a.mpsadbw(xmm0, xmm1, 5),
        ["phminposuw"] = a => a.phminposuw(xmm0, xmm1),
        ["pmaddubsw"] = a => a.pmaddubsw(xmm0, xmm1),
        ["pmulhrsw"] = a => a.pmulhrsw(xmm0, xmm1),
        ["crc32_r32_r8"] = a => Crc(a, () => a.crc32(eax, cl)),
        ["crc32_r64_r64"] = a => Crc(a, () => a.crc32(rax, rcx)),
        ["crc32_r32_r16"] = a => Crc(a, () => a.crc32(eax, cx)),
        ["pcmpistri_0c"] = a => Index(a, () => a.pcmpistri(xmm0, xmm1, 0x0c)),
        ["pcmpistri_00"] = a => Index(a, () => a.pcmpistri(xmm0, xmm1, 0x00)),
        ["pcmpistri_44"] = a => Index(a, () => a.pcmpistri(xmm0, xmm1, 0x44)),
        ["pcmpistri_18"] = a => Index(a, () => a.pcmpistri(xmm0, xmm1, 0x18)),
        ["pcmpistrm_3a"] = a => a.pcmpistrm(xmm0, xmm1, 0x3a),
        ["pcmpistrm_45"] = a => a.pcmpistrm(xmm0, xmm1, 0x45),
        ["pcmpestri_0d"] = a => Lengths(a, () => a.pcmpestri(xmm0, xmm1, 0x0d)),
        ["pcmpestri_32"] = a => Lengths(a, () => a.pcmpestri(xmm0, xmm1, 0x32)),
        ["pcmpestrm_48"] = a => Lengths(a, () => a.pcmpestrm(xmm0, xmm1, 0x48), index: false),
        ["pcmpestrm_2f"] = a => Lengths(a, () => a.pcmpestrm(xmm0, xmm1, 0x2f), index: false),
        ["pcmpestri64_1c"] = a => Lengths(a, () => a.pcmpestri64(xmm0, xmm1, 0x1c)),
        ["mmx_punpckhbw"] = a => Mmx(a, () => a.punpckhbw(mm0, mm1)),
        ["mmx_packsswb"] = a => Mmx(a, () => a.packsswb(mm0, mm1)),
        ["mmx_pshufw"] = a => Mmx(a, () => a.pshufw(mm0, mm1, 0x1e)),
        ["mmx_pshufb"] = a => Mmx(a, () => a.pshufb(mm0, mm1)),
        ["mmx_palignr"] = a => Mmx(a, () => a.palignr(mm0, mm1, 3)),
        ["mmx_phaddd"] = a => Mmx(a, () => a.phaddd(mm0, mm1)),
        ["mmx_pmaddwd"] = a => Mmx(a, () => a.pmaddwd(mm0, mm1)),
        ["mmx_psllq"] = a => Mmx(a, () => a.psllq(mm0, mm1)),
        ["mmx_psadbw"] = a => Mmx(a, () => a.psadbw(mm0, mm1)),
    };

    public static TheoryData<string> Names() => [.. Forms.Keys];

    // MM0 and MM1 from the low quadwords of XMM0 and XMM1, the result back to XMM0, then EMMS.
    private static void Mmx(Assembler a, Action op)
    {
        a.movdq2q(mm0, xmm0);
        a.movdq2q(mm1, xmm1);
        op();
        a.movq2dq(xmm0, mm0);
        a.emms();
    }

    private static void Index(Assembler a, Action op)
    {
        op();
        a.mov(rax, rcx);
    }

    // PCMPxSTRI writes ECX: move it to RAX for the comparison; explicit lengths in EAX and EDX from RAX.
    private static void Lengths(Assembler a, Action op, bool index = true)
    {
        a.mov(rdx, rax);
        a.sar(rdx, 32);
        a.movsxd(rax, eax);
        a.sar(rax, 27);
        a.sar(rdx, 27);
        op();
        if (index)
        {
            a.mov(rax, rcx);
        }
    }

    // The source in RCX, taken from XMM1 (the oracle stub loads only RAX and XMM0/XMM1).
    private static void Crc(Assembler a, Action op)
    {
        a.movq(rcx, xmm1);
        op();
    }

    private static Vector128<byte> SmallAlphabet(Vector128<byte> v)
    {
        Span<byte> b = stackalloc byte[16];
        v.CopyTo(b);
        for (int i = 0; i < 16; i++)
        {
            b[i] = b[i] % 17 == 0 ? (byte)0 : (byte)(0x61 + (b[i] % 4));
        }

        return Vector128.Create((ReadOnlySpan<byte>)b);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesHost(string name)
    {
        foreach (bool translate in (bool[])[false, true])
        {
            MatchesHostIn(name, translate);
        }
    }

    // Once through the interpreter, once through the translator (which keeps many of these as host instructions).
    private static void MatchesHostIn(string name, bool translate)
    {
        Action<Assembler> emit = Forms[name];
        using var host = new HostSimd(emit);
        using var m = new LongModeMachine(translate);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xffff);
        for (int i = 0; i < Cases; i++)
        {
            var input = new SimdCase
            {
                Mxcsr = 0x1f80,
                Xmm0 = SseIntegerTests.RandomVector(random),
                Xmm1 = SseIntegerTests.RandomVector(random),
                Rax = (ulong)random.NextInt64(),
                Flags = 0x202 | ((ulong)random.Next(0x100) & 0x8d5),
            };
            if (name.StartsWith("pcmp", StringComparison.Ordinal))
            {
                // Short strings over a small alphabet, so that matches, ranges and terminators occur.
                input.Xmm0 = SmallAlphabet(input.Xmm0);
                input.Xmm1 = SmallAlphabet(input.Xmm1);
            }

            if (name == "ptest" && random.Next(3) == 0)
            {
                input.Xmm1 = input.Xmm0 & input.Xmm1;
            }

            SimdCase expected = host.Run(input);
            m.Core.Xmm[0] = input.Xmm0;
            m.Core.Xmm[1] = input.Xmm1;
            m.Core.R[0] = input.Rax;
            m.Core.Rflags = input.Flags;
            m.Run(emit);
            string where = $"{name} case {i}{(translate ? " (translated)" : string.Empty)}";
            Assert.True(expected.Xmm0 == m.Core.Xmm[0], $"{where}: xmm0 {m.Core.Xmm[0]}, host {expected.Xmm0}");
            Assert.True(expected.Xmm1 == m.Core.Xmm[1], $"{where}: xmm1 {m.Core.Xmm[1]}, host {expected.Xmm1}");
            Assert.True(expected.Rax == m.Core.R[0], $"{where}: rax {m.Core.R[0]:x}, host {expected.Rax:x}");
            Assert.True((expected.Flags & 0x8d5) == (m.Core.Rflags & 0x8d5), $"{where}: flags {m.Core.Rflags:x}, host {expected.Flags:x}");
        }
    }

    [Fact]
    public void MaskedStoresWriteOnlySelectedBytes()
    {
        using var m = new LongModeMachine();
        m.Write(LongModeMachine.DataAddress, Enumerable.Repeat((byte)0xee, 16).ToArray());
        m.Core.R[7] = LongModeMachine.DataAddress;
        m.Core.Xmm[1] = Vector128.Create((byte)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        m.Core.Xmm[2] = Vector128.Create((byte)0x80, 0, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81);
        m.Run(a => a.maskmovdqu(xmm1, xmm2));
        byte[] expected = [0, 0xee, 2, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 15];
        Assert.Equal(expected, m.Read(LongModeMachine.DataAddress, 16));
    }
}
