using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE/SSE2 conversions between integers, single and double precision (Intel SDM Vol. 1 11.4.1.6;
/// Vol. 2A CVTDQ2PD...CVTTSS2SI): MXCSR rounding (the CVTT forms truncate), the integer indefinite
/// value for NaN and out-of-range results, and precision, overflow and underflow on narrowing.
/// </summary>
internal static unsafe class SseConvert
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Cvtsi2sd, &IntegerToScalar);
        r.Add(Mnemonic.Cvtsi2ss, &IntegerToScalar);
        r.Add(Mnemonic.Cvtsd2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvttsd2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvtss2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvttss2si, &ScalarToInteger);
        r.Add(Mnemonic.Cvtss2sd, &Cvtss2sd);
        r.Add(Mnemonic.Cvtsd2ss, &Cvtsd2ss);
        r.Add(Mnemonic.Cvtps2pd, &Cvtps2pd);
        r.Add(Mnemonic.Cvtpd2ps, &Cvtpd2ps);
        r.Add(Mnemonic.Cvtdq2ps, &Cvtdq2ps);
        r.Add(Mnemonic.Cvtdq2pd, &Cvtdq2pd);
        r.Add(Mnemonic.Cvtps2dq, &SingleToInt32);
        r.Add(Mnemonic.Cvttps2dq, &SingleToInt32);
        r.Add(Mnemonic.Cvtpd2dq, &DoubleToInt32);
        r.Add(Mnemonic.Cvttpd2dq, &DoubleToInt32);
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

    /// <summary>CVTSI2SD / CVTSI2SS xmm, r/m32 or r/m64: the low element; the rest of the destination is kept.</summary>
    private static void IntegerToScalar(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        int size = CpuCore.OpSize(ins, 1);
        ulong raw = cpu.ReadOp(ins, 1, size);
        long value = size == 8 ? (long)raw : (int)raw;
        uint flags = 0;
        bool single = ins.Mnemonic == Mnemonic.Cvtsi2ss;
        double r = FromInteger(value, single, RoundingMode(cpu.Mxcsr), ref flags);
        SimdForms.Commit(cpu, flags);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = single ? d.AsSingle().WithElement(0, (float)r).AsByte() : d.AsDouble().WithElement(0, r).AsByte();
    }

    /// <summary>CVT(T)SD2SI / CVT(T)SS2SI r32/r64, xmm/m64 or xmm/m32.</summary>
    private static void ScalarToInteger(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        bool single = ins.Mnemonic is Mnemonic.Cvtss2si or Mnemonic.Cvttss2si;
        bool truncate = ins.Mnemonic is Mnemonic.Cvttsd2si or Mnemonic.Cvttss2si;
        ulong raw = cpu.ReadXmmLow(ins, 1, single ? 4 : 8);
        uint flags = 0;
        double v = single ? DenormalsAreZero(BitConverter.UInt32BitsToSingle((uint)raw), cpu.Mxcsr) : DenormalsAreZero(BitConverter.UInt64BitsToDouble(raw), cpu.Mxcsr);
        int bits = RegisterMap.Size[(int)ins.Op0Register] * 8;
        long r = ToInteger(v, bits, truncate ? RoundZero : RoundingMode(cpu.Mxcsr), ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteReg(ins.Op0Register, bits == 32 ? (uint)r : (ulong)r);
    }

    private static void Cvtss2sd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        float a = BitConverter.UInt32BitsToSingle((uint)cpu.ReadXmmLow(ins, 1, 4));
        uint flags = 0;
        double r = Widen(a, cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsDouble().WithElement(0, r).AsByte();
    }

    private static void Cvtsd2ss(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        double a = BitConverter.UInt64BitsToDouble(cpu.ReadXmmLow(ins, 1, 8));
        uint flags = 0;
        float r = Narrow(a, cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        d = d.AsSingle().WithElement(0, r).AsByte();
    }

    /// <summary>CVTPS2PD xmm, xmm/m64: the two low singles.</summary>
    private static void Cvtps2pd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ulong raw = cpu.ReadXmmLow(ins, 1, 8);
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<double> r = Vector128.Create(Widen(BitConverter.UInt32BitsToSingle((uint)raw), m, ref flags), Widen(BitConverter.UInt32BitsToSingle((uint)(raw >> 32)), m, ref flags));
        SimdForms.Commit(cpu, flags);
        cpu.XmmReg(ins.Op0Register) = r.AsByte();
    }

    /// <summary>CVTPD2PS: two singles in the low quadword, the high quadword cleared.</summary>
    private static void Cvtpd2ps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<double> a = cpu.ReadXmmOp(ins, 1).AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<float> r = Vector128.Create(Narrow(a[0], m, ref flags), Narrow(a[1], m, ref flags), 0, 0);
        SimdForms.Commit(cpu, flags);
        cpu.XmmReg(ins.Op0Register) = r.AsByte();
    }

    private static void Cvtdq2ps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<int> a = cpu.ReadXmmOp(ins, 1).AsInt32();
        uint flags = 0;
        int mode = RoundingMode(cpu.Mxcsr);
        Vector128<float> r = Vector128.Create(
            (float)FromInteger(a[0], true, mode, ref flags),
            (float)FromInteger(a[1], true, mode, ref flags),
            (float)FromInteger(a[2], true, mode, ref flags),
            (float)FromInteger(a[3], true, mode, ref flags));
        SimdForms.Commit(cpu, flags);
        cpu.XmmReg(ins.Op0Register) = r.AsByte();
    }

    /// <summary>CVTDQ2PD xmm, xmm/m64: exact.</summary>
    private static void Cvtdq2pd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ulong raw = cpu.ReadXmmLow(ins, 1, 8);
        cpu.XmmReg(ins.Op0Register) = Vector128.Create((double)(int)raw, (int)(raw >> 32)).AsByte();
    }

    private static void SingleToInt32(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<float> a = cpu.ReadXmmOp(ins, 1).AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        int mode = ins.Mnemonic == Mnemonic.Cvttps2dq ? RoundZero : RoundingMode(m);
        Vector128<int> r = Vector128.Create(
            (int)ToInteger(DenormalsAreZero(a[0], m), 32, mode, ref flags),
            (int)ToInteger(DenormalsAreZero(a[1], m), 32, mode, ref flags),
            (int)ToInteger(DenormalsAreZero(a[2], m), 32, mode, ref flags),
            (int)ToInteger(DenormalsAreZero(a[3], m), 32, mode, ref flags));
        SimdForms.Commit(cpu, flags);
        cpu.XmmReg(ins.Op0Register) = r.AsByte();
    }

    /// <summary>CVT(T)PD2DQ: two int32 in the low quadword, the high quadword cleared.</summary>
    private static void DoubleToInt32(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<double> a = cpu.ReadXmmOp(ins, 1).AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        int mode = ins.Mnemonic == Mnemonic.Cvttpd2dq ? RoundZero : RoundingMode(m);
        Vector128<int> r = Vector128.Create(
            (int)ToInteger(DenormalsAreZero(a[0], m), 32, mode, ref flags),
            (int)ToInteger(DenormalsAreZero(a[1], m), 32, mode, ref flags),
            0,
            0);
        SimdForms.Commit(cpu, flags);
        cpu.XmmReg(ins.Op0Register) = r.AsByte();
    }
}
