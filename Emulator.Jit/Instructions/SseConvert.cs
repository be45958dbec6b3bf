using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE/SSE2 conversions between integers, single and double precision, legacy and VEX forms
/// (Intel SDM Vol. 1 11.4.1.6; Vol. 2A CVTDQ2PD...CVTTSS2SI): MXCSR rounding (the CVTT forms truncate), the integer indefinite
/// value for NaN and out-of-range results, and precision, overflow and underflow on narrowing.
/// </summary>
internal static unsafe class SseConvert
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Cvtsi2sd, Mnemonic.Vcvtsi2sd, &IntegerToScalar);
        r.Add(Mnemonic.Cvtsi2ss, Mnemonic.Vcvtsi2ss, &IntegerToScalar);
        r.Add(Mnemonic.Cvtsd2si, Mnemonic.Vcvtsd2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvttsd2si, Mnemonic.Vcvttsd2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvtss2si, Mnemonic.Vcvtss2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvttss2si, Mnemonic.Vcvttss2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvtss2sd, Mnemonic.Vcvtss2sd, &Cvtss2sd);
        r.Add(Mnemonic.Cvtsd2ss, Mnemonic.Vcvtsd2ss, &Cvtsd2ss);
        r.Add(Mnemonic.Cvtps2pd, Mnemonic.Vcvtps2pd, &Cvtps2pd);
        r.Add(Mnemonic.Cvtpd2ps, Mnemonic.Vcvtpd2ps, &Cvtpd2ps);
        r.Add(Mnemonic.Cvtdq2ps, Mnemonic.Vcvtdq2ps, &Cvtdq2ps);
        r.Add(Mnemonic.Cvtdq2pd, Mnemonic.Vcvtdq2pd, &Cvtdq2pd);
        r.Add(Mnemonic.Cvtps2dq, Mnemonic.Vcvtps2dq, &SingleToInt32);
        r.Add(Mnemonic.Cvttps2dq, Mnemonic.Vcvttps2dq, &SingleToInt32);
        r.Add(Mnemonic.Cvtpd2dq, Mnemonic.Vcvtpd2dq, &DoubleToInt32);
        r.Add(Mnemonic.Cvttpd2dq, Mnemonic.Vcvttpd2dq, &DoubleToInt32);
        r.Add(Mnemonic.Cvtpi2ps, &Cvtpi2ps);
        r.Add(Mnemonic.Cvtpi2pd, &Cvtpi2pd);
        r.Add(Mnemonic.Cvtps2pi, &ToMmxInt32);
        r.Add(Mnemonic.Cvttps2pi, &ToMmxInt32);
        r.Add(Mnemonic.Cvtpd2pi, &ToMmxInt32);
        r.Add(Mnemonic.Cvttpd2pi, &ToMmxInt32);
    }

    /// <summary>SSE checks, and the x87-to-MMX transition when an MMX register is an operand (Intel SDM Vol. 2A CVTPI2PD).</summary>
    private static void BeginMmxConversion(CpuCore cpu, in Instruction ins)
    {
        cpu.CheckSse();
        if (CpuCore.IsMmx(ins.Op0Register) || (ins.GetOpKind(1) == OpKind.Register && CpuCore.IsMmx(ins.Op1Register)))
        {
            cpu.EnterMmx();
        }
    }

    /// <summary>CVTPI2PS xmm, mm/m64: two int32 to singles in the low quadword (rounded per MXCSR); the high quadword is kept.</summary>
    private static void Cvtpi2ps(CpuCore cpu, ref Instruction ins)
    {
        BeginMmxConversion(cpu, ins);
        ulong raw = cpu.ReadXmmLow(ins, 1, 8);
        uint flags = 0;
        int mode = RoundingMode(cpu.Mxcsr);
        float lo = (float)FromInteger((int)raw, true, mode, ref flags), hi = (float)FromInteger((int)(raw >> 32), true, mode, ref flags);
        SimdForms.Commit(cpu, flags);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsSingle().WithElement(0, lo).WithElement(1, hi).AsByte();
    }

    /// <summary>CVTPI2PD xmm, mm/m64: two int32 to doubles, exact.</summary>
    private static void Cvtpi2pd(CpuCore cpu, ref Instruction ins)
    {
        BeginMmxConversion(cpu, ins);
        ulong raw = cpu.ReadXmmLow(ins, 1, 8);
        cpu.XmmReg(ins.Op0Register) = Vector128.Create((double)(int)raw, (int)(raw >> 32)).AsByte();
    }

    /// <summary>CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128: two int32 into an MMX register.</summary>
    private static void ToMmxInt32(CpuCore cpu, ref Instruction ins)
    {
        BeginMmxConversion(cpu, ins);
        Mnemonic m = ins.Mnemonic;
        bool truncate = m is Mnemonic.Cvttps2pi or Mnemonic.Cvttpd2pi;
        int mode = truncate ? RoundZero : RoundingMode(cpu.Mxcsr);
        uint flags = 0, mxcsr = cpu.Mxcsr;
        double a, b;
        if (m is Mnemonic.Cvtps2pi or Mnemonic.Cvttps2pi)
        {
            ulong raw = cpu.ReadXmmLow(ins, 1, 8);
            a = DenormalsAreZero(BitConverter.UInt32BitsToSingle((uint)raw), mxcsr);
            b = DenormalsAreZero(BitConverter.UInt32BitsToSingle((uint)(raw >> 32)), mxcsr);
        }
        else
        {
            Vector128<double> v = cpu.ReadXmmOp(ins, 1).AsDouble();
            a = DenormalsAreZero(v[0], mxcsr);
            b = DenormalsAreZero(v[1], mxcsr);
        }

        uint lo = (uint)ToInteger(a, 32, mode, ref flags), hi = (uint)ToInteger(b, 32, mode, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteMm(ins.Op0Register, lo | ((ulong)hi << 32));
    }

    /// <summary>
    /// CVTSI2SD / CVTSI2SS xmm1, r/m32 or r/m64 and VCVTSI2SD / VCVTSI2SS xmm1, xmm2, r/m: the low
    /// element; the others come from the first source (the destination in the legacy form).
    /// </summary>
    private static void IntegerToScalar(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        int source = ins.OpCount - 1;
        int size = CpuCore.OpSize(ins, source);
        ulong raw = cpu.ReadOp(ins, source, size);
        Vector256<byte> a = cpu.ReadVectorOp(ins, source - 1);
        long value = size == 8 ? (long)raw : (int)raw;
        uint flags = 0;
        bool single = ins.Mnemonic is Mnemonic.Cvtsi2ss or Mnemonic.Vcvtsi2ss;
        double r = FromInteger(value, single, RoundingMode(cpu.Mxcsr), ref flags);
        SimdForms.Commit(cpu, flags);
        Vector128<byte> low = a.GetLower();
        low = single ? low.AsSingle().WithElement(0, (float)r).AsByte() : low.AsDouble().WithElement(0, r).AsByte();
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(low, Vector128<byte>.Zero));
    }

    /// <summary>CVT(T)SD2SI / CVT(T)SS2SI r32/r64, xmm/m64 or xmm/m32 (either encoding).</summary>
    private static void ScalarToInteger(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Mnemonic m = ins.Mnemonic;
        bool single = m is Mnemonic.Cvtss2si or Mnemonic.Cvttss2si or Mnemonic.Vcvtss2si or Mnemonic.Vcvttss2si;
        bool truncate = m is Mnemonic.Cvttsd2si or Mnemonic.Cvttss2si or Mnemonic.Vcvttsd2si or Mnemonic.Vcvttss2si;
        ulong raw = cpu.ReadVectorOp(ins, 1).AsUInt64().ToScalar();
        uint flags = 0;
        double v = single ? DenormalsAreZero(BitConverter.UInt32BitsToSingle((uint)raw), cpu.Mxcsr) : DenormalsAreZero(BitConverter.UInt64BitsToDouble(raw), cpu.Mxcsr);
        int bits = RegisterMap.Size[(int)ins.Op0Register] * 8;
        long r = ToInteger(v, bits, truncate ? RoundZero : RoundingMode(cpu.Mxcsr), ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteReg(ins.Op0Register, bits == 32 ? (uint)r : (ulong)r);
    }

    /// <summary>CVTSS2SD xmm1, xmm2/m32 and VCVTSS2SD xmm1, xmm2, xmm3/m32: exact; the high element from the first source.</summary>
    private static void Cvtss2sd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = SimdForms.Sources(cpu, ins);
        uint flags = 0;
        double r = Widen(b.AsSingle().ToScalar(), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(a.GetLower().AsDouble().WithElement(0, r).AsByte(), Vector128<byte>.Zero));
    }

    private static void Cvtsd2ss(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = SimdForms.Sources(cpu, ins);
        uint flags = 0;
        float r = Narrow(b.AsDouble().ToScalar(), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(a.GetLower().AsSingle().WithElement(0, r).AsByte(), Vector128<byte>.Zero));
    }

    // The packed conversions have one source (operand 1) in both encodings. A legacy 128-bit memory source must be aligned.
    private static Vector256<byte> Source(CpuCore cpu, in Instruction ins) => cpu.ReadVectorOp(ins, 1, SimdForms.LegacyAlignment(ins));

    /// <summary>Elements in the destination: 128 bits, or 256 when it is a YMM register.</summary>
    private static int Elements(in Instruction ins, int elementBytes) => (CpuCore.IsYmm(ins.Op0Register) ? 32 : 16) / elementBytes;

    /// <summary>Elements in the source of a narrowing conversion: 128 bits, or 256 when it is a YMM register or 256-bit memory.</summary>
    private static int SourceElements(in Instruction ins, int elementBytes) =>
        (ins.Op1Kind == OpKind.Register ? (CpuCore.IsYmm(ins.Op1Register) ? 32 : 16) : ins.MemorySize.GetSize()) / elementBytes;

    /// <summary>CVTPS2PD xmm, xmm/m64 and VCVTPS2PD ymm, xmm/m128: the low singles, exactly.</summary>
    private static void Cvtps2pd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<float> a = Source(cpu, ins).AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        Span<double> r = stackalloc double[4];
        r.Clear();
        for (int i = 0; i < Elements(ins, 8); i++)
        {
            r[i] = Widen(a[i], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<double>)r).AsByte());
    }

    /// <summary>CVTPD2PS xmm, xmm/m128 and VCVTPD2PS xmm, ymm/m256: the singles in the low half or quarter, the rest cleared.</summary>
    private static void Cvtpd2ps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<double> a = Source(cpu, ins).AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int i = 0; i < SourceElements(ins, 8); i++)
        {
            r[i] = Narrow(a[i], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    private static void Cvtdq2ps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<int> a = Source(cpu, ins).AsInt32();
        uint flags = 0;
        int mode = RoundingMode(cpu.Mxcsr);
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int i = 0; i < Elements(ins, 4); i++)
        {
            r[i] = (float)FromInteger(a[i], true, mode, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    /// <summary>CVTDQ2PD xmm, xmm/m64 and VCVTDQ2PD ymm, xmm/m128: exact.</summary>
    private static void Cvtdq2pd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<int> a = Source(cpu, ins).AsInt32();
        Span<double> r = stackalloc double[4];
        r.Clear();
        for (int i = 0; i < Elements(ins, 8); i++)
        {
            r[i] = a[i];
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<double>)r).AsByte());
    }

    private static void SingleToInt32(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<float> a = Source(cpu, ins).AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        int mode = ins.Mnemonic is Mnemonic.Cvttps2dq or Mnemonic.Vcvttps2dq ? RoundZero : RoundingMode(m);
        Span<int> r = stackalloc int[8];
        r.Clear();
        for (int i = 0; i < Elements(ins, 4); i++)
        {
            r[i] = (int)ToInteger(DenormalsAreZero(a[i], m), 32, mode, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<int>)r).AsByte());
    }

    /// <summary>CVT(T)PD2DQ xmm, xmm/m128 and VCVT(T)PD2DQ xmm, ymm/m256: int32 in the low half or quarter, the rest cleared.</summary>
    private static void DoubleToInt32(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector256<double> a = Source(cpu, ins).AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        int mode = ins.Mnemonic is Mnemonic.Cvttpd2dq or Mnemonic.Vcvttpd2dq ? RoundZero : RoundingMode(m);
        Span<int> r = stackalloc int[8];
        r.Clear();
        for (int i = 0; i < SourceElements(ins, 8); i++)
        {
            r[i] = (int)ToInteger(DenormalsAreZero(a[i], m), 32, mode, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<int>)r).AsByte());
    }
}
