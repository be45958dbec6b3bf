using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The AVX2 gathers (Intel SDM Vol. 2B VGATHERDPS/DPD/QPS/QPD, VPGATHERDD/DQ/QD/QQ): element i is
/// loaded from base + index[i] * scale + displacement (VSIB addressing, Vol. 2A 2.3.12; doubleword
/// indices sign-extended) when the top bit of mask element i is set, and left as it was otherwise.
/// Elements are gathered from the lowest up; each completed element clears its mask element, so a
/// fault leaves the elements below it gathered and their mask elements cleared, and the instruction
/// can be restarted. On completion the whole mask register is cleared and the destination bits above
/// the gathered elements are zeroed. #UD when two of the destination, index and mask registers are the same.
/// </summary>
internal static unsafe class Gather
{
    public static void Register(HandlerTable.Registry r)
    {
        foreach (Mnemonic m in new[]
        {
            Mnemonic.Vgatherdps, Mnemonic.Vgatherdpd, Mnemonic.Vgatherqps, Mnemonic.Vgatherqpd,
            Mnemonic.Vpgatherdd, Mnemonic.Vpgatherdq, Mnemonic.Vpgatherqd, Mnemonic.Vpgatherqq,
        })
        {
            r.Add(m, &Run);
        }
    }

    private static void Run(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Register dst = ins.Op0Register, maskRegister = ins.Op2Register, indexRegister = ins.MemoryIndex;
        int d = CpuCore.VectorIndex(dst), k = CpuCore.VectorIndex(maskRegister), x = CpuCore.VectorIndex(indexRegister);
        if (d == k || d == x || k == x)
        {
            throw new GuestFault(Vectors.UD);
        }

        Mnemonic m = ins.Mnemonic;
        int size = m is Mnemonic.Vgatherdpd or Mnemonic.Vgatherqpd or Mnemonic.Vpgatherdq or Mnemonic.Vpgatherqq ? 8 : 4;
        int indexSize = m is Mnemonic.Vgatherqps or Mnemonic.Vgatherqpd or Mnemonic.Vpgatherqd or Mnemonic.Vpgatherqq ? 8 : 4;
        int count = Math.Min((CpuCore.IsYmm(dst) ? 32 : 16) / size, (CpuCore.IsYmm(indexRegister) ? 32 : 16) / indexSize);

        Vector256<byte> index = cpu.ReadYmm(x);
        Span<byte> result = stackalloc byte[32];
        Span<byte> mask = stackalloc byte[32];
        cpu.ReadYmm(d).CopyTo(result);
        cpu.ReadYmm(k).CopyTo(mask);
        result[(count * size)..].Clear();
        mask[(count * size)..].Clear();

        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        ulong addressMask = ins.MemoryBase != Iced.Intel.Register.None ? CpuCore.AddressMask(ins, cpu.Bitness)
            : cpu.Bitness == 64 && ins.MemoryDisplSize == 8 ? ulong.MaxValue : 0xffff_ffff;
        ulong baseValue = ins.MemoryBase != Iced.Intel.Register.None ? cpu.ReadReg(ins.MemoryBase) : 0;
        for (int i = 0; i < count; i++)
        {
            if ((mask[(i * size) + size - 1] & 0x80) == 0)
            {
                continue;
            }

            long offset = indexSize == 8 ? index.AsInt64().GetElement(i) : index.AsInt32().GetElement(i);
            ulong ea = (baseValue + ((ulong)offset * (ulong)ins.MemoryIndexScale) + ins.MemoryDisplacement64) & addressMask;
            ulong element = cpu.ReadSized(cpu.Linear(seg, ea, size), size);
            for (int b = 0; b < size; b++)
            {
                result[(i * size) + b] = (byte)(element >> (8 * b));
                mask[(i * size) + b] = 0;
            }

            cpu.WriteVectorRegister(ins, dst, Vector256.Create((ReadOnlySpan<byte>)result));
            cpu.WriteVectorRegister(ins, maskRegister, Vector256.Create((ReadOnlySpan<byte>)mask));
        }

        cpu.WriteVectorRegister(ins, dst, Vector256.Create((ReadOnlySpan<byte>)result));
        cpu.WriteVectorRegister(ins, maskRegister, Vector256<byte>.Zero);
    }
}
