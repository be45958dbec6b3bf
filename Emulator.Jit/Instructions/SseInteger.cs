using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Iced.Intel;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Packed integer arithmetic, comparison, logic and shifts of MMX, SSE2, SSSE3 and SSE4.1, their
/// AVX and AVX2 (VEX.128 and VEX.256) forms and the AVX2 variable shifts (Intel SDM Vol. 1 9.4,
/// 11.4.3, 12.3, 12.10, 14.7; Vol. 2 PADDB...PXOR, VPSLLVD...VPSRAVD). The host's own SSE instructions
/// compute each element, so the semantics are the hardware's (saturation, shift counts above the
/// element width, the sign rules of PSIGN).
/// </summary>
internal static unsafe class SseInteger
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Paddb, Mnemonic.Vpaddb, &Packed<Paddb>);
        r.Add(Mnemonic.Paddw, Mnemonic.Vpaddw, &Packed<Paddw>);
        r.Add(Mnemonic.Paddd, Mnemonic.Vpaddd, &Packed<Paddd>);
        r.Add(Mnemonic.Paddq, Mnemonic.Vpaddq, &Packed<Paddq>);
        r.Add(Mnemonic.Psubb, Mnemonic.Vpsubb, &Packed<Psubb>);
        r.Add(Mnemonic.Psubw, Mnemonic.Vpsubw, &Packed<Psubw>);
        r.Add(Mnemonic.Psubd, Mnemonic.Vpsubd, &Packed<Psubd>);
        r.Add(Mnemonic.Psubq, Mnemonic.Vpsubq, &Packed<Psubq>);
        r.Add(Mnemonic.Paddsb, Mnemonic.Vpaddsb, &Packed<Paddsb>);
        r.Add(Mnemonic.Paddsw, Mnemonic.Vpaddsw, &Packed<Paddsw>);
        r.Add(Mnemonic.Paddusb, Mnemonic.Vpaddusb, &Packed<Paddusb>);
        r.Add(Mnemonic.Paddusw, Mnemonic.Vpaddusw, &Packed<Paddusw>);
        r.Add(Mnemonic.Psubsb, Mnemonic.Vpsubsb, &Packed<Psubsb>);
        r.Add(Mnemonic.Psubsw, Mnemonic.Vpsubsw, &Packed<Psubsw>);
        r.Add(Mnemonic.Psubusb, Mnemonic.Vpsubusb, &Packed<Psubusb>);
        r.Add(Mnemonic.Psubusw, Mnemonic.Vpsubusw, &Packed<Psubusw>);
        r.Add(Mnemonic.Pcmpeqb, Mnemonic.Vpcmpeqb, &Packed<Pcmpeqb>);
        r.Add(Mnemonic.Pcmpeqw, Mnemonic.Vpcmpeqw, &Packed<Pcmpeqw>);
        r.Add(Mnemonic.Pcmpeqd, Mnemonic.Vpcmpeqd, &Packed<Pcmpeqd>);
        r.Add(Mnemonic.Pcmpeqq, Mnemonic.Vpcmpeqq, &Packed<Pcmpeqq>);
        r.Add(Mnemonic.Pcmpgtb, Mnemonic.Vpcmpgtb, &Packed<Pcmpgtb>);
        r.Add(Mnemonic.Pcmpgtw, Mnemonic.Vpcmpgtw, &Packed<Pcmpgtw>);
        r.Add(Mnemonic.Pcmpgtd, Mnemonic.Vpcmpgtd, &Packed<Pcmpgtd>);
        r.Add(Mnemonic.Pcmpgtq, Mnemonic.Vpcmpgtq, &Packed<Pcmpgtq>);
        r.Add(Mnemonic.Pmullw, Mnemonic.Vpmullw, &Packed<Pmullw>);
        r.Add(Mnemonic.Pmulhw, Mnemonic.Vpmulhw, &Packed<Pmulhw>);
        r.Add(Mnemonic.Pmulhuw, Mnemonic.Vpmulhuw, &Packed<Pmulhuw>);
        r.Add(Mnemonic.Pmuludq, Mnemonic.Vpmuludq, &Packed<Pmuludq>);
        r.Add(Mnemonic.Pmuldq, Mnemonic.Vpmuldq, &Packed<Pmuldq>);
        r.Add(Mnemonic.Pmulld, Mnemonic.Vpmulld, &Packed<Pmulld>);
        r.Add(Mnemonic.Pmaddwd, Mnemonic.Vpmaddwd, &Packed<Pmaddwd>);
        r.Add(Mnemonic.Pmaddubsw, Mnemonic.Vpmaddubsw, &Packed<Pmaddubsw>);
        r.Add(Mnemonic.Pmulhrsw, Mnemonic.Vpmulhrsw, &Packed<Pmulhrsw>);
        r.Add(Mnemonic.Pavgb, Mnemonic.Vpavgb, &Packed<Pavgb>);
        r.Add(Mnemonic.Pavgw, Mnemonic.Vpavgw, &Packed<Pavgw>);
        r.Add(Mnemonic.Psadbw, Mnemonic.Vpsadbw, &Packed<Psadbw>);
        r.Add(Mnemonic.Pminub, Mnemonic.Vpminub, &Packed<Pminub>);
        r.Add(Mnemonic.Pmaxub, Mnemonic.Vpmaxub, &Packed<Pmaxub>);
        r.Add(Mnemonic.Pminsw, Mnemonic.Vpminsw, &Packed<Pminsw>);
        r.Add(Mnemonic.Pmaxsw, Mnemonic.Vpmaxsw, &Packed<Pmaxsw>);
        r.Add(Mnemonic.Pminsb, Mnemonic.Vpminsb, &Packed<Pminsb>);
        r.Add(Mnemonic.Pmaxsb, Mnemonic.Vpmaxsb, &Packed<Pmaxsb>);
        r.Add(Mnemonic.Pminuw, Mnemonic.Vpminuw, &Packed<Pminuw>);
        r.Add(Mnemonic.Pmaxuw, Mnemonic.Vpmaxuw, &Packed<Pmaxuw>);
        r.Add(Mnemonic.Pminsd, Mnemonic.Vpminsd, &Packed<Pminsd>);
        r.Add(Mnemonic.Pmaxsd, Mnemonic.Vpmaxsd, &Packed<Pmaxsd>);
        r.Add(Mnemonic.Pminud, Mnemonic.Vpminud, &Packed<Pminud>);
        r.Add(Mnemonic.Pmaxud, Mnemonic.Vpmaxud, &Packed<Pmaxud>);
        r.Add(Mnemonic.Pabsb, Mnemonic.Vpabsb, &Packed<Pabsb>);
        r.Add(Mnemonic.Pabsw, Mnemonic.Vpabsw, &Packed<Pabsw>);
        r.Add(Mnemonic.Pabsd, Mnemonic.Vpabsd, &Packed<Pabsd>);
        r.Add(Mnemonic.Psignb, Mnemonic.Vpsignb, &Packed<Psignb>);
        r.Add(Mnemonic.Psignw, Mnemonic.Vpsignw, &Packed<Psignw>);
        r.Add(Mnemonic.Psignd, Mnemonic.Vpsignd, &Packed<Psignd>);
        r.Add(Mnemonic.Pand, Mnemonic.Vpand, &Packed<And>);
        r.Add(Mnemonic.Pandn, Mnemonic.Vpandn, &Packed<AndNot>);
        r.Add(Mnemonic.Por, Mnemonic.Vpor, &Packed<Or>);
        r.Add(Mnemonic.Pxor, Mnemonic.Vpxor, &Packed<Xor>);
        r.Add(Mnemonic.Andps, Mnemonic.Vandps, &Packed<And>);
        r.Add(Mnemonic.Andpd, Mnemonic.Vandpd, &Packed<And>);
        r.Add(Mnemonic.Andnps, Mnemonic.Vandnps, &Packed<AndNot>);
        r.Add(Mnemonic.Andnpd, Mnemonic.Vandnpd, &Packed<AndNot>);
        r.Add(Mnemonic.Orps, Mnemonic.Vorps, &Packed<Or>);
        r.Add(Mnemonic.Orpd, Mnemonic.Vorpd, &Packed<Or>);
        r.Add(Mnemonic.Xorps, Mnemonic.Vxorps, &Packed<Xor>);
        r.Add(Mnemonic.Xorpd, Mnemonic.Vxorpd, &Packed<Xor>);
        r.Add(Mnemonic.Phaddw, Mnemonic.Vphaddw, &Packed<Phaddw>);
        r.Add(Mnemonic.Phaddd, Mnemonic.Vphaddd, &Packed<Phaddd>);
        r.Add(Mnemonic.Phaddsw, Mnemonic.Vphaddsw, &Packed<Phaddsw>);
        r.Add(Mnemonic.Phsubw, Mnemonic.Vphsubw, &Packed<Phsubw>);
        r.Add(Mnemonic.Phsubd, Mnemonic.Vphsubd, &Packed<Phsubd>);
        r.Add(Mnemonic.Phsubsw, Mnemonic.Vphsubsw, &Packed<Phsubsw>);
        r.Add(Mnemonic.Phminposuw, Mnemonic.Vphminposuw, &Packed<Phminposuw>);
        r.Add(Mnemonic.Mpsadbw, Mnemonic.Vmpsadbw, &PackedImm<Mpsadbw>);
        r.Add(Mnemonic.Psllw, Mnemonic.Vpsllw, &Shift<Psllw>);
        r.Add(Mnemonic.Pslld, Mnemonic.Vpslld, &Shift<Pslld>);
        r.Add(Mnemonic.Psllq, Mnemonic.Vpsllq, &Shift<Psllq>);
        r.Add(Mnemonic.Psrlw, Mnemonic.Vpsrlw, &Shift<Psrlw>);
        r.Add(Mnemonic.Psrld, Mnemonic.Vpsrld, &Shift<Psrld>);
        r.Add(Mnemonic.Psrlq, Mnemonic.Vpsrlq, &Shift<Psrlq>);
        r.Add(Mnemonic.Psraw, Mnemonic.Vpsraw, &Shift<Psraw>);
        r.Add(Mnemonic.Psrad, Mnemonic.Vpsrad, &Shift<Psrad>);
        r.Add(Mnemonic.Pslldq, Mnemonic.Vpslldq, &Shift<Pslldq>);
        r.Add(Mnemonic.Psrldq, Mnemonic.Vpsrldq, &Shift<Psrldq>);
        r.Add(Mnemonic.Vpsllvd, &Packed<Vpsllvd>);
        r.Add(Mnemonic.Vpsllvq, &Packed<Vpsllvq>);
        r.Add(Mnemonic.Vpsrlvd, &Packed<Vpsrlvd>);
        r.Add(Mnemonic.Vpsrlvq, &Packed<Vpsrlvq>);
        r.Add(Mnemonic.Vpsravd, &Packed<Vpsravd>);
    }

    private readonly struct Paddb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => a + b; }

    private readonly struct Paddw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt16() + b.AsUInt16()).AsByte(); }

    private readonly struct Paddd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt32() + b.AsUInt32()).AsByte(); }

    private readonly struct Paddq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt64() + b.AsUInt64()).AsByte(); }

    private readonly struct Psubb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => a - b; }

    private readonly struct Psubw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt16() - b.AsUInt16()).AsByte(); }

    private readonly struct Psubd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt32() - b.AsUInt32()).AsByte(); }

    private readonly struct Psubq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => (a.AsUInt64() - b.AsUInt64()).AsByte(); }

    private readonly struct Paddsb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.AddSaturate(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Paddsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.AddSaturate(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Paddusb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.AddSaturate(a, b); }

    private readonly struct Paddusw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.AddSaturate(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Psubsb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.SubtractSaturate(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Psubsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.SubtractSaturate(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Psubusb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.SubtractSaturate(a, b); }

    private readonly struct Psubusw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.SubtractSaturate(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pcmpeqb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Equals(a, b); }

    private readonly struct Pcmpeqw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Equals(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pcmpeqd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Equals(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Pcmpeqq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Equals(a.AsUInt64(), b.AsUInt64()).AsByte(); }

    private readonly struct Pcmpgtb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.GreaterThan(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Pcmpgtw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.GreaterThan(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pcmpgtd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.GreaterThan(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct Pcmpgtq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.GreaterThan(a.AsInt64(), b.AsInt64()).AsByte(); }

    private readonly struct Pmullw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.MultiplyLow(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pmulhw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.MultiplyHigh(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pmulhuw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.MultiplyHigh(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pmuludq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.Multiply(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Pmuldq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse41.Multiply(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct Pmulld : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse41.MultiplyLow(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct Pmaddwd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pmaddubsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.MultiplyAddAdjacent(a, b.AsSByte()).AsByte(); }

    private readonly struct Pmulhrsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.MultiplyHighRoundScale(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pavgb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.Average(a, b); }

    private readonly struct Pavgw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.Average(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Psadbw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.SumAbsoluteDifferences(a, b).AsByte(); }

    private readonly struct Pminub : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a, b); }

    private readonly struct Pmaxub : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a, b); }

    private readonly struct Pminsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pmaxsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Pminsb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Pmaxsb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Pminuw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pmaxuw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pminsd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct Pmaxsd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct Pminud : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Min(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Pmaxud : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    // PABSx take only the source: dest = |source|.
    private readonly struct Pabsb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Abs(b.AsSByte()); }

    private readonly struct Pabsw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Abs(b.AsInt16()).AsByte(); }

    private readonly struct Pabsd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Abs(b.AsInt32()).AsByte(); }

    private readonly struct Psignb : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Sign(a.AsSByte(), b.AsSByte()).AsByte(); }

    private readonly struct Psignw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Sign(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Psignd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Sign(a.AsInt32(), b.AsInt32()).AsByte(); }

    private readonly struct And : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => a & b; }

    // PANDN / ANDNPS: dest = NOT dest AND source.
    private readonly struct AndNot : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => ~a & b; }

    private readonly struct Or : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => a | b; }

    private readonly struct Xor : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => a ^ b; }

    // The count is the whole low quadword: counts above the element width clear it (or fill with the sign).
    private readonly struct Psllw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftLeftLogical(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Pslld : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftLeftLogical(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Psllq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftLeftLogical(a.AsUInt64(), b.AsUInt64()).AsByte(); }

    private readonly struct Psrlw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftRightLogical(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Psrld : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftRightLogical(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Psrlq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftRightLogical(a.AsUInt64(), b.AsUInt64()).AsByte(); }

    private readonly struct Psraw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftRightArithmetic(a.AsInt16(), b.AsInt16()).AsByte(); }

    private readonly struct Psrad : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.ShiftRightArithmetic(a.AsInt32(), b.AsInt32()).AsByte(); }

    // PSLLDQ / PSRLDQ shift the whole register by bytes; counts above 15 clear it (Intel SDM Vol. 2B PSLLDQ).
    private readonly struct Pslldq : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            ulong n = b.AsUInt64().ToScalar();
            return n > 15 ? Vector128<byte>.Zero : FromUInt128(ToUInt128(a) << (int)(n * 8));
        }
    }

    private readonly struct Psrldq : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            ulong n = b.AsUInt64().ToScalar();
            return n > 15 ? Vector128<byte>.Zero : FromUInt128(ToUInt128(a) >> (int)(n * 8));
        }
    }

    // The horizontal operations pair adjacent elements of the destination (low results) and of the
    // source (high results); the MMX forms pair within 64 bits, which is the 128-bit operation on one
    // register holding destination and source.
    private readonly struct Phaddw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalAdd(a.AsInt16(), b.AsInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    private readonly struct Phaddd : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalAdd(a.AsInt32(), b.AsInt32()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    private readonly struct Phaddsw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalAddSaturate(a.AsInt16(), b.AsInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    private readonly struct Phsubw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalSubtract(a.AsInt16(), b.AsInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    private readonly struct Phsubd : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalSubtract(a.AsInt32(), b.AsInt32()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    private readonly struct Phsubsw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.HorizontalSubtractSaturate(a.AsInt16(), b.AsInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => SimdForms.Low(Apply(Vector128.Create(a, b).AsByte(), Vector128<byte>.Zero));
    }

    /// <summary>PHMINPOSUW (SSE4.1): the minimum unsigned word of the source and its index; the rest cleared.</summary>
    private readonly struct Phminposuw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse41.MinHorizontal(b.AsUInt16()).AsByte(); }

    /// <summary>MPSADBW (SSE4.1): eight sums of absolute differences of sliding 4-byte groups selected by imm8[2:0]; the upper lane of VMPSADBW ymm by imm8[5:3].</summary>
    private readonly struct Mpsadbw : IVectorImmOp
    {
        public static byte LaneImmediate(byte imm, int lane) => (byte)(imm >> (3 * lane));

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            int aOffset = ((imm >> 2) & 1) * 4, bOffset = (imm & 3) * 4;
            Vector128<ushort> r = Vector128<ushort>.Zero;
            for (int i = 0; i < 8; i++)
            {
                int sum = 0;
                for (int j = 0; j < 4; j++)
                {
                    sum += Math.Abs(a[aOffset + i + j] - b[bOffset + j]);
                }

                r = r.WithElement(i, (ushort)sum);
            }

            return r.AsByte();
        }
    }

    // AVX2 VPSLLVD/Q, VPSRLVD/Q, VPSRAVD: each element shifted by the count in the same element of
    // the second source; a count above the element width clears it (fills it with the sign for VPSRAVD).
    private readonly struct Vpsllvd : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<uint> x = a.AsUInt32(), n = b.AsUInt32();
            return Vector128.Create(Sll(x[0], n[0]), Sll(x[1], n[1]), Sll(x[2], n[2]), Sll(x[3], n[3])).AsByte();
        }

        private static uint Sll(uint v, uint n) => n > 31 ? 0 : v << (int)n;
    }

    private readonly struct Vpsllvq : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<ulong> x = a.AsUInt64(), n = b.AsUInt64();
            return Vector128.Create(n[0] > 63 ? 0 : x[0] << (int)n[0], n[1] > 63 ? 0 : x[1] << (int)n[1]).AsByte();
        }
    }

    private readonly struct Vpsrlvd : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<uint> x = a.AsUInt32(), n = b.AsUInt32();
            return Vector128.Create(Srl(x[0], n[0]), Srl(x[1], n[1]), Srl(x[2], n[2]), Srl(x[3], n[3])).AsByte();
        }

        private static uint Srl(uint v, uint n) => n > 31 ? 0 : v >> (int)n;
    }

    private readonly struct Vpsrlvq : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<ulong> x = a.AsUInt64(), n = b.AsUInt64();
            return Vector128.Create(n[0] > 63 ? 0 : x[0] >> (int)n[0], n[1] > 63 ? 0 : x[1] >> (int)n[1]).AsByte();
        }
    }

    private readonly struct Vpsravd : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<int> x = a.AsInt32();
            Vector128<uint> n = b.AsUInt32();
            return Vector128.Create(Sra(x[0], n[0]), Sra(x[1], n[1]), Sra(x[2], n[2]), Sra(x[3], n[3])).AsByte();
        }

        private static int Sra(int v, uint n) => v >> (int)Math.Min(n, 31);
    }

    public static UInt128 ToUInt128(Vector128<byte> v) => new(v.AsUInt64().GetElement(1), v.AsUInt64().GetElement(0));

    public static Vector128<byte> FromUInt128(UInt128 v) => Vector128.Create((ulong)v, (ulong)(v >> 64)).AsByte();
}
