using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Bitwise logic: AND, OR, XOR, TEST, NOT. CF and OF are cleared, AF is undefined (left clear).</summary>
internal static unsafe class Logic
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.And, BinaryForms<AndOp>.Table);
        r.Add(Mnemonic.Or, BinaryForms<OrOp>.Table);
        r.Add(Mnemonic.Xor, BinaryForms<XorOp>.Table);
        r.Add(Mnemonic.Test, BinaryForms<TestOp>.Table);
        r.Add(Mnemonic.Not, UnaryForms<NotOp>.Table);
    }

    // The flags follow the result, with CF = OF = 0.
    private static void SetLogicFlags(CpuCore cpu, int size, ulong result) => cpu.Flags.Set(FlagOp.Logic, size, result, 0, 0);

    private struct AndOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => dst & src;

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetLogicFlags(cpu, size, result);
    }

    private struct OrOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => dst | src;

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetLogicFlags(cpu, size, result);
    }

    private struct XorOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => dst ^ src;

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetLogicFlags(cpu, size, result);
    }

    private struct TestOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => false;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => dst & src;

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src) => SetLogicFlags(cpu, size, result);
    }

    private struct NotOp : IUnaryOp
    {
        public static ulong Compute(CpuCore cpu, int size, ulong value) => ~value & Alu.Mask(size);

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong value)
        {
        }
    }
}
