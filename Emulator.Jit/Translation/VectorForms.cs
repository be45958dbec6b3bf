using System.Runtime.Intrinsics.X86;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// The SSE instructions the translator keeps as host instructions: integer, bitwise, move, shuffle,
/// pack and insert/extract forms on XMM registers, whose result is a pure function of their operands
/// (no MXCSR rounding or exception flags, no arithmetic flags, no implicit register), so the host's
/// own instruction computes exactly what the interpreter would. Floating-point arithmetic and
/// conversions (MXCSR), PTEST and the string compares (flags, implicit ECX/XMM0), the blends with an
/// implicit XMM0, MASKMOVDQU and the non-temporal stores stay with the interpreter.
/// </summary>
internal static class VectorForms
{
    private static readonly HashSet<Mnemonic> Native =
    [
        Mnemonic.Movdqa, Mnemonic.Movdqu, Mnemonic.Movaps, Mnemonic.Movups, Mnemonic.Movapd, Mnemonic.Movupd, Mnemonic.Lddqu,
        Mnemonic.Movd, Mnemonic.Movq, Mnemonic.Movss, Mnemonic.Movsd, Mnemonic.Movlps, Mnemonic.Movhps, Mnemonic.Movlpd,
        Mnemonic.Movhpd, Mnemonic.Movhlps, Mnemonic.Movlhps,
        Mnemonic.Pxor, Mnemonic.Por, Mnemonic.Pand, Mnemonic.Pandn, Mnemonic.Xorps, Mnemonic.Xorpd, Mnemonic.Andps,
        Mnemonic.Andpd, Mnemonic.Andnps, Mnemonic.Andnpd, Mnemonic.Orps, Mnemonic.Orpd,
        Mnemonic.Pcmpeqb, Mnemonic.Pcmpeqw, Mnemonic.Pcmpeqd, Mnemonic.Pcmpeqq, Mnemonic.Pcmpgtb, Mnemonic.Pcmpgtw,
        Mnemonic.Pcmpgtd, Mnemonic.Pcmpgtq,
        Mnemonic.Paddb, Mnemonic.Paddw, Mnemonic.Paddd, Mnemonic.Paddq, Mnemonic.Psubb, Mnemonic.Psubw, Mnemonic.Psubd,
        Mnemonic.Psubq, Mnemonic.Paddusb, Mnemonic.Paddusw, Mnemonic.Psubusb, Mnemonic.Psubusw, Mnemonic.Paddsb,
        Mnemonic.Paddsw, Mnemonic.Psubsb, Mnemonic.Psubsw,
        Mnemonic.Pminub, Mnemonic.Pmaxub, Mnemonic.Pminsw, Mnemonic.Pmaxsw, Mnemonic.Pminsb, Mnemonic.Pmaxsb, Mnemonic.Pminuw,
        Mnemonic.Pmaxuw, Mnemonic.Pminud, Mnemonic.Pmaxud, Mnemonic.Pminsd, Mnemonic.Pmaxsd,
        Mnemonic.Pavgb, Mnemonic.Pavgw, Mnemonic.Pmullw, Mnemonic.Pmulhw, Mnemonic.Pmulhuw, Mnemonic.Pmuludq, Mnemonic.Pmulld,
        Mnemonic.Pmuldq, Mnemonic.Pmaddwd, Mnemonic.Pmaddubsw, Mnemonic.Pmulhrsw, Mnemonic.Psadbw, Mnemonic.Pabsb,
        Mnemonic.Pabsw, Mnemonic.Pabsd,
        Mnemonic.Punpcklbw, Mnemonic.Punpcklwd, Mnemonic.Punpckldq, Mnemonic.Punpcklqdq, Mnemonic.Punpckhbw,
        Mnemonic.Punpckhwd, Mnemonic.Punpckhdq, Mnemonic.Punpckhqdq, Mnemonic.Packsswb, Mnemonic.Packssdw,
        Mnemonic.Packuswb, Mnemonic.Packusdw,
        Mnemonic.Pshufd, Mnemonic.Pshuflw, Mnemonic.Pshufhw, Mnemonic.Pshufb, Mnemonic.Palignr, Mnemonic.Pslldq,
        Mnemonic.Psrldq, Mnemonic.Psllw, Mnemonic.Pslld, Mnemonic.Psllq, Mnemonic.Psrlw, Mnemonic.Psrld, Mnemonic.Psrlq,
        Mnemonic.Psraw, Mnemonic.Psrad,
        Mnemonic.Pmovmskb, Mnemonic.Movmskps, Mnemonic.Movmskpd, Mnemonic.Pextrb, Mnemonic.Pextrw, Mnemonic.Pextrd,
        Mnemonic.Pextrq, Mnemonic.Pinsrb, Mnemonic.Pinsrw, Mnemonic.Pinsrd, Mnemonic.Pinsrq,
        Mnemonic.Shufps, Mnemonic.Shufpd, Mnemonic.Unpcklps, Mnemonic.Unpcklpd, Mnemonic.Unpckhps, Mnemonic.Unpckhpd,
        Mnemonic.Pblendw, Mnemonic.Blendps, Mnemonic.Blendpd,
        Mnemonic.Pmovzxbw, Mnemonic.Pmovzxbd, Mnemonic.Pmovzxbq, Mnemonic.Pmovzxwd, Mnemonic.Pmovzxwq, Mnemonic.Pmovzxdq,
        Mnemonic.Pmovsxbw, Mnemonic.Pmovsxbd, Mnemonic.Pmovsxbq, Mnemonic.Pmovsxwd, Mnemonic.Pmovsxwq, Mnemonic.Pmovsxdq,
    ];

