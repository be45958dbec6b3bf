using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// INVPCID: invalidates TLB entries by process-context identifier (Intel SDM Vol. 2A INVPCID,
/// Vol. 3A 4.10.4.1). The software TLB does not tag entries with a PCID, so each type drops at
/// least what the SDM says it must (a processor may always invalidate more, 4.10.4.1): type 0 the
/// address's page, types 1 and 3 every non-global entry, type 2 everything.
/// </summary>
internal static unsafe class PagingControl
{
    public static void Register(HandlerTable.Registry r) => r.Add(Mnemonic.Invpcid, &Invpcid);

    private static void Invpcid(CpuCore cpu, ref Instruction ins)
    {
        if (cpu.V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }

        if (cpu.ProtectedMode && cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong type = cpu.ReadReg(ins.Op0Register);
        ulong linear = cpu.MemoryLinear(ins, 16);
        ulong low = cpu.ReadSized(linear, 8);
        ulong address = cpu.ReadSized(linear + 8, 8);
        ulong pcid = low & 0xfff;
        bool pcide = (cpu.Cr4 & CpuCore.Cr4Pcide) != 0;
        if (type > 3 || (low >> 12) != 0 || (type <= 1 && pcid != 0 && !pcide) || (type == 0 && !CpuCore.IsCanonical(address)))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        switch (type)
        {
            case 0:
                cpu.FlushTlbPage(cpu.Bitness == 64 ? address : (uint)address);
                break;
            case 2:
                cpu.FlushTlb();
                break;
            default:
                cpu.FlushTlbNonGlobal();
                break;
        }

        cpu.EndBlock = true;
    }
}
