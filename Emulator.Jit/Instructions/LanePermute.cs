using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The instructions that move whole 128-bit lanes (Intel SDM Vol. 2B): VPERM2F128 and VPERM2I128,
/// VINSERTF128 and VINSERTI128, VEXTRACTF128 and VEXTRACTI128.
/// </summary>
internal static unsafe class LanePermute
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vperm2f128, &Perm2);
        r.Add(Mnemonic.Vperm2i128, &Perm2);
        r.Add(Mnemonic.Vinsertf128, &Insert);
        r.Add(Mnemonic.Vinserti128, &Insert);
        r.Add(Mnemonic.Vextractf128, &Extract);
        r.Add(Mnemonic.Vextracti128, &Extract);
    }

    /// <summary>VPERM2x128 ymm1, ymm2, ymm3/m256, imm8: each lane of the result is chosen by a nibble of imm8 (bits 1:0 pick a lane of the sources, bit 3 zeroes it).</summary>
    private static void Perm2(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<byte> a = cpu.ReadVectorOp(ins, 1), b = cpu.ReadVectorOp(ins, 2);
        byte imm = ins.Immediate8;
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create(Select(a, b, imm), Select(a, b, imm >> 4)));
    }

    private static Vector128<byte> Select(Vector256<byte> a, Vector256<byte> b, int control) => (control & 8) != 0 ? Vector128<byte>.Zero : (control & 3) switch
    {
        0 => a.GetLower(),
        1 => a.GetUpper(),
        2 => b.GetLower(),
        _ => b.GetUpper(),
    };

    /// <summary>VINSERTx128 ymm1, ymm2, xmm3/m128, imm8: ymm2 with lane imm8[0] replaced.</summary>
    private static void Insert(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<byte> a = cpu.ReadVectorOp(ins, 1);
        Vector128<byte> b = cpu.ReadVectorOp(ins, 2).GetLower();
        cpu.WriteVectorRegister(ins, ins.Op0Register, (ins.Immediate8 & 1) == 0 ? a.WithLower(b) : a.WithUpper(b));
    }

    /// <summary>VEXTRACTx128 xmm1/m128, ymm2, imm8: lane imm8[0] to a register (bits 255:128 zeroed) or 16 bytes of memory.</summary>
    private static void Extract(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<byte> a = cpu.ReadVectorOp(ins, 1);
        Vector128<byte> lane = (ins.Immediate8 & 1) == 0 ? a.GetLower() : a.GetUpper();
        cpu.WriteVectorOp(ins, 0, Vector256.Create(lane, Vector128<byte>.Zero));
    }
}
