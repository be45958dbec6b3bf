using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// MMX, SSE and AVX data movement (Intel SDM Vol. 1 10.4.1, 11.4.1, 12.3.x, 14.x; Vol. 2 MOVAPS...MOVQ), mask
/// extraction, element insert/extract, and the cacheability-control instructions (MOVNT*, fences,
/// prefetches, CLFLUSH; Vol. 1 10.4.6, 11.4.4), which on this CPU are ordinary stores and no-ops.
/// </summary>
internal static unsafe class SseMove
{
    public static void Register(HandlerTable.Registry r)
    {
        foreach ((Mnemonic legacy, Mnemonic vex) in new[]
        {
            (Mnemonic.Movaps, Mnemonic.Vmovaps), (Mnemonic.Movapd, Mnemonic.Vmovapd), (Mnemonic.Movdqa, Mnemonic.Vmovdqa),
            (Mnemonic.Movntps, Mnemonic.Vmovntps), (Mnemonic.Movntpd, Mnemonic.Vmovntpd), (Mnemonic.Movntdq, Mnemonic.Vmovntdq),
            (Mnemonic.Movntdqa, Mnemonic.Vmovntdqa),
        })
        {
            r.Add(legacy, vex, &MoveAligned);
        }

        foreach ((Mnemonic legacy, Mnemonic vex) in new[]
        {
            (Mnemonic.Movups, Mnemonic.Vmovups), (Mnemonic.Movupd, Mnemonic.Vmovupd), (Mnemonic.Movdqu, Mnemonic.Vmovdqu), (Mnemonic.Lddqu, Mnemonic.Vlddqu),
        })
        {
            r.Add(legacy, vex, &MoveUnaligned);
        }

        r.Add(Mnemonic.Movd, Mnemonic.Vmovd, &MovdMovq);
        r.Add(Mnemonic.Movq, Mnemonic.Vmovq, &MovdMovq);
        r.Add(Mnemonic.Movq2dq, &MovdMovq);
        r.Add(Mnemonic.Movdq2q, &MovdMovq);
        r.Add(Mnemonic.Movntq, &MovdMovq);
        r.Add(Mnemonic.Movss, Mnemonic.Vmovss, &MoveScalar);
        r.Add(Code.Movsd_xmm_xmmm64, &MoveScalar);
        r.Add(Code.Movsd_xmmm64_xmm, &MoveScalar);
        r.Add(Mnemonic.Vmovsd, &MoveScalar);
        r.Add(Mnemonic.Movlps, Mnemonic.Vmovlps, &MoveLow);
        r.Add(Mnemonic.Movlpd, Mnemonic.Vmovlpd, &MoveLow);
        r.Add(Mnemonic.Movhps, Mnemonic.Vmovhps, &MoveHigh);
        r.Add(Mnemonic.Movhpd, Mnemonic.Vmovhpd, &MoveHigh);
        r.Add(Mnemonic.Movhlps, Mnemonic.Vmovhlps, &Movhlps);
        r.Add(Mnemonic.Movlhps, Mnemonic.Vmovlhps, &Movlhps);
        r.Add(Mnemonic.Movddup, Mnemonic.Vmovddup, &Packed<Movddup>);
        r.Add(Mnemonic.Movsldup, Mnemonic.Vmovsldup, &Packed<Movsldup>);
        r.Add(Mnemonic.Movshdup, Mnemonic.Vmovshdup, &Packed<Movshdup>);
        r.Add(Mnemonic.Movmskps, Mnemonic.Vmovmskps, &Movmskps);
        r.Add(Mnemonic.Movmskpd, Mnemonic.Vmovmskpd, &Movmskpd);
        r.Add(Mnemonic.Pmovmskb, Mnemonic.Vpmovmskb, &Pmovmskb);
        r.Add(Mnemonic.Movnti, &Movnti);
        r.Add(Mnemonic.Maskmovq, &MaskedStore);
        r.Add(Mnemonic.Maskmovdqu, Mnemonic.Vmaskmovdqu, &MaskedStore);
        r.Add(Mnemonic.Pextrw, Mnemonic.Vpextrw, &Extract);
        r.Add(Mnemonic.Pextrb, Mnemonic.Vpextrb, &Extract);
        r.Add(Mnemonic.Pextrd, Mnemonic.Vpextrd, &Extract);
        r.Add(Mnemonic.Pextrq, Mnemonic.Vpextrq, &Extract);
        r.Add(Mnemonic.Extractps, Mnemonic.Vextractps, &Extract);
        r.Add(Mnemonic.Pinsrw, Mnemonic.Vpinsrw, &Insert);
        r.Add(Mnemonic.Pinsrb, Mnemonic.Vpinsrb, &Insert);
        r.Add(Mnemonic.Pinsrd, Mnemonic.Vpinsrd, &Insert);
        r.Add(Mnemonic.Pinsrq, Mnemonic.Vpinsrq, &Insert);
        foreach (Mnemonic m in new[] { Mnemonic.Lfence, Mnemonic.Sfence, Mnemonic.Mfence, Mnemonic.Prefetchnta, Mnemonic.Prefetcht0, Mnemonic.Prefetcht1, Mnemonic.Prefetcht2, Mnemonic.Prefetchw })
        {
            r.Add(m, &NoOperation);
        }

        r.Add(Mnemonic.Clflush, &Clflush);
    }

