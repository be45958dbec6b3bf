using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// RDTSCP and RDPID: the time-stamp counter with IA32_TSC_AUX, and IA32_TSC_AUX alone (Intel SDM
/// Vol. 2B RDTSCP, RDPID; the MSR is 0xC0000103, which an OS loads with the processor's number).
/// </summary>
internal static unsafe class TimeStamp
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Rdtscp, &Rdtscp);
        r.Add(Mnemonic.Rdpid, &Rdpid);
    }

    /// <summary>IA32_TSC_AUX: its low 32 bits are what RDTSCP and RDPID return.</summary>
    public static ulong TscAux(CpuCore cpu) => cpu.Msrs.GetValueOrDefault(Msr.TscAux);

    // EDX:EAX = TSC, ECX = IA32_TSC_AUX[31:0] (upper halves cleared in 64-bit mode); #GP(0) at
    // CPL > 0 while CR4.TSD is set, as RDTSC.
    private static void Rdtscp(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Cr4 & 4) != 0 && cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong tsc = SystemOps.ReadTsc(cpu);
        cpu.R[0] = (uint)tsc;
        cpu.R[2] = tsc >> 32;
        cpu.R[1] = (uint)TscAux(cpu);
    }

    // RDPID r32/r64: IA32_TSC_AUX, zero-extended; not privileged and not affected by CR4.TSD.
    private static void Rdpid(CpuCore cpu, ref Instruction ins) =>
        cpu.WriteReg(ins.Op0Register, (uint)TscAux(cpu));
}
