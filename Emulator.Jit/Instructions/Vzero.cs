using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// VZEROUPPER and VZEROALL (Intel SDM Vol. 2B): bits 255:128 of the YMM registers, or the whole
/// registers, cleared. Outside 64-bit mode only YMM0-YMM7 are affected.
/// </summary>
internal static unsafe class Vzero
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vzeroupper, &Vzeroupper);
        r.Add(Mnemonic.Vzeroall, &Vzeroall);
    }

    private static void Vzeroupper(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        cpu.YmmHigh[..(cpu.Bitness == 64 ? 16 : 8)].Clear();
    }

    private static void Vzeroall(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        int registers = cpu.Bitness == 64 ? 16 : 8;
        cpu.YmmHigh[..registers].Clear();
        cpu.Xmm[..registers].Fill(Vector128<byte>.Zero);
    }
}
