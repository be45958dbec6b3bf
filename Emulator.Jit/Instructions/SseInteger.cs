using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Iced.Intel;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Packed integer arithmetic, comparison, logic and shifts of MMX, SSE2, SSSE3 and SSE4.1
/// (Intel SDM Vol. 1 9.4, 11.4.3, 12.3, 12.10; Vol. 2 PADDB...PXOR). The host's own SSE instructions
/// compute each element, so the semantics are the hardware's (saturation, shift counts above the
/// element width, the sign rules of PSIGN).
/// </summary>
internal static unsafe class SseInteger
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Paddb, &Packed<Paddb>);
        r.Add(Mnemonic.Paddw, &Packed<Paddw>);
        r.Add(Mnemonic.Paddd, &Packed<Paddd>);
        r.Add(Mnemonic.Paddq, &Packed<Paddq>);
        r.Add(Mnemonic.Psubb, &Packed<Psubb>);
        r.Add(Mnemonic.Psubw, &Packed<Psubw>);
        r.Add(Mnemonic.Psubd, &Packed<Psubd>);
        r.Add(Mnemonic.Psubq, &Packed<Psubq>);
        r.Add(Mnemonic.Paddsb, &Packed<Paddsb>);
        r.Add(Mnemonic.Paddsw, &Packed<Paddsw>);
        r.Add(Mnemonic.Paddusb, &Packed<Paddusb>);
        r.Add(Mnemonic.Paddusw, &Packed<Paddusw>);
        r.Add(Mnemonic.Psubsb, &Packed<Psubsb>);
        r.Add(Mnemonic.Psubsw, &Packed<Psubsw>);
        r.Add(Mnemonic.Psubusb, &Packed<Psubusb>);
        r.Add(Mnemonic.Psubusw, &Packed<Psubusw>);
        r.Add(Mnemonic.Pcmpeqb, &Packed<Pcmpeqb>);
        r.Add(Mnemonic.Pcmpeqw, &Packed<Pcmpeqw>);
        r.Add(Mnemonic.Pcmpeqd, &Packed<Pcmpeqd>);
        r.Add(Mnemonic.Pcmpeqq, &Packed<Pcmpeqq>);
        r.Add(Mnemonic.Pcmpgtb, &Packed<Pcmpgtb>);
        r.Add(Mnemonic.Pcmpgtw, &Packed<Pcmpgtw>);
        r.Add(Mnemonic.Pcmpgtd, &Packed<Pcmpgtd>);
        r.Add(Mnemonic.Pcmpgtq, &Packed<Pcmpgtq>);
        r.Add(Mnemonic.Pmullw, &Packed<Pmullw>);
        r.Add(Mnemonic.Pmulhw, &Packed<Pmulhw>);
        r.Add(Mnemonic.Pmulhuw, &Packed<Pmulhuw>);
        r.Add(Mnemonic.Pmuludq, &Packed<Pmuludq>);
        r.Add(Mnemonic.Pmuldq, &Packed<Pmuldq>);
        r.Add(Mnemonic.Pmulld, &Packed<Pmulld>);
        r.Add(Mnemonic.Pmaddwd, &Packed<Pmaddwd>);
        r.Add(Mnemonic.Pmaddubsw, &Packed<Pmaddubsw>);
        r.Add(Mnemonic.Pmulhrsw, &Packed<Pmulhrsw>);
        r.Add(Mnemonic.Pavgb, &Packed<Pavgb>);
        r.Add(Mnemonic.Pavgw, &Packed<Pavgw>);
        r.Add(Mnemonic.Psadbw, &Packed<Psadbw>);
        r.Add(Mnemonic.Pminub, &Packed<Pminub>);
        r.Add(Mnemonic.Pmaxub, &Packed<Pmaxub>);
        r.Add(Mnemonic.Pminsw, &Packed<Pminsw>);
        r.Add(Mnemonic.Pmaxsw, &Packed<Pmaxsw>);
        r.Add(Mnemonic.Pminsb, &Packed<Pminsb>);
        r.Add(Mnemonic.Pmaxsb, &Packed<Pmaxsb>);
        r.Add(Mnemonic.Pminuw, &Packed<Pminuw>);
        r.Add(Mnemonic.Pmaxuw, &Packed<Pmaxuw>);
        r.Add(Mnemonic.Pminsd, &Packed<Pminsd>);
        r.Add(Mnemonic.Pmaxsd, &Packed<Pmaxsd>);
        r.Add(Mnemonic.Pminud, &Packed<Pminud>);
        r.Add(Mnemonic.Pmaxud, &Packed<Pmaxud>);
        r.Add(Mnemonic.Pabsb, &Packed<Pabsb>);
        r.Add(Mnemonic.Pabsw, &Packed<Pabsw>);
        r.Add(Mnemonic.Pabsd, &Packed<Pabsd>);
        r.Add(Mnemonic.Psignb, &Packed<Psignb>);
        r.Add(Mnemonic.Psignw, &Packed<Psignw>);
        r.Add(Mnemonic.Psignd, &Packed<Psignd>);
        r.Add(Mnemonic.Pand, &Packed<And>);
        r.Add(Mnemonic.Pandn, &Packed<AndNot>);
        r.Add(Mnemonic.Por, &Packed<Or>);
        r.Add(Mnemonic.Pxor, &Packed<Xor>);
        r.Add(Mnemonic.Andps, &Packed<And>);
        r.Add(Mnemonic.Andpd, &Packed<And>);
        r.Add(Mnemonic.Andnps, &Packed<AndNot>);
        r.Add(Mnemonic.Andnpd, &Packed<AndNot>);
        r.Add(Mnemonic.Orps, &Packed<Or>);
        r.Add(Mnemonic.Orpd, &Packed<Or>);
        r.Add(Mnemonic.Xorps, &Packed<Xor>);
        r.Add(Mnemonic.Xorpd, &Packed<Xor>);
        r.Add(Mnemonic.Phaddw, &Packed<Phaddw>);
        r.Add(Mnemonic.Phaddd, &Packed<Phaddd>);
        r.Add(Mnemonic.Phaddsw, &Packed<Phaddsw>);
        r.Add(Mnemonic.Phsubw, &Packed<Phsubw>);
        r.Add(Mnemonic.Phsubd, &Packed<Phsubd>);
        r.Add(Mnemonic.Phsubsw, &Packed<Phsubsw>);
        r.Add(Mnemonic.Phminposuw, &Packed<Phminposuw>);
        r.Add(Mnemonic.Mpsadbw, &PackedImm<Mpsadbw>);
        r.Add(Mnemonic.Psllw, &Shift<Psllw>);
        r.Add(Mnemonic.Pslld, &Shift<Pslld>);
        r.Add(Mnemonic.Psllq, &Shift<Psllq>);
        r.Add(Mnemonic.Psrlw, &Shift<Psrlw>);
        r.Add(Mnemonic.Psrld, &Shift<Psrld>);
        r.Add(Mnemonic.Psrlq, &Shift<Psrlq>);
        r.Add(Mnemonic.Psraw, &Shift<Psraw>);
        r.Add(Mnemonic.Psrad, &Shift<Psrad>);
        r.Add(Mnemonic.Pslldq, &Shift<Pslldq>);
        r.Add(Mnemonic.Psrldq, &Shift<Psrldq>);
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

    /// <summary>MPSADBW (SSE4.1): eight sums of absolute differences of sliding 4-byte groups selected by imm8[2:0].</summary>
    private readonly struct Mpsadbw : IVectorImmOp
    {
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

    public static UInt128 ToUInt128(Vector128<byte> v) => new(v.AsUInt64().GetElement(1), v.AsUInt64().GetElement(0));

    public static Vector128<byte> FromUInt128(UInt128 v) => Vector128.Create((ulong)v, (ulong)(v >> 64)).AsByte();
}
