using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Element rearrangement of MMX, SSE, SSE2, SSSE3 and SSE4.1 and their AVX/AVX2 forms: shuffles,
/// unpacks, packs with saturation, byte alignment, blends (and AVX2 VPBLENDD), sign and zero
/// extension, and PTEST with AVX's VTESTPS/VTESTPD (Intel SDM Vol. 2 PSHUFD...PTEST, VTESTPD). Operations on whole registers use the host's instructions where the immediate
/// is not needed at compile time, and index arithmetic otherwise.
/// </summary>
internal static unsafe class SseShuffle
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Pshufd, Mnemonic.Vpshufd, &PackedImm<Pshufd>);
        r.Add(Mnemonic.Pshuflw, Mnemonic.Vpshuflw, &PackedImm<Pshuflw>);
        r.Add(Mnemonic.Pshufhw, Mnemonic.Vpshufhw, &PackedImm<Pshufhw>);
        r.Add(Mnemonic.Pshufw, &PackedImm<Pshufw>);
        r.Add(Mnemonic.Shufps, Mnemonic.Vshufps, &PackedImm<Shufps>);
        r.Add(Mnemonic.Shufpd, Mnemonic.Vshufpd, &PackedImm<Shufpd>);
        r.Add(Mnemonic.Palignr, Mnemonic.Vpalignr, &PackedImm<Palignr>);
        r.Add(Mnemonic.Pblendw, Mnemonic.Vpblendw, &PackedImm<Pblendw>);
        r.Add(Mnemonic.Blendps, Mnemonic.Vblendps, &PackedImm<Blendps>);
        r.Add(Mnemonic.Blendpd, Mnemonic.Vblendpd, &PackedImm<Blendpd>);
        r.Add(Mnemonic.Vpblendd, &PackedImm<Vpblendd>);
        r.Add(Mnemonic.Insertps, Mnemonic.Vinsertps, &Insertps);
        r.Add(Mnemonic.Unpcklps, Mnemonic.Vunpcklps, &Packed<Punpckldq>);
        r.Add(Mnemonic.Unpckhps, Mnemonic.Vunpckhps, &Packed<Punpckhdq>);
        r.Add(Mnemonic.Unpcklpd, Mnemonic.Vunpcklpd, &Packed<Punpcklqdq>);
        r.Add(Mnemonic.Unpckhpd, Mnemonic.Vunpckhpd, &Packed<Punpckhqdq>);
        r.Add(Mnemonic.Punpcklbw, Mnemonic.Vpunpcklbw, &Packed<Punpcklbw>);
        r.Add(Mnemonic.Punpcklwd, Mnemonic.Vpunpcklwd, &Packed<Punpcklwd>);
        r.Add(Mnemonic.Punpckldq, Mnemonic.Vpunpckldq, &Packed<Punpckldq>);
        r.Add(Mnemonic.Punpcklqdq, Mnemonic.Vpunpcklqdq, &Packed<Punpcklqdq>);
        r.Add(Mnemonic.Punpckhbw, Mnemonic.Vpunpckhbw, &Packed<Punpckhbw>);
        r.Add(Mnemonic.Punpckhwd, Mnemonic.Vpunpckhwd, &Packed<Punpckhwd>);
        r.Add(Mnemonic.Punpckhdq, Mnemonic.Vpunpckhdq, &Packed<Punpckhdq>);
        r.Add(Mnemonic.Punpckhqdq, Mnemonic.Vpunpckhqdq, &Packed<Punpckhqdq>);
        r.Add(Mnemonic.Packsswb, Mnemonic.Vpacksswb, &Packed<Packsswb>);
        r.Add(Mnemonic.Packssdw, Mnemonic.Vpackssdw, &Packed<Packssdw>);
        r.Add(Mnemonic.Packuswb, Mnemonic.Vpackuswb, &Packed<Packuswb>);
        r.Add(Mnemonic.Packusdw, Mnemonic.Vpackusdw, &Packed<Packusdw>);
        r.Add(Mnemonic.Pshufb, Mnemonic.Vpshufb, &Packed<Pshufb>);
        r.Add(Mnemonic.Pblendvb, Mnemonic.Vpblendvb, &VariableBlend);
        r.Add(Mnemonic.Blendvps, Mnemonic.Vblendvps, &VariableBlend);
        r.Add(Mnemonic.Blendvpd, Mnemonic.Vblendvpd, &VariableBlend);
        r.Add(Mnemonic.Ptest, Mnemonic.Vptest, &BitTest);
        r.Add(Mnemonic.Vtestps, &BitTest);
        r.Add(Mnemonic.Vtestpd, &BitTest);
        foreach ((Mnemonic legacy, Mnemonic vex) in Extensions)
        {
            r.Add(legacy, vex, &Extend);
        }
    }

    private static readonly (Mnemonic Legacy, Mnemonic Vex)[] Extensions =
    [
        (Mnemonic.Pmovzxbw, Mnemonic.Vpmovzxbw), (Mnemonic.Pmovzxbd, Mnemonic.Vpmovzxbd), (Mnemonic.Pmovzxbq, Mnemonic.Vpmovzxbq),
        (Mnemonic.Pmovzxwd, Mnemonic.Vpmovzxwd), (Mnemonic.Pmovzxwq, Mnemonic.Vpmovzxwq), (Mnemonic.Pmovzxdq, Mnemonic.Vpmovzxdq),
        (Mnemonic.Pmovsxbw, Mnemonic.Vpmovsxbw), (Mnemonic.Pmovsxbd, Mnemonic.Vpmovsxbd), (Mnemonic.Pmovsxbq, Mnemonic.Vpmovsxbq),
        (Mnemonic.Pmovsxwd, Mnemonic.Vpmovsxwd), (Mnemonic.Pmovsxwq, Mnemonic.Vpmovsxwq), (Mnemonic.Pmovsxdq, Mnemonic.Vpmovsxdq),
    ];

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

    /// <summary>SHUFPD: one immediate bit per result element; the upper lane of VSHUFPD ymm uses imm8[3:2].</summary>
    private readonly struct Shufpd : IVectorImmOp
    {
        public static byte LaneImmediate(byte imm, int lane) => (byte)(imm >> (2 * lane));

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

    /// <summary>BLENDPS: one immediate bit per element (imm8[7:4] for the upper lane of VBLENDPS ymm); VPBLENDD is the same on doublewords.</summary>
    private readonly struct Blendps : IVectorImmOp
    {
        public static byte LaneImmediate(byte imm, int lane) => (byte)(imm >> (4 * lane));

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm)
        {
            Vector128<uint> mask = Vector128.Create(1u, 2, 4, 8) & Vector128.Create((uint)imm);
            return Vector128.ConditionalSelect(Vector128.Equals(mask, Vector128<uint>.Zero), a.AsUInt32(), b.AsUInt32()).AsByte();
        }
    }

    private readonly struct Vpblendd : IVectorImmOp
    {
        public static byte LaneImmediate(byte imm, int lane) => Blendps.LaneImmediate(imm, lane);

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) => Blendps.Apply(a, b, imm);
    }

    private readonly struct Blendpd : IVectorImmOp
    {
        public static byte LaneImmediate(byte imm, int lane) => (byte)(imm >> (2 * lane));

        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm) =>
            Vector128.Create((imm & 1) != 0 ? b.AsUInt64()[0] : a.AsUInt64()[0], (imm & 2) != 0 ? b.AsUInt64()[1] : a.AsUInt64()[1]).AsByte();
    }

    /// <summary>
    /// INSERTPS xmm1, xmm2/m32, imm8 and VINSERTPS xmm1, xmm2, xmm3/m32, imm8: source element
    /// imm8[7:6] (a memory source is one single) into element imm8[5:4] of the first source, then
    /// the elements set in imm8[3:0] cleared.
    /// </summary>
    private static void Insertps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        byte imm = ins.Immediate8;
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins, aligned: false);
        int source = SimdForms.VectorOperandCount(ins) - 1;
        uint value = b.AsUInt32()[ins.GetOpKind(source) == OpKind.Memory ? 0 : (imm >> 6) & 3];
        Vector128<uint> r = a.GetLower().AsUInt32().WithElement((imm >> 4) & 3, value);
        Vector128<uint> keep = Vector128.Equals(Vector128.Create(1u, 2, 4, 8) & Vector128.Create((uint)imm), Vector128<uint>.Zero);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((r & keep).AsByte(), Vector128<byte>.Zero));
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

    /// <summary>
    /// PTEST / VPTEST: ZF = (first AND second) == 0, CF = (NOT first AND second) == 0, over all 128
    /// or 256 bits; VTESTPS / VTESTPD the same on the sign bits of the single or double elements
    /// only. The other arithmetic flags are cleared (Intel SDM Vol. 2B PTEST, VTESTPD/VTESTPS).
    /// </summary>
    private static void BitTest(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<byte> b = cpu.ReadVectorOp(ins, 1, SimdForms.LegacyAlignment(ins));
        Vector256<byte> a = cpu.ReadVectorOp(ins, 0);
        Vector256<byte> signs = ins.Mnemonic switch
        {
            Mnemonic.Vtestps => Vector256.Create(0x8000_0000u).AsByte(),
            Mnemonic.Vtestpd => Vector256.Create(0x8000_0000_0000_0000ul).AsByte(),
            _ => Vector256<byte>.AllBitsSet,
        };
        uint f = ((a & b & signs) == Vector256<byte>.Zero ? LazyFlags.ZF : 0) | ((~a & b & signs) == Vector256<byte>.Zero ? LazyFlags.CF : 0);
        cpu.Flags.SetAll(f);
    }

    /// <summary>
    /// PMOVZX*/PMOVSX* and their VEX forms: the low elements of the source (a memory source is only
    /// as wide as needed) widened to fill the 128- or 256-bit destination.
    /// </summary>
    private static void Extend(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (int from, int to, bool signed) = ExtensionShapes[ins.Mnemonic];
        int count = (CpuCore.IsYmm(ins.Op0Register) ? 32 : 16) / to;
        Vector256<byte> source = cpu.ReadVectorOp(ins, 1);
        Span<byte> result = stackalloc byte[32];
        result.Clear();
        for (int i = 0; i < count; i++)
        {
            ulong e = 0;
            for (int k = 0; k < from; k++)
            {
                e |= (ulong)source.GetElement((i * from) + k) << (8 * k);
            }

            if (signed && (e >> ((from * 8) - 1)) != 0)
            {
                e |= ~((1UL << (from * 8)) - 1);
            }

            for (int k = 0; k < to; k++)
            {
                result[(i * to) + k] = (byte)(e >> (8 * k));
            }
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<byte>)result));
    }

    // Element sizes from the mnemonic: PMOV(S|Z)X, then the source and destination element letters.
    private static readonly Dictionary<Mnemonic, (int From, int To, bool Signed)> ExtensionShapes = Extensions
        .SelectMany(e => new[] { e.Legacy, e.Vex })
        .ToDictionary(m => m, m =>
        {
            string name = m.ToString();
            return (ElementSize(name[^2]), ElementSize(name[^1]), name.Contains("sx", StringComparison.Ordinal));
        });

    private static int ElementSize(char c) => c switch { 'b' => 1, 'w' => 2, 'd' => 4, _ => 8 };

    /// <summary>
    /// PBLENDVB / BLENDVPS / BLENDVPD xmm1, xmm2/m128, &lt;XMM0&gt; and VPBLENDVB / VBLENDVPS /
    /// VBLENDVPD x/ymm1, x/ymm2, x/ymm3/m, x/ymm4: each element from the second source where the top
    /// bit of its mask element (XMM0, or the register in imm8[7:4]) is set, else from the first.
    /// </summary>
    private static void VariableBlend(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<byte> selector = CpuCore.IsVex(ins) ? cpu.ReadVectorOp(ins, 3) : Vector256.Create(cpu.Xmm[0], Vector128<byte>.Zero);
        Vector256<byte> mask = ins.Mnemonic switch
        {
            Mnemonic.Pblendvb or Mnemonic.Vpblendvb => Vector256.ShiftRightArithmetic(selector.AsSByte(), 7).AsByte(),
            Mnemonic.Blendvps or Mnemonic.Vblendvps => Vector256.ShiftRightArithmetic(selector.AsInt32(), 31).AsByte(),
            _ => Vector256.ShiftRightArithmetic(selector.AsInt64(), 63).AsByte(),
        };
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.ConditionalSelect(mask, b, a));
    }
}