    /// <summary>True when <paramref name="ins"/> runs as the host's instruction on XMM copies (see <see cref="Native"/>).</summary>
    public static bool IsNative(in Instruction ins)
    {
        if (ins.Encoding != EncodingKind.Legacy || !Native.Contains(ins.Mnemonic) || !HostHas(ins))
        {
            return false;
        }

        bool xmm = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    Register r = ins.GetOpRegister(i);
                    if (r.IsXMM())
                    {
                        xmm = true;
                    }
                    else if (!r.IsGPR32() && !r.IsGPR64())
                    {
                        return false; // MMX registers belong to the x87 state; the interpreter keeps them.
                    }

                    break;
                case OpKind.Memory or OpKind.Immediate8:
                    break;
                default:
                    return false;
            }
        }

        return xmm;
    }

    /// <summary>
    /// True when a 16-byte memory operand must be 16-byte aligned: every legacy-encoded SSE form
    /// except the unaligned moves raises #GP(0) otherwise (Intel SDM Vol. 1 11.6.8 and Vol. 2 "SIMD
    /// Floating-Point Exceptions"/"Protected Mode Exceptions" of each instruction).
    /// </summary>
    public static bool RequiresAlignment(in Instruction ins) =>
        ins.MemorySize.GetSize() == 16 && ins.Mnemonic is not (Mnemonic.Movdqu or Mnemonic.Movups or Mnemonic.Movupd or Mnemonic.Lddqu);

    // The host must have the instruction's extension (the guest's CPU model offers SSE to SSE4.2).
    private static bool HostHas(in Instruction ins)
    {
        foreach (CpuidFeature f in ins.Code.CpuidFeatures())
        {
            bool has = f switch
            {
                CpuidFeature.SSE or CpuidFeature.SSE2 => true,
                CpuidFeature.SSE3 => Sse3.IsSupported,
                CpuidFeature.SSSE3 => Ssse3.IsSupported,
                CpuidFeature.SSE4_1 => Sse41.IsSupported,
                CpuidFeature.SSE4_2 => Sse42.IsSupported,
                _ => false,
            };
            if (!has)
            {
                return false;
            }
        }

        return true;
    }
}
