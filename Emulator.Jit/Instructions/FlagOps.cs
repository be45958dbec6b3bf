using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Direct flag manipulation: CLC, STC, CMC, CLD, STD, CLI, STI, STAC, CLAC, LAHF, SAHF, SALC.</summary>
internal static unsafe class FlagOps
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Clc, &Clc);
        r.Add(Mnemonic.Stc, &Stc);
        r.Add(Mnemonic.Cmc, &Cmc);
        r.Add(Mnemonic.Cld, &Cld);
        r.Add(Mnemonic.Std, &Std);
        r.Add(Mnemonic.Cli, &Cli);
        r.Add(Mnemonic.Sti, &Sti);
        r.Add(Mnemonic.Lahf, &Lahf);
        r.Add(Mnemonic.Sahf, &Sahf);
        r.Add(Mnemonic.Salc, &Salc);
        r.Add(Mnemonic.Stac, &Stac);
        r.Add(Mnemonic.Clac, &Clac);
    }

    // STAC/CLAC set and clear EFLAGS.AC, which lets the kernel reach user pages under SMAP; #UD at
    // CPL > 0, virtual-8086 mode included (Intel SDM Vol. 2B STAC, Vol. 2A CLAC).
    private static void Stac(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0ForAc(cpu);
        cpu.FlagsRest |= CpuCore.AC;
    }

    private static void Clac(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0ForAc(cpu);
        cpu.FlagsRest &= ~CpuCore.AC;
    }

    private static void RequireCpl0ForAc(CpuCore cpu)
    {
        if (cpu.Cpl > 0)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    private static void SetCarry(CpuCore cpu, bool carry) =>
        cpu.Flags.SetAll((cpu.Flags.Get() & ~LazyFlags.CF) | (carry ? LazyFlags.CF : 0));

    private static void Clc(CpuCore cpu, ref Instruction ins) => SetCarry(cpu, false);

    private static void Stc(CpuCore cpu, ref Instruction ins) => SetCarry(cpu, true);

    private static void Cmc(CpuCore cpu, ref Instruction ins) => SetCarry(cpu, !cpu.Flags.Carry);

    private static void Cld(CpuCore cpu, ref Instruction ins) => cpu.FlagsRest &= ~CpuCore.DF;

    private static void Std(CpuCore cpu, ref Instruction ins) => cpu.FlagsRest |= CpuCore.DF;

    // CLI/STI need CPL <= IOPL in protected mode (Intel SDM Vol. 2A CLI, without the VME/PVI extensions).
    private static void CheckIopl(CpuCore cpu)
    {
        if (cpu.ProtectedMode && cpu.Cpl > (int)((cpu.FlagsRest & CpuCore.IOPL) >> 12))
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private static void Cli(CpuCore cpu, ref Instruction ins)
    {
        CheckIopl(cpu);
        cpu.FlagsRest &= ~CpuCore.IF;
    }

    private static void Sti(CpuCore cpu, ref Instruction ins)
    {
        CheckIopl(cpu);
        if ((cpu.FlagsRest & CpuCore.IF) == 0)
        {
            // Intel SDM Vol. 2B STI: interrupts stay blocked until after the next instruction.
            cpu.InterruptShadow = true;
        }

        cpu.FlagsRest |= CpuCore.IF;
        cpu.EndBlock = true;
    }

    private static void Lahf(CpuCore cpu, ref Instruction ins) =>
        cpu.WriteReg(Iced.Intel.Register.AH, (cpu.Flags.Get() & 0xd5) | 2);

    private static void Sahf(CpuCore cpu, ref Instruction ins)
    {
        uint ah = (uint)(cpu.R[0] >> 8) & 0xd5;
        cpu.Flags.SetAll((cpu.Flags.Get() & ~0xd5u) | ah);
    }

    private static void Salc(CpuCore cpu, ref Instruction ins) =>
        cpu.WriteReg(Iced.Intel.Register.AL, cpu.Flags.Carry ? 0xffUL : 0);
}
