using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>A packed operation on one 128-bit lane (result = op(first source, second source)).</summary>
internal interface IVectorOp
{
    static abstract Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b);

    /// <summary>True when the 64-bit MMX form is the 128-bit operation on the low halves (every element-wise operation).</summary>
    static virtual bool Lifts => true;

    /// <summary>The 64-bit MMX form of an operation that does not lift.</summary>
    static virtual ulong ApplyMmx(ulong a, ulong b) => 0;
}

/// <summary>A packed operation with an 8-bit immediate on one 128-bit lane (result = op(first source, second source, imm8)).</summary>
internal interface IVectorImmOp
{
    static abstract Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm);

    static virtual bool Lifts => true;

    static virtual ulong ApplyMmx(ulong a, ulong b, byte imm) => 0;

    /// <summary>
    /// The immediate as lane <paramref name="lane"/> of a 256-bit form sees it: the same byte for
    /// most instructions; the next bits for those whose immediate has a field per element (BLENDPS,
    /// BLENDPD, SHUFPD, VPBLENDD) or per lane (MPSADBW).
    /// </summary>
    static virtual byte LaneImmediate(byte imm, int lane) => imm;
}

/// <summary>
/// The operand shapes of the MMX, SSE and AVX instructions, shared by every family file: each reads
/// its operands, calls one operation and writes the destination. The operation is a struct type
/// parameter so that the JIT specialises and inlines it (no delegate, no allocation).
/// <para>
/// One handler serves an instruction's legacy SSE and VEX encodings (Intel SDM Vol. 2A 2.3): a
/// legacy form OP xmm1, xmm2/m128 computes op(xmm1, xmm2/m128), keeps bits 255:128 of YMM1 and
/// needs a 16-byte aligned memory operand; a VEX form VOP xmm1, xmm2, xmm3/m128 computes
/// op(xmm2, xmm3/m128) (a two-operand VEX form, op(xmm1, xmm2/m128) like the legacy one), zeroes
/// bits 255:128 and accepts any alignment; a VEX.256 form applies the 128-bit operation to each
/// 128-bit lane. The MMX forms are the 128-bit operation on the low halves unless it does not lift.
/// </para>
/// </summary>
internal static class SimdForms
{
    /// <summary>OP xmm, xmm/m128 (aligned) or OP mm, mm/m64, and VOP xmm/ymm, [xmm/ymm,] xmm/ymm/m.</summary>
    public static void Packed<T>(CpuCore cpu, ref Instruction ins)
        where T : IVectorOp
    {
        Register dst = ins.Op0Register;
        if (CpuCore.IsMmx(dst))
        {
            cpu.EnterMmx();
            ulong b = cpu.ReadMmOp(ins, 1);
            ulong a = cpu.ReadMm(dst);
            cpu.WriteMm(dst, T.Lifts ? Low(T.Apply(V(a), V(b))) : T.ApplyMmx(a, b));
            return;
        }

        cpu.CheckVector(ins);
        (Vector256<byte> x, Vector256<byte> y) = Sources(cpu, ins);
        Vector128<byte> lo = T.Apply(x.GetLower(), y.GetLower());
        Vector128<byte> hi = CpuCore.IsYmm(dst) ? T.Apply(x.GetUpper(), y.GetUpper()) : default;
        cpu.WriteVectorRegister(ins, dst, Vector256.Create(lo, hi));
    }

    /// <summary>OP xmm, xmm/m128, imm8 or OP mm, mm/m64, imm8, and their VEX forms.</summary>
    public static void PackedImm<T>(CpuCore cpu, ref Instruction ins)
        where T : IVectorImmOp
    {
        Register dst = ins.Op0Register;
        byte imm = ins.Immediate8;
        if (CpuCore.IsMmx(dst))
        {
            cpu.EnterMmx();
            ulong b = cpu.ReadMmOp(ins, 1);
            ulong a = cpu.ReadMm(dst);
            cpu.WriteMm(dst, T.Lifts ? Low(T.Apply(V(a), V(b), imm)) : T.ApplyMmx(a, b, imm));
            return;
        }

        cpu.CheckVector(ins);
        (Vector256<byte> x, Vector256<byte> y) = Sources(cpu, ins);
        Vector128<byte> lo = T.Apply(x.GetLower(), y.GetLower(), T.LaneImmediate(imm, 0));
        Vector128<byte> hi = CpuCore.IsYmm(dst) ? T.Apply(x.GetUpper(), y.GetUpper(), T.LaneImmediate(imm, 1)) : default;
        cpu.WriteVectorRegister(ins, dst, Vector256.Create(lo, hi));
    }

