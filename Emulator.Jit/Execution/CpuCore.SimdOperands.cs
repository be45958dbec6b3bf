using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>
/// Operand access shared by the x87, MMX and SSE handlers: the availability checks of Intel SDM
/// Vol. 3A 2.5 / Vol. 2A 2.5 (Table 22-5 summary in Vol. 3B 22.x), XMM and MMX registers and 32- to
/// 128-bit memory operands with the alignment rule of the legacy SSE forms.
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>
    /// SSE/SSE2/SSE3/SSSE3/SSE4 instruction: #UD when CR0.EM is set or CR4.OSFXSR is clear, then #NM when
    /// CR0.TS is set (Intel SDM Vol. 3A 13.1.3 and Vol. 2A 3.3 "SIMD Floating-Point Exceptions ... Table 22-3").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckSse()
    {
        if ((Cr0 & (Cr0EM | Cr0TS)) != 0 || (Cr4 & Cr4OsFxsr) == 0)
        {
            CheckSseSlow();
        }
    }

    /// <summary>MMX instruction: #UD when CR0.EM, #NM when CR0.TS (Intel SDM Vol. 3A 12.1, Table 12-1); enters MMX state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnterMmx()
    {
        if ((Cr0 & (Cr0EM | Cr0TS)) != 0)
        {
            throw new GuestFault((Cr0 & Cr0EM) != 0 ? Vectors.UD : Vectors.NM);
        }

        // Any MMX instruction but EMMS sets TOP to 0 and marks every register valid (Intel SDM Vol. 1 9.5.1).
        FpTop = 0;
        FpValid = 0xff;
    }

    /// <summary>x87 instruction: #NM when CR0.EM or CR0.TS is set (Intel SDM Vol. 3A 2.5, Table 2-2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckFpu()
    {
        if ((Cr0 & (Cr0EM | Cr0TS)) != 0)
        {
            throw new GuestFault(Vectors.NM);
        }
    }

    public static bool IsXmm(Register r) => r >= Register.XMM0 && r <= Register.XMM15;

    public static bool IsMmx(Register r) => r >= Register.MM0 && r <= Register.MM7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Vector128<byte> XmmReg(Register r) => ref Xmm[r - Register.XMM0];

    /// <summary>MMi is the significand of physical register Ri; writing it sets the exponent field to all ones (Intel SDM Vol. 1 9.5.1).</summary>
    public ulong ReadMm(Register r) => FpSignificand[r - Register.MM0];

    public void WriteMm(Register r, ulong value)
    {
        int i = r - Register.MM0;
        FpSignificand[i] = value;
        FpSignExponent[i] = 0xffff;
    }

    /// <summary>
    /// Operand n as 128 bits: an XMM register or a 16-byte memory operand. Legacy SSE forms with a
    /// 128-bit memory operand require 16-byte alignment (#GP(0), Intel SDM Vol. 1 11.6.8) unless
    /// the instruction is one of the unaligned forms.
    /// </summary>
    public Vector128<byte> ReadXmmOp(in Instruction ins, int n, bool aligned = true)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            return Xmm[ins.GetOpRegister(n) - Register.XMM0];
        }

        ulong linear = MemoryLinear(ins, 16);
        CheckAligned(linear, aligned);
        return Vector128.Create(ReadSized(linear, 8), ReadSized(linear + 8, 8)).AsByte();
    }

    /// <summary>Operand n as its low <paramref name="size"/> bytes (4 or 8) zero-extended: an XMM register's low lane or a memory operand.</summary>
    public ulong ReadXmmLow(in Instruction ins, int n, int size)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            Register r = ins.GetOpRegister(n);
            ulong v = IsXmm(r) ? Xmm[r - Register.XMM0].AsUInt64().ToScalar() : IsMmx(r) ? ReadMm(r) : ReadReg(r);
            return size == 8 ? v : v & ((1UL << (size * 8)) - 1);
        }

        return ReadSized(MemoryLinear(ins, size), size);
    }

    /// <summary>MMX operand n: an MMX register or a 64-bit memory operand.</summary>
    public ulong ReadMmOp(in Instruction ins, int n) =>
        ins.GetOpKind(n) == OpKind.Register ? ReadMm(ins.GetOpRegister(n)) : ReadSized(MemoryLinear(ins, 8), 8);

    /// <summary>Writes operand n as 128 bits: an XMM register or a 16-byte memory operand.</summary>
    public void WriteXmmOp(in Instruction ins, int n, Vector128<byte> value, bool aligned = true)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            Xmm[ins.GetOpRegister(n) - Register.XMM0] = value;
            return;
        }

        ulong linear = MemoryLinearWrite(ins, 16);
        CheckAligned(linear, aligned);
        Write128(linear, value);
    }

    public Vector128<byte> Read128(ulong linear) => Vector128.Create(ReadSized(linear, 8), ReadSized(linear + 8, 8)).AsByte();

    public void Write128(ulong linear, Vector128<byte> value)
    {
        // Probe the last byte first so that a fault in the second half leaves memory unchanged.
        if (((linear + 15) & SoftTlb.PageMask) < 15)
        {
            WriteSized(linear + 15, 1, value.GetElement(15));
        }

        WriteSized(linear, 8, value.AsUInt64().GetElement(0));
        WriteSized(linear + 8, 8, value.AsUInt64().GetElement(1));
    }

    private static void CheckAligned(ulong linear, bool aligned)
    {
        if (aligned && (linear & 15) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private void CheckSseSlow()
    {
        if ((Cr0 & Cr0EM) != 0 || (Cr4 & Cr4OsFxsr) == 0)
        {
            throw new GuestFault(Vectors.UD);
        }

        throw new GuestFault(Vectors.NM);
    }
}
