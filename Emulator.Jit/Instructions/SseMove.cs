using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// MMX and SSE data movement (Intel SDM Vol. 1 10.4.1, 11.4.1, 12.3.x; Vol. 2 MOVAPS...MOVQ), mask
/// extraction, element insert/extract, and the cacheability-control instructions (MOVNT*, fences,
/// prefetches, CLFLUSH; Vol. 1 10.4.6, 11.4.4), which on this CPU are ordinary stores and no-ops.
/// </summary>
internal static unsafe class SseMove
{
    public static void Register(HandlerTable.Registry r)
    {
        foreach (Mnemonic m in new[] { Mnemonic.Movaps, Mnemonic.Movapd, Mnemonic.Movdqa, Mnemonic.Movntps, Mnemonic.Movntpd, Mnemonic.Movntdq, Mnemonic.Movntdqa })
        {
            r.Add(m, &MoveAligned);
        }

        foreach (Mnemonic m in new[] { Mnemonic.Movups, Mnemonic.Movupd, Mnemonic.Movdqu, Mnemonic.Lddqu })
        {
            r.Add(m, &MoveUnaligned);
        }

        r.Add(Mnemonic.Movd, &MovdMovq);
        r.Add(Mnemonic.Movq, &MovdMovq);
        r.Add(Mnemonic.Movq2dq, &MovdMovq);
        r.Add(Mnemonic.Movdq2q, &MovdMovq);
        r.Add(Mnemonic.Movntq, &MovdMovq);
        r.Add(Mnemonic.Movss, &MoveScalar);
        r.Add(Code.Movsd_xmm_xmmm64, &MoveScalar);
        r.Add(Code.Movsd_xmmm64_xmm, &MoveScalar);
        r.Add(Mnemonic.Movlps, &MoveLow);
        r.Add(Mnemonic.Movlpd, &MoveLow);
        r.Add(Mnemonic.Movhps, &MoveHigh);
        r.Add(Mnemonic.Movhpd, &MoveHigh);
        r.Add(Mnemonic.Movhlps, &Movhlps);
        r.Add(Mnemonic.Movlhps, &Movlhps);
        r.Add(Mnemonic.Movddup, &Movddup);
        r.Add(Mnemonic.Movsldup, &Movsldup);
        r.Add(Mnemonic.Movshdup, &Movshdup);
        r.Add(Mnemonic.Movmskps, &Movmskps);
        r.Add(Mnemonic.Movmskpd, &Movmskpd);
        r.Add(Mnemonic.Pmovmskb, &Pmovmskb);
        r.Add(Mnemonic.Movnti, &Movnti);
        r.Add(Mnemonic.Maskmovq, &MaskedStore);
        r.Add(Mnemonic.Maskmovdqu, &MaskedStore);
        r.Add(Mnemonic.Pextrw, &Extract);
        r.Add(Mnemonic.Pextrb, &Extract);
        r.Add(Mnemonic.Pextrd, &Extract);
        r.Add(Mnemonic.Pextrq, &Extract);
        r.Add(Mnemonic.Extractps, &Extract);
        r.Add(Mnemonic.Pinsrw, &Insert);
        r.Add(Mnemonic.Pinsrb, &Insert);
        r.Add(Mnemonic.Pinsrd, &Insert);
        r.Add(Mnemonic.Pinsrq, &Insert);
        foreach (Mnemonic m in new[] { Mnemonic.Lfence, Mnemonic.Sfence, Mnemonic.Mfence, Mnemonic.Prefetchnta, Mnemonic.Prefetcht0, Mnemonic.Prefetcht1, Mnemonic.Prefetcht2, Mnemonic.Prefetchw })
        {
            r.Add(m, &NoOperation);
        }

        r.Add(Mnemonic.Clflush, &Clflush);
    }

    private static void MoveAligned(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        cpu.WriteXmmOp(ins, 0, cpu.ReadXmmOp(ins, 1, aligned: true), aligned: true);
    }

    private static void MoveUnaligned(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        cpu.WriteXmmOp(ins, 0, cpu.ReadXmmOp(ins, 1, aligned: false), aligned: false);
    }

