using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Bit tests and scans: BT, BTS, BTR, BTC, BSF, BSR, BSWAP.</summary>
internal static unsafe class BitOps
{
    private enum Action { Test, Set, Reset, Complement }

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Bt, &Bt);
        r.Add(Mnemonic.Bts, &Bts);
        r.Add(Mnemonic.Btr, &Btr);
        r.Add(Mnemonic.Btc, &Btc);
        r.Add(Mnemonic.Bsf, &Bsf);
        r.Add(Mnemonic.Bsr, &Bsr);
        r.Add(Mnemonic.Bswap, &Bswap);
    }

    private static void Bt(CpuCore cpu, ref Instruction ins) => BitTest(cpu, ins, Action.Test);

    private static void Bts(CpuCore cpu, ref Instruction ins) => BitTest(cpu, ins, Action.Set);

    private static void Btr(CpuCore cpu, ref Instruction ins) => BitTest(cpu, ins, Action.Reset);

    private static void Btc(CpuCore cpu, ref Instruction ins) => BitTest(cpu, ins, Action.Complement);

    // With a register bit offset and a memory operand the offset selects any bit of a bit string
    // starting at the operand (Intel SDM Vol. 2A BT, "bit base/bit offset").
    private static void BitTest(CpuCore cpu, in Instruction ins, Action action)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        ulong offsetRaw = cpu.ReadOp(ins, 1, ins.GetOpKind(1) == OpKind.Register ? size : 1);
        ulong value;
        int bit;
        ulong linear = 0;
        bool memory = ins.Op0Kind == OpKind.Memory;
        if (memory && ins.GetOpKind(1) == OpKind.Register)
        {
            long signedOffset = size switch { 2 => (short)offsetRaw, 4 => (int)offsetRaw, _ => (long)offsetRaw };
            long displacement = (signedOffset >> (int)Math.Log2(bits)) * size;
            bit = (int)(signedOffset & (bits - 1));
            ulong ea = (cpu.EffectiveAddress(ins) + (ulong)displacement) & AddressMask(cpu, ins);
            linear = action == Action.Test ? cpu.Linear(CpuCore.SegmentIndex(ins.MemorySegment), ea, size) : cpu.LinearWrite(CpuCore.SegmentIndex(ins.MemorySegment), ea, size);
            value = cpu.ReadSized(linear, size);
        }
        else
        {
            bit = (int)(offsetRaw & (ulong)(bits - 1));
            value = cpu.ReadOp(ins, 0, size);
            if (memory)
            {
                linear = action == Action.Test ? cpu.MemoryLinear(ins, size) : cpu.MemoryLinearWrite(ins, size);
            }
        }

        bool old = ((value >> bit) & 1) != 0;
        ulong updated = action switch
        {
            Action.Set => value | (1UL << bit),
            Action.Reset => value & ~(1UL << bit),
            Action.Complement => value ^ (1UL << bit),
            _ => value,
        };
        if (action != Action.Test)
        {
            if (memory)
            {
                cpu.WriteSized(linear, size, updated);
            }
            else
            {
                cpu.WriteOp(ins, 0, size, updated);
            }
        }

        uint f = cpu.Flags.Get() & ~LazyFlags.CF;
        cpu.Flags.SetAll(f | (old ? LazyFlags.CF : 0));
    }

    private static ulong AddressMask(CpuCore cpu, in Instruction ins)
    {
        Iced.Intel.Register b = ins.MemoryBase != Iced.Intel.Register.None ? ins.MemoryBase : ins.MemoryIndex;
        int size = b != Iced.Intel.Register.None ? RegisterMap.Size[(int)b] : (cpu.Bitness == 64 ? 8 : Math.Max((int)ins.MemoryDisplSize, 2));
        return size switch { 2 => 0xffff, 4 => 0xffff_ffff, _ => ulong.MaxValue };
    }

    // BSF/BSR with a zero source set ZF and leave the destination unchanged (as Intel and AMD
    // hardware do; the SDM calls the destination undefined).
    private static void Bsf(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong src = cpu.ReadOp(ins, 1, size);
        if (src == 0)
        {
            cpu.Flags.SetAll((cpu.Flags.Get() & ~LazyFlags.ArithMask) | LazyFlags.ZF);
            return;
        }

        ulong r = (ulong)System.Numerics.BitOperations.TrailingZeroCount(src);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Logic, size, 1, 0, 0);
    }

    private static void Bsr(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong src = cpu.ReadOp(ins, 1, size);
        if (src == 0)
        {
            cpu.Flags.SetAll((cpu.Flags.Get() & ~LazyFlags.ArithMask) | LazyFlags.ZF);
            return;
        }

        ulong r = (ulong)(63 - System.Numerics.BitOperations.LeadingZeroCount(src));
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Logic, size, 1, 0, 0);
    }

    private static void Bswap(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong v = cpu.ReadOp(ins, 0, size);
        ulong r = size == 8 ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v)
            : size == 4 ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)v)
            : 0; // BSWAP of a 16-bit register is undefined; hardware gives zero.
        cpu.WriteOp(ins, 0, size, r);
    }
}