    /// <summary>
    /// MOVAPS, MOVAPD, MOVDQA, the non-temporal moves and their VEX forms: a memory operand must be
    /// aligned to its size (16 or 32 bytes; #GP(0) otherwise, in both encodings).
    /// </summary>
    private static void MoveAligned(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        int alignment = ins.MemorySize.GetSize();
        cpu.WriteVectorOp(ins, 0, cpu.ReadVectorOp(ins, 1, alignment), alignment);
    }

    private static void MoveUnaligned(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        cpu.WriteVectorOp(ins, 0, cpu.ReadVectorOp(ins, 1));
    }

    /// <summary>
    /// MOVD / MOVQ in every direction: to an XMM register the value is zero-extended to 128 bits (and
    /// by a VEX form to 256); to an MMX register it replaces the register; to a GPR or memory the low
    /// 4 or 8 bytes are stored.
    /// </summary>
    private static void MovdMovq(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic is Mnemonic.Movd or Mnemonic.Vmovd ? 4 : 8;
        bool mmx = (ins.GetOpKind(0) == OpKind.Register && CpuCore.IsMmx(ins.Op0Register))
            || (ins.GetOpKind(1) == OpKind.Register && CpuCore.IsMmx(ins.Op1Register));
        bool xmm = (ins.GetOpKind(0) == OpKind.Register && CpuCore.IsXmm(ins.Op0Register))
            || (ins.GetOpKind(1) == OpKind.Register && CpuCore.IsXmm(ins.Op1Register));
        if (xmm)
        {
            cpu.CheckVector(ins);
        }

        if (mmx)
        {
            cpu.EnterMmx();
        }

        ulong value = cpu.ReadXmmLow(ins, 1, size);
        if (ins.GetOpKind(0) == OpKind.Register)
        {
            Register dst = ins.Op0Register;
            if (CpuCore.IsXmm(dst))
            {
                cpu.WriteVectorRegister(ins, dst, Vector256.CreateScalar(value).AsByte());
            }
            else if (CpuCore.IsMmx(dst))
            {
                cpu.WriteMm(dst, value);
            }
            else
            {
                cpu.WriteReg(dst, value);
            }
        }
        else
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, size), size, value);
        }
    }

    /// <summary>
    /// MOVSS / MOVSD and VMOVSS / VMOVSD: a load zeroes the rest of the register; a store writes the
    /// low element; register to register merges the low element of the last operand into the first
    /// source (the destination in the legacy form, xmm2 in VMOVSS xmm1, xmm2, xmm3).
    /// </summary>
    private static void MoveScalar(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        int size = ins.Mnemonic is Mnemonic.Movss or Mnemonic.Vmovss ? 4 : 8;
        if (ins.GetOpKind(0) == OpKind.Memory)
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, size), size, cpu.ReadXmmLow(ins, 1, size));
            return;
        }

        if (ins.GetOpKind(1) == OpKind.Memory)
        {
            cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.CreateScalar(cpu.ReadXmmLow(ins, 1, size)).AsByte());
            return;
        }

        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector128<byte> r = size == 4
            ? a.GetLower().AsUInt32().WithElement(0, b.AsUInt32().ToScalar()).AsByte()
            : a.GetLower().AsUInt64().WithElement(0, b.AsUInt64().ToScalar()).AsByte();
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(r, Vector128<byte>.Zero));
    }

    /// <summary>
    /// MOVLPS / MOVLPD (and VMOVLPS / VMOVLPD xmm1, xmm2, m64): the low quadword from memory, the high
    /// one from the first source; or the low quadword to memory. (The register form 0F 12 /r is MOVHLPS.)
    /// </summary>
    private static void MoveLow(CpuCore cpu, ref Instruction ins) => MoveHalf(cpu, ins, 0);

    private static void MoveHigh(CpuCore cpu, ref Instruction ins) => MoveHalf(cpu, ins, 1);

    private static void MoveHalf(CpuCore cpu, in Instruction ins, int half)
    {
        cpu.CheckVector(ins);
        if (ins.GetOpKind(0) == OpKind.Memory)
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, 8), 8, cpu.XmmReg(ins.Op1Register).AsUInt64().GetElement(half));
            return;
        }

        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector128<byte> r = a.GetLower().AsUInt64().WithElement(half, b.AsUInt64().ToScalar()).AsByte();
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(r, Vector128<byte>.Zero));
    }

    /// <summary>MOVHLPS xmm1, xmm2 / VMOVHLPS xmm1, xmm2, xmm3: the high quadword of the second source, then the high quadword of the first.</summary>
    private static void Movhlps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(b.AsUInt64()[1], a.AsUInt64()[1], 0, 0).AsByte());
    }

    /// <summary>MOVLHPS xmm1, xmm2 / VMOVLHPS xmm1, xmm2, xmm3: the low quadword of the first source, then the low quadword of the second.</summary>
    private static void Movlhps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(a.AsUInt64()[0], b.AsUInt64()[0], 0, 0).AsByte());
    }

    // MOVDDUP (an m64 source is the low quadword), MOVSLDUP, MOVSHDUP: per 128-bit lane of the source.
    private readonly struct Movddup : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b) => Vector128.Create(b.AsUInt64()[0]).AsByte();
    }

    private readonly struct Movsldup : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<uint> s = b.AsUInt32();
            return Vector128.Create(s[0], s[0], s[2], s[2]).AsByte();
        }
    }

    private readonly struct Movshdup : IVectorOp
    {
        public static Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b)
        {
            Vector128<uint> s = b.AsUInt32();
            return Vector128.Create(s[1], s[1], s[3], s[3]).AsByte();
        }
    }

    /// <summary>MOVMSKPS / VMOVMSKPS: the sign bits of the 4 or 8 singles to a general register, zero-extended.</summary>
    private static void Movmskps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        cpu.WriteReg(ins.Op0Register, cpu.ReadVectorOp(ins, 1).AsUInt32().ExtractMostSignificantBits() & Mask(ins, 4));
    }

    private static void Movmskpd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        cpu.WriteReg(ins.Op0Register, cpu.ReadVectorOp(ins, 1).AsUInt64().ExtractMostSignificantBits() & Mask(ins, 8));
    }

    /// <summary>PMOVMSKB / VPMOVMSKB: the sign bits of the 8, 16 or 32 bytes.</summary>
    private static void Pmovmskb(CpuCore cpu, ref Instruction ins)
    {
        Register src = ins.Op1Register;
        if (CpuCore.IsMmx(src))
        {
            cpu.EnterMmx();
            cpu.WriteReg(ins.Op0Register, SimdForms.V(cpu.ReadMm(src)).ExtractMostSignificantBits() & 0xff);
            return;
        }

        cpu.CheckVector(ins);
        cpu.WriteReg(ins.Op0Register, cpu.ReadVectorOp(ins, 1).ExtractMostSignificantBits() & Mask(ins, 1));
    }

    // The mask of one bit per element of the source register (XMM or YMM).
    private static uint Mask(in Instruction ins, int elementBytes) => (uint)((1UL << ((CpuCore.IsYmm(ins.Op1Register) ? 32 : 16) / elementBytes)) - 1);

    /// <summary>
    /// MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2 / VMASKMOVDQU: the bytes of the first register whose
    /// mask byte (second register) has its top bit set are stored at DS:rDI (segment overridable);
    /// the others are not written.
    /// </summary>
    private static void MaskedStore(CpuCore cpu, ref Instruction ins)
    {
        Register data = ins.Op1Register, mask = ins.Op2Register;
        UInt128 d, k;
        int count;
        if (CpuCore.IsMmx(data))
        {
            cpu.EnterMmx();
            (d, k, count) = (cpu.ReadMm(data), cpu.ReadMm(mask), 8);
        }
        else
        {
            cpu.CheckVector(ins);
            (d, k, count) = (SseInteger.ToUInt128(cpu.XmmReg(data)), SseInteger.ToUInt128(cpu.XmmReg(mask)), 16);
        }

        ulong offset = ins.Op0Kind switch
        {
            OpKind.MemorySegDI => (ushort)cpu.R[7],
            OpKind.MemorySegEDI => (uint)cpu.R[7],
            _ => cpu.R[7],
        };
        ulong linear = cpu.LinearWrite(CpuCore.SegmentIndex(ins.MemorySegment), offset, count);
        for (int i = 0; i < count; i++)
        {
            if (((k >> ((8 * i) + 7)) & 1) != 0)
            {
                cpu.WriteSized(linear + (ulong)i, 1, (byte)(d >> (8 * i)));
            }
        }
    }

    private static void Movnti(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 1);
        cpu.WriteOp(ins, 0, size, cpu.ReadOp(ins, 1, size));
    }

    /// <summary>PEXTRB/W/D/Q, EXTRACTPS and their VEX forms: element imm8 of the source to a GPR (zero-extended) or memory.</summary>
    private static void Extract(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic switch
        {
            Mnemonic.Pextrb or Mnemonic.Vpextrb => 1,
            Mnemonic.Pextrw or Mnemonic.Vpextrw => 2,
            Mnemonic.Pextrq or Mnemonic.Vpextrq => 8,
            _ => 4,
        };
        Register src = ins.Op1Register;
        UInt128 v;
        int index;
        if (CpuCore.IsMmx(src))
        {
            cpu.EnterMmx();
            v = cpu.ReadMm(src);
            index = ins.Immediate8 & 3;
        }
        else
        {
            cpu.CheckVector(ins);
            v = SseInteger.ToUInt128(cpu.XmmReg(src));
            index = ins.Immediate8 & ((16 / size) - 1);
        }

        ulong element = (ulong)(v >> (index * size * 8)) & (size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1);
        if (ins.GetOpKind(0) == OpKind.Register)
        {
            cpu.WriteReg(ins.Op0Register, element);
        }
        else
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, size), size, element);
        }
    }

    /// <summary>
    /// PINSRB/W/D/Q xmm1, r/m, imm8 and VPINSRB/W/D/Q xmm1, xmm2, r/m, imm8: a GPR or memory value
    /// into element imm8 of the first source (the destination in the legacy form).
    /// </summary>
    private static void Insert(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic switch
        {
            Mnemonic.Pinsrb or Mnemonic.Vpinsrb => 1,
            Mnemonic.Pinsrw or Mnemonic.Vpinsrw => 2,
            Mnemonic.Pinsrq or Mnemonic.Vpinsrq => 8,
            _ => 4,
        };
        Register dst = ins.Op0Register;
        bool mmx = CpuCore.IsMmx(dst);
        if (mmx)
        {
            cpu.EnterMmx();
        }
        else
        {
            cpu.CheckVector(ins);
        }

        int source = ins.OpCount - 2;
        ulong value = ins.GetOpKind(source) == OpKind.Register ? cpu.ReadReg(ins.GetOpRegister(source)) : cpu.ReadSized(cpu.MemoryLinear(ins, size), size);
        UInt128 mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        int index = ins.Immediate8 & ((mmx ? 8 : 16) / size - 1);
        int shift = index * size * 8;
        UInt128 v = mmx ? cpu.ReadMm(dst) : SseInteger.ToUInt128(cpu.ReadVectorOp(ins, source - 1).GetLower());
        v = (v & ~(mask << shift)) | (((UInt128)value & mask) << shift);
        if (mmx)
        {
            cpu.WriteMm(dst, (ulong)v);
        }
        else
        {
            cpu.WriteVectorRegister(ins, dst, Vector256.Create(SseInteger.FromUInt128(v), Vector128<byte>.Zero));
        }
    }

    private static void NoOperation(CpuCore cpu, ref Instruction ins)
    {
    }

    /// <summary>CLFLUSH checks its operand like a byte load (Intel SDM Vol. 2A CLFLUSH); caches are not modelled.</summary>
    private static void Clflush(CpuCore cpu, ref Instruction ins) => _ = cpu.ReadSized(cpu.MemoryLinear(ins, 1), 1);
}
