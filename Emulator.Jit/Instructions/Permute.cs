using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Element permutes of AVX and AVX2 (Intel SDM Vol. 2B VPERMILPS, VPERMILPD, VPERMD, VPERMPS,
/// VPERMQ, VPERMPD): VPERMILPS/PD select within each 128-bit lane (by imm8 or by a control vector);
/// VPERMD/PS/Q/PD select across the whole 256-bit source.
/// </summary>
internal static unsafe class Permute
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vpermilps, &Vpermilps);
        r.Add(Mnemonic.Vpermilpd, &Vpermilpd);
        r.Add(Mnemonic.Vpermd, &Doublewords);
        r.Add(Mnemonic.Vpermps, &Doublewords);
        r.Add(Mnemonic.Vpermq, &Quadwords);
        r.Add(Mnemonic.Vpermpd, &Quadwords);
    }

    /// <summary>
    /// VPERMILPS x/ymm1, x/ymm2, x/ymm3/m (bits 1:0 of each control doubleword pick an element of the
    /// same lane of the first source) or x/ymm1, x/ymm2/m, imm8 (two bits per element, the same for both lanes).
    /// </summary>
    private static void Vpermilps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        bool immediate = ins.GetOpKind(ins.OpCount - 1) == OpKind.Immediate8;
        Vector256<uint> table = cpu.ReadVectorOp(ins, 1).AsUInt32();
        Vector256<uint> control = immediate ? Vector256<uint>.Zero : cpu.ReadVectorOp(ins, 2).AsUInt32();
        int count = CpuCore.IsYmm(ins.Op0Register) ? 8 : 4;
        Span<uint> r = stackalloc uint[8];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            int select = immediate ? (ins.Immediate8 >> (2 * (i & 3))) & 3 : (int)(control[i] & 3);
            r[i] = table[(i & ~3) + select];
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<uint>)r).AsByte());
    }

    /// <summary>VPERMILPD: bit 1 of each control quadword, or imm8 bit i for element i, picks an element of the same lane.</summary>
    private static void Vpermilpd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        bool immediate = ins.GetOpKind(ins.OpCount - 1) == OpKind.Immediate8;
        Vector256<ulong> table = cpu.ReadVectorOp(ins, 1).AsUInt64();
        Vector256<ulong> control = immediate ? Vector256<ulong>.Zero : cpu.ReadVectorOp(ins, 2).AsUInt64();
        int count = CpuCore.IsYmm(ins.Op0Register) ? 4 : 2;
        Span<ulong> r = stackalloc ulong[4];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            int select = immediate ? (ins.Immediate8 >> i) & 1 : (int)((control[i] >> 1) & 1);
            r[i] = table[(i & ~1) + select];
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<ulong>)r).AsByte());
    }

    /// <summary>VPERMD / VPERMPS ymm1, ymm2, ymm3/m256: element i of the result is the element of ymm3/m256 that bits 2:0 of element i of ymm2 name.</summary>
    private static void Doublewords(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<uint> index = cpu.ReadVectorOp(ins, 1).AsUInt32();
        Vector256<uint> table = cpu.ReadVectorOp(ins, 2).AsUInt32();
        Span<uint> r = stackalloc uint[8];
        for (int i = 0; i < 8; i++)
        {
            r[i] = table[(int)(index[i] & 7)];
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<uint>)r).AsByte());
    }

    /// <summary>VPERMQ / VPERMPD ymm1, ymm2/m256, imm8: element i of the result is the source element imm8[2i+1:2i] names.</summary>
    private static void Quadwords(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<ulong> table = cpu.ReadVectorOp(ins, 1).AsUInt64();
        byte imm = ins.Immediate8;
        Vector256<ulong> r = Vector256.Create(table[imm & 3], table[(imm >> 2) & 3], table[(imm >> 4) & 3], table[(imm >> 6) & 3]);
        cpu.WriteVectorRegister(ins, ins.Op0Register, r.AsByte());
    }
}
