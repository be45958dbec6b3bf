using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>Port I/O: IN, OUT, INS, OUTS, dispatched to the machine's port bus.</summary>
internal static unsafe class InOut
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.In, &In);
        r.Add(Mnemonic.Out, &Out);
        r.Add(Mnemonic.Insb, &Ins);
        r.Add(Mnemonic.Insw, &Ins);
        r.Add(Mnemonic.Insd, &Ins);
        r.Add(Mnemonic.Outsb, &Outs);
        r.Add(Mnemonic.Outsw, &Outs);
        r.Add(Mnemonic.Outsd, &Outs);
    }

    /// <summary>
    /// I/O permission: in protected mode with CPL > IOPL, or in virtual-8086 mode, every bit for the
    /// accessed ports in the TSS I/O permission bitmap must be clear (Intel SDM Vol. 1 19.5.2).
    /// </summary>
    public static void CheckPermission(CpuCore cpu, ushort port, int size)
    {
        if (!cpu.ProtectedMode || (!cpu.V86Mode && cpu.Cpl <= (int)((cpu.FlagsRest & CpuCore.IOPL) >> 12)))
        {
            return;
        }

        if ((cpu.Tr.Type & 0x8) == 0 || cpu.Tr.Limit < 0x67)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        // The TSS is read with supervisor rights whatever the CPL (Intel SDM Vol. 3A 4.6).
        uint mapBase = (uint)cpu.SystemRead(cpu.Tr.Base + 0x66, 2);
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > cpu.Tr.Limit)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        uint bits = (uint)cpu.SystemRead(cpu.Tr.Base + byteOffset, 2);
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private static int AccessSize(in Instruction ins, int dataOperand) =>
        ins.GetOpKind(dataOperand) == OpKind.Register ? CpuCore.OpSize(ins, dataOperand) : ins.MemorySize.GetSize();

    private static void In(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ushort port = (ushort)cpu.ReadOp(ins, 1, ins.Op1Kind == OpKind.Register ? 2 : 1);
        CheckPermission(cpu, port, size);
        cpu.WriteOp(ins, 0, size, cpu.Io.Read(port, size));
        if (cpu.DebugArmed)
        {
            cpu.CheckIoBreakpoints(port, size);
        }
    }

    private static void Out(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 1);
        ushort port = (ushort)cpu.ReadOp(ins, 0, ins.Op0Kind == OpKind.Register ? 2 : 1);
        CheckPermission(cpu, port, size);
        cpu.Io.Write(port, size, (uint)cpu.ReadOp(ins, 1, size));
        if (cpu.DebugArmed)
        {
            cpu.CheckIoBreakpoints(port, size);
        }

        // A device may have changed machine state (a reset, an interrupt line): let the loop look.
        cpu.EndBlock = true;
    }

    private static void Ins(CpuCore cpu, ref Instruction ins)
    {
        CheckPermission(cpu, (ushort)cpu.R[2], AccessSize(ins, 0));
        Strings.Repeat(cpu, ins, static (c, i, a) =>
        {
            int size = i.MemorySize.GetSize();
            ulong linear = c.LinearWrite((int)SegIndex.Es, Strings.ReadIndex(c, 7, a), size);
            c.WriteSized(linear, size, c.Io.Read((ushort)c.R[2], size));
            if (c.DebugArmed)
            {
                c.CheckIoBreakpoints((ushort)c.R[2], size);
            }

            Strings.Advance(c, 7, a, size);
            return true;
        });
    }

    private static void Outs(CpuCore cpu, ref Instruction ins)
    {
        CheckPermission(cpu, (ushort)cpu.R[2], AccessSize(ins, 1));
        Strings.Repeat(cpu, ins, static (c, i, a) =>
        {
            int size = i.MemorySize.GetSize();
            ulong linear = c.Linear(CpuCore.SegmentIndex(i.MemorySegment), Strings.ReadIndex(c, 6, a), size);
            c.Io.Write((ushort)c.R[2], size, (uint)c.ReadSized(linear, size));
            if (c.DebugArmed)
            {
                c.CheckIoBreakpoints((ushort)c.R[2], size);
            }

            Strings.Advance(c, 6, a, size);
            return true;
        });
        cpu.EndBlock = true;
    }
}
