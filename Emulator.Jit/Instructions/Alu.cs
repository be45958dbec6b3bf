using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Integer addition and subtraction: ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, XADD.</summary>
internal static unsafe class Alu
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Add, BinaryForms<AddOp>.Table);
        r.Add(Mnemonic.Adc, BinaryForms<AdcOp>.Table);
        r.Add(Mnemonic.Sub, BinaryForms<SubOp>.Table);
        r.Add(Mnemonic.Sbb, BinaryForms<SbbOp>.Table);
        r.Add(Mnemonic.Cmp, BinaryForms<CmpOp>.Table);
        r.Add(Mnemonic.Inc, UnaryForms<IncOp>.Table);
        r.Add(Mnemonic.Dec, UnaryForms<DecOp>.Table);
        r.Add(Mnemonic.Neg, UnaryForms<NegOp>.Table);
        r.Add(Mnemonic.Xadd, &Xadd);
    }

    public static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    // ADC and SBB: the lazy flags also keep the carry that went in (still CF until they are set).
    private static void SetWithCarryIn(CpuCore cpu, FlagOp op, int size, ulong result, ulong dst, ulong src)
    {
        uint carry = cpu.Flags.Carry ? 1u : 0u;
        cpu.Flags.Set(op, size, result, dst, src);
        cpu.Flags.CarryIn = carry;
    }

    private struct AddOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => (dst + src) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => cpu.Flags.Set(FlagOp.Add, size, result, dst, src);
    }

    private struct AdcOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => (dst + src + (cpu.Flags.Carry ? 1UL : 0)) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetWithCarryIn(cpu, FlagOp.Adc, size, result, dst, src);
    }

    private struct SubOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => (dst - src) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => cpu.Flags.Set(FlagOp.Sub, size, result, dst, src);
    }

    private struct SbbOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => (dst - src - (cpu.Flags.Carry ? 1UL : 0)) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetWithCarryIn(cpu, FlagOp.Sbb, size, result, dst, src);
    }

    private struct CmpOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => false;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => (dst - src) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => cpu.Flags.Set(FlagOp.Sub, size, result, dst, src);
    }

    // INC and DEC leave CF as it was (Intel SDM Vol. 2A INC, DEC).
    private struct IncOp : IUnaryOp
    {
        public static ulong Compute(CpuCore cpu, int size, ulong value) => (value + 1) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong value) => cpu.Flags.SetKeepCarry(FlagOp.Inc, size, result, value);
    }

    private struct DecOp : IUnaryOp
    {
        public static ulong Compute(CpuCore cpu, int size, ulong value) => (value - 1) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong value) => cpu.Flags.SetKeepCarry(FlagOp.Dec, size, result, value);
    }

    private struct NegOp : IUnaryOp
    {
        public static ulong Compute(CpuCore cpu, int size, ulong value) => (0 - value) & Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong value) => cpu.Flags.Set(FlagOp.Neg, size, result, value, 0);
    }

    // TEMP := SRC + DEST; SRC := DEST; DEST := TEMP (Intel SDM Vol. 2B XADD). A memory destination
    // is written first, while the source register (which may address it) still holds its old
    // value; XADD reg, reg writes the source first, so XADD r, r leaves the sum.
    private static void Xadd(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        ulong r = (a + b) & Mask(size);
        if (ins.Op0Kind == OpKind.Memory)
        {
            cpu.WriteOp(ins, 0, size, r);
            cpu.WriteOp(ins, 1, size, a);
        }
        else
        {
            cpu.WriteOp(ins, 1, size, a);
            cpu.WriteOp(ins, 0, size, r);
        }

        cpu.Flags.Set(FlagOp.Add, size, r, a, b);
    }
}
