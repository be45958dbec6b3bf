using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// VERR and VERW: ask whether a selector names a segment readable or writable at the current
/// privilege, answering in ZF without faulting on a bad selector (Intel SDM Vol. 2B VERR/VERW).
/// Linux executes VERW on every return to user mode to clear CPU buffers (MDS mitigation).
/// </summary>
internal static unsafe class SegmentChecks
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Verr, &Verr);
        r.Add(Mnemonic.Verw, &Verw);
    }

    private static void Verr(CpuCore cpu, ref Instruction ins) => Verify(cpu, ins, write: false);

    private static void Verw(CpuCore cpu, ref Instruction ins) => Verify(cpu, ins, write: true);

    private static void Verify(CpuCore cpu, in Instruction ins, bool write)
    {
        if (!cpu.ProtectedMode || cpu.V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }

        ushort selector = (ushort)cpu.ReadOp(ins, 0, 2);
        bool ok = Accessible(cpu, selector, write);
        uint flags = cpu.Flags.Get() & ~LazyFlags.ZF;
        cpu.Flags.SetAll(flags | (ok ? LazyFlags.ZF : 0));
    }

    private static bool Accessible(CpuCore cpu, ushort selector, bool write)
    {
        if ((selector & ~3) == 0)
        {
            return false;
        }

        bool local = (selector & 4) != 0;
        uint limit = local ? cpu.Ldtr.Limit : cpu.Gdtr.Limit;
        if (((uint)(selector & ~7)) + 7 > limit)
        {
            return false;
        }

        Core.Cpu.SegmentRegister s = CpuCore.FromDescriptor(selector, cpu.ReadDescriptor(selector));
        if ((s.Attributes & 0x10) == 0)
        {
            return false; // system segments and gates are never readable or writable this way
        }

        bool code = (s.Type & 8) != 0;
        bool conforming = code && (s.Type & 4) != 0;
        if (!conforming && (s.Dpl < cpu.Cpl || s.Dpl < (selector & 3)))
        {
            return false;
        }

        return write ? !code && (s.Type & 2) != 0 : !code || (s.Type & 2) != 0;
    }
}
