using System.Runtime.Intrinsics.X86;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// The SSE and AVX instructions the translator keeps as host instructions: integer, bitwise, move,
/// shuffle, pack and insert/extract forms on XMM and YMM registers, whose result is a pure function
/// of their operands (no MXCSR rounding or exception flags, no implicit register), so the host's
/// own instruction computes exactly what the interpreter would. The VEX forms are the VEX
/// encodings of the same operations plus AVX2's broadcasts, cross-lane permutes and variable
/// shifts. The string compares (PCMPISTRI, PCMPESTRI) and PTEST also run as host instructions:
/// their implicit ECX and EAX/EDX go through the host's own registers and their flags are the
/// host's (see <see cref="WritesFlags"/>). Floating-point arithmetic and conversions (MXCSR), the
/// string compares with a mask result in an implicit XMM0, the blends with an implicit XMM0,
/// MASKMOVDQU, the masked moves, the gathers and the non-temporal stores stay with the interpreter.
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

    // The VEX encodings of the legacy forms above (VPXOR for PXOR, VMOVDQU for MOVDQU...), and
    // what only AVX and AVX2 have: broadcasts, 128-bit lane inserts, extracts and permutes, the
    // cross-lane permutes and dword blend, and the per-element variable shifts.
    private static readonly HashSet<Mnemonic> Vex = Native
        .Select(m => Enum.TryParse($"V{m}", ignoreCase: true, out Mnemonic v) ? v : Mnemonic.INVALID)
        .Where(v => v != Mnemonic.INVALID)
        .Concat(
        [
            Mnemonic.Vpbroadcastb, Mnemonic.Vpbroadcastw, Mnemonic.Vpbroadcastd, Mnemonic.Vpbroadcastq,
            Mnemonic.Vbroadcastss, Mnemonic.Vbroadcastsd, Mnemonic.Vbroadcasti128, Mnemonic.Vbroadcastf128,
            Mnemonic.Vinserti128, Mnemonic.Vinsertf128, Mnemonic.Vextracti128, Mnemonic.Vextractf128,
            Mnemonic.Vperm2i128, Mnemonic.Vperm2f128, Mnemonic.Vpermq, Mnemonic.Vpermd, Mnemonic.Vpermpd, Mnemonic.Vpermps,
            Mnemonic.Vpermilps, Mnemonic.Vpermilpd, Mnemonic.Vpblendd,
            Mnemonic.Vpsllvd, Mnemonic.Vpsllvq, Mnemonic.Vpsrlvd, Mnemonic.Vpsrlvq, Mnemonic.Vpsravd,
        ])
        .ToHashSet();

    // Forms that also write the arithmetic flags (and PCMPxSTRI ECX): Intel SDM Vol. 2B PTEST,
    // Vol. 2B 4.1 "Programming considerations for string and text processing instructions".
    private static readonly HashSet<Mnemonic> FlagWriters =
    [
        Mnemonic.Ptest, Mnemonic.Pcmpistri, Mnemonic.Pcmpestri, Mnemonic.Vptest, Mnemonic.Vpcmpistri, Mnemonic.Vpcmpestri,
    ];

    /// <summary>True when <paramref name="ins"/> runs as the host's instruction on XMM/YMM copies (see <see cref="Native"/>).</summary>
    public static bool IsNative(in Instruction ins)
    {
        bool known = ins.Encoding switch
        {
            EncodingKind.Legacy => Native.Contains(ins.Mnemonic) || FlagWriters.Contains(ins.Mnemonic),
            EncodingKind.VEX => Vex.Contains(ins.Mnemonic) || FlagWriters.Contains(ins.Mnemonic),
            _ => false,
        };
        if (!known || !HostFeatures.Has(ins.Code))
        {
            return false;
        }

        bool vector = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    Register r = ins.GetOpRegister(i);
                    if (r.IsXMM() || r.IsYMM())
                    {
                        vector = true;
                    }
                    else if (!r.IsGPR32() && !r.IsGPR64())
                    {
                        return false; // MMX registers belong to the x87 state; the interpreter keeps them.
                    }

                    break;
                case OpKind.Memory:
                    if (ins.IsVsib)
                    {
                        return false;
                    }

                    break;
                case OpKind.Immediate8:
                    break;
                default:
                    return false;
            }
        }

        return vector;
    }

    /// <summary>True for VZEROUPPER and VZEROALL, which the translator emits as stores of zeros to the state.</summary>
    public static bool IsZeroing(in Instruction ins) =>
        ins.Mnemonic is Mnemonic.Vzeroupper or Mnemonic.Vzeroall && Avx.IsSupported;

    /// <summary>True for the forms of <see cref="IsNative"/> that write the arithmetic flags.</summary>
    public static bool WritesFlags(Mnemonic m) => FlagWriters.Contains(m);

    /// <summary>False for PTEST and the string compares, whose first operand is a source they do not write.</summary>
    public static bool HasVectorDestination(Mnemonic m) => !FlagWriters.Contains(m);

    /// <summary>True for PCMPISTRI/PCMPESTRI (legacy and VEX): the index goes to ECX.</summary>
    public static bool WritesEcx(Mnemonic m) => m is Mnemonic.Pcmpistri or Mnemonic.Pcmpestri or Mnemonic.Vpcmpistri or Mnemonic.Vpcmpestri;

    /// <summary>True for PCMPESTRI (legacy and VEX): the string lengths come from EAX and EDX (RAX and RDX with REX.W).</summary>
    public static bool ReadsLengths(Mnemonic m) => m is Mnemonic.Pcmpestri or Mnemonic.Vpcmpestri;

    /// <summary>
    /// True when a 16-byte memory operand must be 16-byte aligned: every legacy-encoded SSE form
    /// except the unaligned moves raises #GP(0) otherwise (Intel SDM Vol. 1 11.6.8 and Vol. 2 "SIMD
    /// Floating-Point Exceptions"/"Protected Mode Exceptions" of each instruction).
    /// </summary>
    public static bool RequiresAlignment(in Instruction ins) =>
        ins.Encoding == EncodingKind.Legacy && ins.MemorySize.GetSize() == 16
        && ins.Mnemonic is not (Mnemonic.Movdqu or Mnemonic.Movups or Mnemonic.Movupd or Mnemonic.Lddqu
            or Mnemonic.Pcmpistri or Mnemonic.Pcmpestri);

    /// <summary>
    /// True when a VEX form requires its memory operand aligned to its size: only VMOVDQA, VMOVAPS
    /// and VMOVAPD (and the non-temporal forms, not translated); every other VEX form accepts any
    /// alignment (Intel SDM Vol. 2A 2.4, "Memory alignment", Table 2-4).
    /// </summary>
    public static bool RequiresVexAlignment(in Instruction ins) =>
        ins.Encoding == EncodingKind.VEX && ins.Mnemonic is Mnemonic.Vmovdqa or Mnemonic.Vmovaps or Mnemonic.Vmovapd;
}
