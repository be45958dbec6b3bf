using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The broadcasts of AVX and AVX2 (Intel SDM Vol. 2A VBROADCAST, VPBROADCAST): the low element of
/// the source (a register, or memory of the element's size) copied to every element of the 128- or
/// 256-bit destination; VBROADCASTF128 and VBROADCASTI128 copy a 128-bit memory operand to both lanes.
/// </summary>
internal static unsafe class Broadcast
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vbroadcastss, &Element);
        r.Add(Mnemonic.Vbroadcastsd, &Element);
        r.Add(Mnemonic.Vpbroadcastb, &Element);
        r.Add(Mnemonic.Vpbroadcastw, &Element);
        r.Add(Mnemonic.Vpbroadcastd, &Element);
        r.Add(Mnemonic.Vpbroadcastq, &Element);
        r.Add(Mnemonic.Vbroadcastf128, &Lane);
        r.Add(Mnemonic.Vbroadcasti128, &Lane);
    }

    private static void Element(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        ulong v = cpu.ReadVectorOp(ins, 1).AsUInt64().ToScalar();
        Vector256<byte> r = ins.Mnemonic switch
        {
            Mnemonic.Vpbroadcastb => Vector256.Create((byte)v),
            Mnemonic.Vpbroadcastw => Vector256.Create((ushort)v).AsByte(),
            Mnemonic.Vbroadcastss or Mnemonic.Vpbroadcastd => Vector256.Create((uint)v).AsByte(),
            _ => Vector256.Create(v).AsByte(),
        };
        cpu.WriteVectorRegister(ins, ins.Op0Register, CpuCore.IsYmm(ins.Op0Register) ? r : r.WithUpper(Vector128<byte>.Zero));
    }

    private static void Lane(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector128<byte> v = cpu.ReadVectorOp(ins, 1).GetLower();
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(v, v));
    }
}
