using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// RDPKRU and WRPKRU, the protection-key rights register for user pages (Intel SDM Vol. 3A 2.7;
/// Vol. 2B RDPKRU, WRPKRU). Both work at any privilege level and raise #UD while CR4.PKE is clear;
/// ECX (and for WRPKRU, EDX) must be 0, else #GP(0). The page walk applies PKRU
/// (<c>Memory/CpuCore.Paging</c>, Vol. 3A 4.6.2).
/// </summary>
internal static unsafe class ProtectionKeys
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Rdpkru, &Rdpkru);
        r.Add(Mnemonic.Wrpkru, &Wrpkru);
    }

    // EAX := PKRU, EDX := 0 (in 64-bit mode the upper halves of RAX and RDX are cleared).
    private static void Rdpkru(CpuCore cpu, ref Instruction ins)
    {
        RequirePke(cpu);
        if ((uint)cpu.R[1] != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.R[0] = cpu.Pkru;
        cpu.R[2] = 0;
    }

    // PKRU := EAX. The TLBs hold only translations that were allowed when they were made, so new
    // rights drop them: a key that now forbids an access must fault on its next use (the SDM has
    // WRPKRU take effect for the accesses after it without any TLB invalidation).
    private static void Wrpkru(CpuCore cpu, ref Instruction ins)
    {
        RequirePke(cpu);
        if ((uint)cpu.R[1] != 0 || (uint)cpu.R[2] != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        SetPkru(cpu, (uint)cpu.R[0]);
    }

    /// <summary>Loads PKRU (WRPKRU, XRSTOR of the PKRU component), dropping translations the old rights allowed.</summary>
    public static void SetPkru(CpuCore cpu, uint value)
    {
        if (value == cpu.Pkru)
        {
            return;
        }

        cpu.Pkru = value;
        cpu.FlushTlb();
        cpu.EndBlock = true;
    }

    private static void RequirePke(CpuCore cpu)
    {
        if ((cpu.Cr4 & CpuCore.Cr4Pke) == 0)
        {
            throw new GuestFault(Vectors.UD);
        }
    }
}
