using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>
/// Operand access of the VEX-encoded instructions (AVX, AVX2, FMA, F16C) and of the handlers that
/// serve both encodings: the availability check, XMM/YMM registers with the rule for bits 255:128
/// of the register written (Intel SDM Vol. 2A 2.3.10: a legacy SSE instruction keeps them, a
/// VEX.128 instruction zeroes them), and 4- to 32-byte memory operands. A VEX instruction needs no
/// alignment unless it is one of the explicitly aligned moves (Vol. 2A 2.4, Table 2-4).
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>True for a VEX-encoded instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsVex(in Instruction ins) => ins.Encoding == EncodingKind.VEX;

    public static bool IsYmm(Register r) => r >= Register.YMM0 && r <= Register.YMM15;

    /// <summary>Register number 0-15 of an XMM or YMM register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VectorIndex(Register r) => r >= Register.YMM0 ? r - Register.YMM0 : r - Register.XMM0;

    /// <summary>
    /// A VEX-encoded instruction: #UD in real-address and virtual-8086 mode (where C4/C5 are LES/LDS),
    /// when CR4.OSXSAVE is clear or XCR0 does not enable both the SSE and the AVX state; then #NM
    /// when CR0.TS is set. CR0.EM and CR4.OSFXSR do not apply (Intel SDM Vol. 2A 2.8, Table 2-20 ff.;
    /// Vol. 1 13.3, 14.3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckAvx()
    {
        if ((Cr4 & Cr4OsXsave) == 0 || (~Xcr0 & (XsaveLayout.Sse | XsaveLayout.Avx)) != 0 || (Cr0 & (Cr0PE | Cr0TS)) != Cr0PE || V86Mode)
        {
            CheckAvxSlow();
        }
    }

    /// <summary>The availability check of either encoding: <see cref="CheckAvx"/> for VEX, <see cref="CheckSse"/> for legacy SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckVector(in Instruction ins)
    {
        if (IsVex(ins))
        {
            CheckAvx();
        }
        else
        {
            CheckSse();
        }
    }

    /// <summary>
    /// Operand <paramref name="n"/> as 256 bits: a YMM register, an XMM register (zero-extended), or
    /// a memory operand of its size (4 to 32 bytes, zero-extended). <paramref name="alignment"/> is
    /// the alignment a memory operand needs (0 for none): #GP(0) otherwise.
    /// </summary>
    public Vector256<byte> ReadVectorOp(in Instruction ins, int n, int alignment = 0)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            Register r = ins.GetOpRegister(n);
            return IsYmm(r) ? ReadYmm(r - Register.YMM0) : Vector256.Create(Xmm[r - Register.XMM0], Vector128<byte>.Zero);
        }

        int size = ins.MemorySize.GetSize();
        ulong linear = MemoryLinear(ins, size);
        if (alignment != 0 && (linear & (ulong)(alignment - 1)) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        return ReadVector(linear, size);
    }

    /// <summary>The low 128 bits of operand <paramref name="n"/> (see <see cref="ReadVectorOp"/>).</summary>
    public Vector128<byte> ReadVectorLow(in Instruction ins, int n) => ReadVectorOp(ins, n).GetLower();

    /// <summary><paramref name="size"/> bytes (4, 8, 16 or 32) at <paramref name="linear"/>, zero-extended to 256 bits.</summary>
    public Vector256<byte> ReadVector(ulong linear, int size)
    {
        if (size <= 8)
        {
            return Vector256.CreateScalar(ReadSized(linear, size)).AsByte();
        }

        ulong q0 = ReadSized(linear, 8), q1 = ReadSized(WrapLinear(linear + 8), 8);
        if (size == 16)
        {
            return Vector256.Create(q0, q1, 0, 0).AsByte();
        }

        ulong q2 = ReadSized(WrapLinear(linear + 16), 8), q3 = ReadSized(WrapLinear(linear + 24), 8);
        return Vector256.Create(q0, q1, q2, q3).AsByte();
    }

    /// <summary>
    /// Writes the register <paramref name="r"/> as the destination of <paramref name="ins"/>: all 256
    /// bits of a YMM register; of an XMM register bits 127:0, with bits 255:128 zeroed by a VEX
    /// instruction and kept by a legacy SSE instruction (Intel SDM Vol. 2A 2.3.10).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVectorRegister(in Instruction ins, Register r, Vector256<byte> value)
    {
        if (IsYmm(r))
        {
            WriteYmm(r - Register.YMM0, value);
        }
        else if (IsVex(ins))
        {
            WriteXmmZeroUpper(r - Register.XMM0, value.GetLower());
        }
        else
        {
            Xmm[r - Register.XMM0] = value.GetLower();
        }
    }

    /// <summary>Writes operand <paramref name="n"/>: a register (see <see cref="WriteVectorRegister"/>) or memory of the operand's size, aligned to <paramref name="alignment"/> (0 for none).</summary>
    public void WriteVectorOp(in Instruction ins, int n, Vector256<byte> value, int alignment = 0)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            WriteVectorRegister(ins, ins.GetOpRegister(n), value);
            return;
        }

        int size = ins.MemorySize.GetSize();
        ulong linear = MemoryLinearWrite(ins, size);
        if (alignment != 0 && (linear & (ulong)(alignment - 1)) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        WriteVector(linear, size, value);
    }

    /// <summary>Stores the low <paramref name="size"/> bytes (4, 8, 16 or 32) of <paramref name="value"/>; nothing is written unless every byte can be.</summary>
    public void WriteVector(ulong linear, int size, Vector256<byte> value)
    {
        if (size <= 8)
        {
            WriteSized(linear, size, value.AsUInt64().ToScalar());
            return;
        }

        ProbeWrite(linear, size);
        Vector256<ulong> q = value.AsUInt64();
        for (int i = 0; i < size / 8; i++)
        {
            WriteSized(WrapLinear(linear + (ulong)(8 * i)), 8, q.GetElement(i));
        }
    }

    /// <summary>
    /// Raises the fault a write of <paramref name="length"/> bytes at <paramref name="linear"/> would
    /// raise, page by page in ascending order, before any byte is written: a store that faults on
    /// its second page must leave the first unchanged (an instruction that faults has not executed,
    /// Intel SDM Vol. 3A 6.5). Only a write that crosses a page needs it: otherwise its first byte faults first.
    /// </summary>
    public void ProbeWrite(ulong linear, int length)
    {
        ulong last = WrapLinear(linear + (ulong)(length - 1));
        if ((linear >> SoftTlb.PageShift) != (last >> SoftTlb.PageShift))
        {
            CheckWritable(linear, length);
        }
    }

    /// <summary>Raises the fault a write of <paramref name="length"/> bytes at <paramref name="linear"/> would raise, page by page in ascending order, without writing.</summary>
    public void CheckWritable(ulong linear, int length)
    {
        ulong last = WrapLinear(linear + (ulong)(length - 1));
        for (ulong page = linear & ~SoftTlb.PageMask; ; page = WrapLinear(page + SoftTlb.PageMask + 1))
        {
            _ = Translate(page == (linear & ~SoftTlb.PageMask) ? linear : page, Access.Write, Tlb.User, out _);
            if (page == (last & ~SoftTlb.PageMask))
            {
                break;
            }
        }
    }

    private void CheckAvxSlow()
    {
        if ((Cr4 & Cr4OsXsave) == 0 || (~Xcr0 & (XsaveLayout.Sse | XsaveLayout.Avx)) != 0 || !ProtectedMode || V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }

        throw new GuestFault(Vectors.NM);
    }
}
