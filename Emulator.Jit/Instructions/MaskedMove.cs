using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Conditional SIMD loads and stores (Intel SDM Vol. 2B VMASKMOV, VPMASKMOV): the elements whose
/// mask element (the first source) has its top bit set are loaded (the others are 0) or stored
/// (the others are left alone). Only those elements are accessed: a masked-off element never
/// faults, even outside the segment or on an unmapped page. A store checks every selected element
/// before writing any, so a fault leaves memory unchanged.
/// </summary>
internal static unsafe class MaskedMove
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vmaskmovps, &Move);
        r.Add(Mnemonic.Vmaskmovpd, &Move);
        r.Add(Mnemonic.Vpmaskmovd, &Move);
        r.Add(Mnemonic.Vpmaskmovq, &Move);
    }

    private static void Move(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        int size = ins.Mnemonic is Mnemonic.Vmaskmovpd or Mnemonic.Vpmaskmovq ? 8 : 4;
        bool store = ins.Op0Kind == OpKind.Memory;
        Vector256<byte> mask = cpu.ReadVectorOp(ins, 1);
        int count = (CpuCore.IsYmm(ins.Op1Register) ? 32 : 16) / size;
        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        ulong ea = cpu.EffectiveAddress(ins), addressMask = CpuCore.AddressMask(ins, cpu.Bitness);
        Span<ulong> linear = stackalloc ulong[8];
        for (int i = 0; i < count; i++)
        {
            if (Selected(mask, i, size))
            {
                ulong offset = (ea + (ulong)(i * size)) & addressMask;
                linear[i] = store ? cpu.LinearWrite(seg, offset, size) : cpu.Linear(seg, offset, size);
            }
        }

        if (store)
        {
            Vector256<ulong> data = cpu.ReadVectorOp(ins, 2).AsUInt64();
            for (int i = 0; i < count; i++)
            {
                if (Selected(mask, i, size))
                {
                    cpu.CheckWritable(linear[i], size);
                }
            }

            for (int i = 0; i < count; i++)
            {
                if (Selected(mask, i, size))
                {
                    ulong element = size == 8 ? data[i] : (uint)(data[i / 2] >> (32 * (i & 1)));
                    cpu.WriteSized(linear[i], size, element);
                }
            }

            return;
        }

        Span<byte> r = stackalloc byte[32];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            if (Selected(mask, i, size))
            {
                ulong element = cpu.ReadSized(linear[i], size);
                for (int b = 0; b < size; b++)
                {
                    r[(i * size) + b] = (byte)(element >> (8 * b));
                }
            }
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<byte>)r));
    }

    private static bool Selected(Vector256<byte> mask, int element, int size) => (mask.GetElement((element * size) + size - 1) & 0x80) != 0;
}
