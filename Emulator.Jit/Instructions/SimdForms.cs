using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>A two-operand packed operation on 128 bits (dest = op(dest, source)).</summary>
internal interface IVectorOp
{
    static abstract Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b);

    /// <summary>True when the 64-bit MMX form is the 128-bit operation on the low halves (every element-wise operation).</summary>
    static virtual bool Lifts => true;

    /// <summary>The 64-bit MMX form of an operation that does not lift.</summary>
    static virtual ulong ApplyMmx(ulong a, ulong b) => 0;
}

/// <summary>A packed operation with an 8-bit immediate (dest = op(dest, source, imm8)).</summary>
internal interface IVectorImmOp
{
    static abstract Vector128<byte> Apply(Vector128<byte> a, Vector128<byte> b, byte imm);

    static virtual bool Lifts => true;

    static virtual ulong ApplyMmx(ulong a, ulong b, byte imm) => 0;
}

/// <summary>
/// The operand shapes of the MMX and SSE instructions, shared by every family file: each reads
/// its operands, calls one operation and writes the destination. The operation is a struct type
/// parameter so that the JIT specialises and inlines it (no delegate, no allocation).
/// </summary>
internal static class SimdForms
{
    /// <summary>OP xmm, xmm/m128 (aligned) or OP mm, mm/m64.</summary>
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

        cpu.CheckSse();
        Vector128<byte> src = cpu.ReadXmmOp(ins, 1);
        ref Vector128<byte> d = ref cpu.XmmReg(dst);
        d = T.Apply(d, src);
    }

    /// <summary>OP xmm, xmm/m128, imm8 or OP mm, mm/m64, imm8.</summary>
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

        cpu.CheckSse();
        Vector128<byte> src = cpu.ReadXmmOp(ins, 1);
        ref Vector128<byte> d = ref cpu.XmmReg(dst);
        d = T.Apply(d, src, imm);
    }

    /// <summary>
    /// Shifts: OP xmm, imm8 / OP xmm, xmm/m128 / OP mm, imm8 / OP mm, mm/m64. The count is the
    /// immediate or the low 64 bits of the source (Intel SDM Vol. 2B PSLLW/PSLLD/PSLLQ); the operation
    /// gets it in the low quadword of its second argument.
    /// </summary>
    public static void Shift<T>(CpuCore cpu, ref Instruction ins)
        where T : IVectorOp
    {
        Register dst = ins.Op0Register;
        bool immediate = ins.GetOpKind(1) == OpKind.Immediate8;
        if (CpuCore.IsMmx(dst))
        {
            cpu.EnterMmx();
            ulong count = immediate ? ins.Immediate8 : cpu.ReadMmOp(ins, 1);
            ulong a = cpu.ReadMm(dst);
            cpu.WriteMm(dst, Low(T.Apply(V(a), V(count))));
            return;
        }

        cpu.CheckSse();
        Vector128<byte> c = immediate ? Vector128.CreateScalar((ulong)ins.Immediate8).AsByte() : cpu.ReadXmmOp(ins, 1);
        ref Vector128<byte> d = ref cpu.XmmReg(dst);
        d = T.Apply(d, c);
    }

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