    /// <summary>
    /// Shifts: OP xmm, imm8 / OP xmm, xmm/m128 / OP mm, imm8 / OP mm, mm/m64, and VOP xmm/ymm,
    /// xmm/ymm, imm8 / VOP xmm/ymm, xmm/ymm, xmm/m128. The count is the immediate or the low 64 bits
    /// of the count operand, the same for both lanes of a 256-bit form (Intel SDM Vol. 2B
    /// PSLLW/PSLLD/PSLLQ); the operation gets it in the low quadword of its second argument.
    /// </summary>
    public static void Shift<T>(CpuCore cpu, ref Instruction ins)
        where T : IVectorOp
    {
        Register dst = ins.Op0Register;
        int last = ins.OpCount - 1;
        bool immediate = ins.GetOpKind(last) == OpKind.Immediate8;
        if (CpuCore.IsMmx(dst))
        {
            cpu.EnterMmx();
            ulong count = immediate ? ins.Immediate8 : cpu.ReadMmOp(ins, 1);
            ulong a = cpu.ReadMm(dst);
            cpu.WriteMm(dst, Low(T.Apply(V(a), V(count))));
            return;
        }

        cpu.CheckVector(ins);
        Vector128<byte> c = immediate ? V(ins.Immediate8) : cpu.ReadVectorOp(ins, last, LegacyAlignment(ins)).GetLower();
        Vector256<byte> x = cpu.ReadVectorOp(ins, CpuCore.IsVex(ins) ? 1 : 0);
        Vector128<byte> lo = T.Apply(x.GetLower(), c);
        Vector128<byte> hi = CpuCore.IsYmm(dst) ? T.Apply(x.GetUpper(), c) : default;
        cpu.WriteVectorRegister(ins, dst, Vector256.Create(lo, hi));
    }

    /// <summary>
    /// The two sources of a packed instruction: (xmm1, xmm2/m) of a legacy form (the memory operand
    /// 16-byte aligned when it is 16 bytes and <paramref name="aligned"/>), (xmm2/ymm2, xmm3/ymm3/m)
    /// of a three-operand VEX form and (xmm1, xmm2/m) of a two-operand one. A memory operand
    /// narrower than 128 bits (a scalar) arrives zero-extended.
    /// </summary>
    public static (Vector256<byte> A, Vector256<byte> B) Sources(CpuCore cpu, in Instruction ins, bool aligned = true)
    {
        int n = VectorOperandCount(ins);
        if (!CpuCore.IsVex(ins) || n < 3)
        {
            return (cpu.ReadVectorOp(ins, 0), cpu.ReadVectorOp(ins, 1, aligned ? LegacyAlignment(ins) : 0));
        }

        return (cpu.ReadVectorOp(ins, 1), cpu.ReadVectorOp(ins, 2));
    }

    /// <summary>The operands before a trailing immediate.</summary>
    public static int VectorOperandCount(in Instruction ins)
    {
        int n = ins.OpCount;
        return n > 0 && ins.GetOpKind(n - 1) == OpKind.Immediate8 ? n - 1 : n;
    }

    /// <summary>The instruction's imm8, or 0 when it has none.</summary>
    public static byte ImmediateOf(in Instruction ins) => ins.OpCount > 1 && ins.GetOpKind(ins.OpCount - 1) == OpKind.Immediate8 ? ins.Immediate8 : (byte)0;

    /// <summary>
    /// The alignment a memory operand of a legacy SSE instruction needs: 16 bytes for a 128-bit
    /// operand (#GP(0) otherwise, Intel SDM Vol. 1 11.6.8), none for a narrower one or any VEX form.
    /// </summary>
    public static int LegacyAlignment(in Instruction ins) => !CpuCore.IsVex(ins) && ins.MemorySize.GetSize() == 16 ? 16 : 0;

    public static Vector128<byte> V(ulong v) => Vector128.CreateScalar(v).AsByte();

    public static ulong Low(Vector128<byte> v) => v.AsUInt64().ToScalar();

    /// <summary>
    /// Records the SIMD floating-point exception flags of one instruction in MXCSR and raises #XM
    /// (or #UD while CR4.OSXMMEXCPT is clear) when one of them is unmasked; the destination is then
    /// left unchanged (Intel SDM Vol. 1 11.5.3, Vol. 3A 6.15 interrupt 19).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Commit(CpuCore cpu, uint flags)
    {
        cpu.Mxcsr |= flags;
        if ((flags & ~(cpu.Mxcsr >> 7) & 0x3f) != 0)
        {
            throw new GuestFault((cpu.Cr4 & CpuCore.Cr4OsXmmExcpt) != 0 ? Vectors.XM : Vectors.UD);
        }
    }
}