    /// <summary>
    /// MOVD / MOVQ in every direction: to an XMM register the value is zero-extended to 128 bits; to
    /// an MMX register it replaces the register; to a GPR or memory the low 4 or 8 bytes are stored.
    /// </summary>
    private static void MovdMovq(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic == Mnemonic.Movd ? 4 : 8;
        bool mmx = (ins.GetOpKind(0) == OpKind.Register && CpuCore.IsMmx(ins.Op0Register))
            || (ins.GetOpKind(1) == OpKind.Register && CpuCore.IsMmx(ins.Op1Register));
        bool xmm = (ins.GetOpKind(0) == OpKind.Register && CpuCore.IsXmm(ins.Op0Register))
            || (ins.GetOpKind(1) == OpKind.Register && CpuCore.IsXmm(ins.Op1Register));
        if (xmm)
        {
            cpu.CheckSse();
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
                cpu.XmmReg(dst) = Vector128.CreateScalar(value).AsByte();
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

    /// <summary>MOVSS / MOVSD: register to register merges the low element; a load zeroes the rest; a store writes the low element.</summary>
    private static void MoveScalar(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        int size = ins.Mnemonic == Mnemonic.Movss ? 4 : 8;
        if (ins.GetOpKind(0) == OpKind.Memory)
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, size), size, cpu.ReadXmmLow(ins, 1, size));
            return;
        }

        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        if (ins.GetOpKind(1) == OpKind.Memory)
        {
            d = Vector128.CreateScalar(cpu.ReadXmmLow(ins, 1, size)).AsByte();
        }
        else if (size == 4)
        {
            d = d.AsUInt32().WithElement(0, cpu.XmmReg(ins.Op1Register).AsUInt32().ToScalar()).AsByte();
        }
        else
        {
            d = d.AsUInt64().WithElement(0, cpu.XmmReg(ins.Op1Register).AsUInt64().ToScalar()).AsByte();
        }
    }

    /// <summary>MOVLPS / MOVLPD: the low quadword from or to memory, the high one kept. (The register form 0F 12 /r is MOVHLPS.)</summary>
    private static void MoveLow(CpuCore cpu, ref Instruction ins) => MoveHalf(cpu, ins, 0);

    private static void MoveHigh(CpuCore cpu, ref Instruction ins) => MoveHalf(cpu, ins, 1);

    private static void MoveHalf(CpuCore cpu, in Instruction ins, int half)
    {
        cpu.CheckSse();
        if (ins.GetOpKind(0) == OpKind.Memory)
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, 8), 8, cpu.XmmReg(ins.Op1Register).AsUInt64().GetElement(half));
            return;
        }

        ulong value = cpu.ReadSized(cpu.MemoryLinear(ins, 8), 8);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsUInt64().WithElement(half, value).AsByte();
    }

    private static void Movhlps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsUInt64().WithElement(0, cpu.XmmReg(ins.Op1Register).AsUInt64().GetElement(1)).AsByte();
    }

    private static void Movlhps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsUInt64().WithElement(1, cpu.XmmReg(ins.Op1Register).AsUInt64().GetElement(0)).AsByte();
    }

    private static void Movddup(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ulong v = cpu.ReadXmmLow(ins, 1, 8);
        cpu.XmmReg(ins.Op0Register) = Vector128.Create(v, v).AsByte();
    }

    private static void Movsldup(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<uint> s = cpu.ReadXmmOp(ins, 1).AsUInt32();
        cpu.XmmReg(ins.Op0Register) = Vector128.Create(s[0], s[0], s[2], s[2]).AsByte();
    }

    private static void Movshdup(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<uint> s = cpu.ReadXmmOp(ins, 1).AsUInt32();
        cpu.XmmReg(ins.Op0Register) = Vector128.Create(s[1], s[1], s[3], s[3]).AsByte();
    }

    private static void Movmskps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        cpu.WriteReg(ins.Op0Register, cpu.XmmReg(ins.Op1Register).AsUInt32().ExtractMostSignificantBits());
    }

    private static void Movmskpd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        cpu.WriteReg(ins.Op0Register, cpu.XmmReg(ins.Op1Register).AsUInt64().ExtractMostSignificantBits());
    }

    private static void Pmovmskb(CpuCore cpu, ref Instruction ins)
    {
        Register src = ins.Op1Register;
        if (CpuCore.IsMmx(src))
        {
            cpu.EnterMmx();
            cpu.WriteReg(ins.Op0Register, SimdForms.V(cpu.ReadMm(src)).ExtractMostSignificantBits() & 0xff);
            return;
        }

        cpu.CheckSse();
        cpu.WriteReg(ins.Op0Register, cpu.XmmReg(src).ExtractMostSignificantBits());
    }

    /// <summary>
    /// MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2: the bytes of the first register whose mask byte (second
    /// register) has its top bit set are stored at DS:rDI (segment overridable); the others are not written.
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
            cpu.CheckSse();
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

    /// <summary>PEXTRB/W/D/Q, EXTRACTPS: element imm8 of the source to a GPR (zero-extended) or memory.</summary>
    private static void Extract(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic switch
        {
            Mnemonic.Pextrb => 1,
            Mnemonic.Pextrw => 2,
            Mnemonic.Pextrq => 8,
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
            cpu.CheckSse();
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

    /// <summary>PINSRB/W/D/Q: a GPR or memory value into element imm8.</summary>
    private static void Insert(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic switch
        {
            Mnemonic.Pinsrb => 1,
            Mnemonic.Pinsrw => 2,
            Mnemonic.Pinsrq => 8,
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
            cpu.CheckSse();
        }

        ulong value = ins.GetOpKind(1) == OpKind.Register ? cpu.ReadReg(ins.Op1Register) : cpu.ReadSized(cpu.MemoryLinear(ins, size), size);
        UInt128 mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        int index = ins.Immediate8 & ((mmx ? 8 : 16) / size - 1);
        int shift = index * size * 8;
        UInt128 v = mmx ? cpu.ReadMm(dst) : SseInteger.ToUInt128(cpu.XmmReg(dst));
        v = (v & ~(mask << shift)) | (((UInt128)value & mask) << shift);
        if (mmx)
        {
            cpu.WriteMm(dst, (ulong)v);
        }
        else
        {
            cpu.XmmReg(dst) = SseInteger.FromUInt128(v);
        }
    }

    private static void NoOperation(CpuCore cpu, ref Instruction ins)
    {
    }

    /// <summary>CLFLUSH checks its operand like a byte load (Intel SDM Vol. 2A CLFLUSH); caches are not modelled.</summary>
    private static void Clflush(CpuCore cpu, ref Instruction ins) => _ = cpu.ReadSized(cpu.MemoryLinear(ins, 1), 1);
}
