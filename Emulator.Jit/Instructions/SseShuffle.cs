using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Element rearrangement of MMX, SSE, SSE2, SSSE3 and SSE4.1: shuffles, unpacks, packs with
/// saturation, byte alignment, blends, sign and zero extension, and PTEST (Intel SDM Vol. 2
/// PSHUFD...PTEST). Operations on whole registers use the host's instructions where the immediate
/// is not needed at compile time, and index arithmetic otherwise.
/// </summary>
internal static unsafe class SseShuffle
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Pshufd, &PackedImm<Pshufd>);
        r.Add(Mnemonic.Pshuflw, &PackedImm<Pshuflw>);
        r.Add(Mnemonic.Pshufhw, &PackedImm<Pshufhw>);
        r.Add(Mnemonic.Pshufw, &PackedImm<Pshufw>);
        r.Add(Mnemonic.Shufps, &PackedImm<Shufps>);
        r.Add(Mnemonic.Shufpd, &PackedImm<Shufpd>);
        r.Add(Mnemonic.Palignr, &PackedImm<Palignr>);
        r.Add(Mnemonic.Pblendw, &PackedImm<Pblendw>);
        r.Add(Mnemonic.Blendps, &PackedImm<Blendps>);
        r.Add(Mnemonic.Blendpd, &PackedImm<Blendpd>);
        r.Add(Mnemonic.Insertps, &Insertps);
        r.Add(Mnemonic.Unpcklps, &Packed<Punpckldq>);
        r.Add(Mnemonic.Unpckhps, &Packed<Punpckhdq>);
        r.Add(Mnemonic.Unpcklpd, &Packed<Punpcklqdq>);
        r.Add(Mnemonic.Unpckhpd, &Packed<Punpckhqdq>);
        r.Add(Mnemonic.Punpcklbw, &Packed<Punpcklbw>);
        r.Add(Mnemonic.Punpcklwd, &Packed<Punpcklwd>);
        r.Add(Mnemonic.Punpckldq, &Packed<Punpckldq>);
        r.Add(Mnemonic.Punpcklqdq, &Packed<Punpcklqdq>);
        r.Add(Mnemonic.Punpckhbw, &Packed<Punpckhbw>);
        r.Add(Mnemonic.Punpckhwd, &Packed<Punpckhwd>);
        r.Add(Mnemonic.Punpckhdq, &Packed<Punpckhdq>);
        r.Add(Mnemonic.Punpckhqdq, &Packed<Punpckhqdq>);
        r.Add(Mnemonic.Packsswb, &Packed<Packsswb>);
        r.Add(Mnemonic.Packssdw, &Packed<Packssdw>);
        r.Add(Mnemonic.Packuswb, &Packed<Packuswb>);
        r.Add(Mnemonic.Packusdw, &Packed<Packusdw>);
        r.Add(Mnemonic.Pshufb, &Packed<Pshufb>);
        r.Add(Mnemonic.Pblendvb, &VariableBlend);
        r.Add(Mnemonic.Blendvps, &VariableBlend);
        r.Add(Mnemonic.Blendvpd, &VariableBlend);
        r.Add(Mnemonic.Ptest, &Ptest);
        foreach (Mnemonic m in new[] { Mnemonic.Pmovzxbw, Mnemonic.Pmovzxbd, Mnemonic.Pmovzxbq, Mnemonic.Pmovzxwd, Mnemonic.Pmovzxwq, Mnemonic.Pmovzxdq, Mnemonic.Pmovsxbw, Mnemonic.Pmovsxbd, Mnemonic.Pmovsxbq, Mnemonic.Pmovsxwd, Mnemonic.Pmovsxwq, Mnemonic.Pmovsxdq })
        {
            r.Add(m, &Extend);
        }
    }

    private static Vector128<byte> Select32(Vector128<byte> v, int imm) =>
        Vector128.Shuffle(v.AsUInt32(), Vector128.Create((uint)imm & 3, (uint)(imm >> 2) & 3, (uint)(imm >> 4) & 3, (uint)(imm >> 6) & 3)).AsByte();

    private static Vector128<ushort> Words(int imm, ushort offset) =>
        Vector128.Create((ushort)(offset + (imm & 3)), (ushort)(offset + ((imm >> 2) & 3)), (ushort)(offset + ((imm >> 4) & 3)), (ushort)(offset + ((imm >> 6) & 3)), 0, 0, 0, 0);

    private readonly struct Pshufd : IVectorImmOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) => Select32(b, imm); }

    private readonly struct Pshuflw : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<ushort> low = Vector128.Shuffle(b.AsUInt16(), Words(imm, 0));
            return Vector128.Create(low.AsUInt64()[0], b.AsUInt64()[1]).AsByte();
        }
    }

    private readonly struct Pshufhw : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<ushort> high = Vector128.Shuffle(b.AsUInt16(), Words(imm, 4));
            return Vector128.Create(b.AsUInt64()[0], high.AsUInt64()[0]).AsByte();
        }
    }

    /// <summary>PSHUFW mm, mm/m64, imm8 (MMX): words of the source.</summary>
    private readonly struct Pshufw : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) => Vector128.Shuffle(b.AsUInt16(), Words(imm, 0)).AsByte();
    }

    /// <summary>SHUFPS: the two low results from the destination, the two high ones from the source.</summary>
    private readonly struct Shufps : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<uint> x = Select32(a, imm).AsUInt32(), y = Select32(b, imm).AsUInt32();
            return Vector128.Create(x[0], x[1], y[2], y[3]).AsByte();
        }
    }

    private readonly struct Shufpd : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) =>
            Vector128.Create(a.AsUInt64()[imm & 1], b.AsUInt64()[(imm >> 1) & 1]).AsByte();
    }

    /// <summary>PALIGNR: bytes imm8.. of source:destination (source low), 32 bytes wide for XMM and 16 for MMX.</summary>
    private readonly struct Palignr : IVectorImmOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            if (imm >= 32)
            {
                return Vector128<byte>.Zero;
            }

            UInt128 low = SseInteger.ToUInt128(b), high = SseInteger.ToUInt128(a);
            int shift = imm * 8;
            UInt128 r = imm >= 16 ? high >> (shift - 128) : shift == 0 ? low : (low >> shift) | (high << (128 - shift));
            return SseInteger.FromUInt128(r);
        }

        public static ulong ApplyMmx(ulong a, ulong b, byte imm)
        {
            UInt128 both = ((UInt128)a << 64) | b;
            return imm >= 16 ? 0 : (ulong)(both >> (imm * 8));
        }
    }

    private readonly struct Pblendw : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<ushort> mask = Vector128.Create((ushort)1, 2, 4, 8, 16, 32, 64, 128) & Vector128.Create((ushort)imm);
            return Vector128.ConditionalSelect(Vector128.Equals(mask, Vector128<ushort>.Zero), a.AsUInt16(), b.AsUInt16()).AsByte();
        }
    }

    private readonly struct Blendps : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<uint> mask = Vector128.Create(1u, 2, 4, 8) & Vector128.Create((uint)imm);
            return Vector128.ConditionalSelect(Vector128.Equals(mask, Vector128<uint>.Zero), a.AsUInt32(), b.AsUInt32()).AsByte();
        }
    }

    private readonly struct Blendpd : IVectorImmOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) =>
            Vector128.Create((imm & 1) != 0 ? b.AsUInt64()[0] : a.AsUInt64()[0], (imm & 2) != 0 ? b.AsUInt64()[1] : a.AsUInt64()[1]).AsByte();
    }

    /// <summary>
    /// INSERTPS xmm, xmm/m32, imm8: source element imm8[7:6] (a memory source is one single) into
    /// destination element imm8[5:4], then the elements set in imm8[3:0] cleared.
    /// </summary>
    private static void Insertps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        byte imm = ins.Immediate8;
        uint value = ins.GetOpKind(1) == OpKind.Memory
            ? (uint)cpu.ReadXmmLow(ins, 1, 4)
            : cpu.XmmReg(ins.Op1Register).AsUInt32()[(imm >> 6) & 3];
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<uint> r = d.AsUInt32().WithElement((imm >> 4) & 3, value);
        Vector128<uint> keep = Vector128.Equals(Vector128.Create(1u, 2, 4, 8) & Vector128.Create((uint)imm), Vector128<uint>.Zero);
        d = (r & keep).AsByte();
    }

    private readonly struct Punpcklbw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a, b); }

    private readonly struct Punpcklwd : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a.AsUInt16(), b.AsUInt16()).AsByte(); }

    private readonly struct Punpckldq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a.AsUInt32(), b.AsUInt32()).AsByte(); }

    private readonly struct Punpcklqdq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a.AsUInt64(), b.AsUInt64()).AsByte(); }

    // The MMX high unpacks interleave the high halves of 64-bit registers: the low unpack of the shifted values.
    private readonly struct Punpckhbw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a, b);

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Sse2.UnpackLow(V(a >> 32), V(b >> 32)));
    }

    private readonly struct Punpckhwd : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a.AsUInt16(), b.AsUInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Sse2.UnpackLow(V(a >> 32).AsUInt16(), V(b >> 32).AsUInt16()).AsByte());
    }

    private readonly struct Punpckhdq : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a.AsUInt32(), b.AsUInt32()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => (a >> 32) | (b & 0xffff_ffff_0000_0000);
    }

    private readonly struct Punpckhqdq : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a.AsUInt64(), b.AsUInt64()).AsByte(); }

    // The MMX packs saturate the destination's elements into the low half and the source's into the high half:
    // the 128-bit pack of one register holding both.
    private readonly struct Packsswb : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.PackSignedSaturate(a.AsInt16(), b.AsInt16()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Apply(Both(a, b), Both(a, b)));
    }

    private readonly struct Packssdw : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.PackSignedSaturate(a.AsInt32(), b.AsInt32()).AsByte();

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Apply(Both(a, b), Both(a, b)));
    }

    private readonly struct Packuswb : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse2.PackUnsignedSaturate(a.AsInt16(), b.AsInt16());

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Apply(Both(a, b), Both(a, b)));
    }

    private readonly struct Packusdw : IVectorOp { public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Sse41.PackUnsignedSaturate(a.AsInt32(), b.AsInt32()).AsByte(); }

    private static Vector128<byte> Both(ulong low, ulong high) => Vector128.Create(low, high).AsByte();

    /// <summary>PSHUFB: index bit 7 clears the byte; the MMX form uses index bits 0-2 (Intel SDM Vol. 2B PSHUFB).</summary>
    private readonly struct Pshufb : IVectorOp
    {
        public static bool Lifts => false;

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Ssse3.Shuffle(a, b);

        public static ulong ApplyMmx(ulong a, ulong b) => Low(Ssse3.Shuffle(V(a), V(b) & Vector128.Create((byte)0x87)));
    }

    /// <summary>PTEST: ZF = (dest AND source) == 0, CF = (NOT dest AND source) == 0; the other flags cleared.</summary>
    private static void Ptest(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<byte> b = cpu.ReadXmmOp(ins, 1);
        Vector128<byte> a = cpu.XmmReg(ins.Op0Register);
        uint f = ((a & b) == Vector128<byte>.Zero ? LazyFlags.ZF : 0) | ((~a & b) == Vector128<byte>.Zero ? LazyFlags.CF : 0);
        cpu.Flags.SetAll(f);
    }

    /// <summary>PMOVZX*/PMOVSX*: the low elements of the source (a memory source is only as wide as needed) widened.</summary>
    private static void Extend(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Mnemonic m = ins.Mnemonic;
        int from = m is Mnemonic.Pmovzxbw or Mnemonic.Pmovzxbd or Mnemonic.Pmovzxbq or Mnemonic.Pmovsxbw or Mnemonic.Pmovsxbd or Mnemonic.Pmovsxbq ? 1
            : m is Mnemonic.Pmovzxdq or Mnemonic.Pmovsxdq ? 4 : 2;
        int to = m is Mnemonic.Pmovzxbw or Mnemonic.Pmovsxbw ? 2
            : m is Mnemonic.Pmovzxbd or Mnemonic.Pmovzxwd or Mnemonic.Pmovsxbd or Mnemonic.Pmovsxwd ? 4 : 8;
        bool signed = m is Mnemonic.Pmovsxbw or Mnemonic.Pmovsxbd or Mnemonic.Pmovsxbq or Mnemonic.Pmovsxwd or Mnemonic.Pmovsxwq or Mnemonic.Pmovsxdq;
        int count = 16 / to;
        ulong raw = cpu.ReadXmmLow(ins, 1, Math.Min(8, count * from));
        UInt128 r = 0;
        for (int i = 0; i < count; i++)
        {
            ulong e = (raw >> (i * from * 8)) & ((1UL << (from * 8)) - 1);
            if (signed && (e >> ((from * 8) - 1)) != 0)
            {
                e |= ~((1UL << (from * 8)) - 1);
            }

            if (to < 8)
            {
                e &= (1UL << (to * 8)) - 1;
            }

            r |= (UInt128)e << (i * to * 8);
        }

        cpu.XmmReg(ins.Op0Register) = SseInteger.FromUInt128(r);
    }

    /// <summary>PBLENDVB / BLENDVPS / BLENDVPD xmm1, xmm2/m128, &lt;XMM0&gt;.</summary>
    private static void VariableBlend(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<byte> b = cpu.ReadXmmOp(ins, 1);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<byte> mask = ins.Mnemonic switch
        {
            Mnemonic.Pblendvb => Vector128.ShiftRightArithmetic(cpu.Xmm[0].AsSByte(), 7).AsByte(),
            Mnemonic.Blendvps => Vector128.ShiftRightArithmetic(cpu.Xmm[0].AsInt32(), 31).AsByte(),
            _ => Vector128.ShiftRightArithmetic(cpu.Xmm[0].AsInt64(), 63).AsByte(),
        };
        d = Vector128.ConditionalSelect(mask, b, d);
    }
}
