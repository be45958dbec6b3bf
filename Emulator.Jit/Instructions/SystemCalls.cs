using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Fast system calls: SYSCALL/SYSRET (64-bit mode, STAR/LSTAR/SFMASK), SYSENTER/SYSEXIT (the
/// SYSENTER_CS/ESP/EIP MSRs) and SWAPGS. They load CS and SS with fixed flat descriptors instead
/// of reading the GDT (Intel SDM Vol. 2B SYSCALL, SYSRET, SYSENTER, SYSEXIT, Vol. 2B SWAPGS).
/// </summary>
internal static unsafe class SystemCalls
{
    // Hidden descriptor attributes (SegmentRegister layout: type, S, DPL, P, L, D/B, G).
    private const uint Code64Ring0 = 0xa09b, Code32Ring0 = 0xc09b, Data32Ring0 = 0xc093;
    private const uint Code64Ring3 = 0xa0fb, Code32Ring3 = 0xc0fb, Data32Ring3 = 0xc0f3;

    // The RFLAGS bits SYSRET takes from R11 (Intel SDM Vol. 2B SYSRET).
    private const ulong SysretFlags = 0x3c_7fd7;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Code.Syscall, &Syscall);
        r.Add(Code.Sysretd, &Sysret);
        r.Add(Code.Sysretq, &Sysret);
        r.Add(Code.Sysenter, &Sysenter);
        r.Add(Code.Sysexitd, &Sysexit);
        r.Add(Code.Sysexitq, &Sysexit);
        r.Add(Code.Swapgs, &Swapgs);
    }

    private static SegmentRegister Flat(ushort selector, uint attributes) =>
        new() { Selector = selector, Base = 0, Limit = 0xffff_ffff, Attributes = attributes };

    // SYSCALL and SYSRET are #UD outside 64-bit mode on Intel processors, which is what CPUID
    // presents (Intel SDM Vol. 2B SYSCALL: "If CS.L != 1 or IA32_EFER.LMA != 1 or IA32_EFER.SCE != 1").
    private static void RequireSyscallEnabled(CpuCore cpu)
    {
        if (cpu.Bitness != 64 || (cpu.Efer & CpuCore.EferSCE) == 0)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    private static void Syscall(CpuCore cpu, ref Instruction ins)
    {
        RequireSyscallEnabled(cpu);
        ushort cs = (ushort)((cpu.Star >> 32) & 0xfffc);
        cpu.R[1] = cpu.Rip;
        cpu.R[11] = cpu.Rflags & ~(ulong)CpuCore.RF;
        cpu.Rflags = (cpu.Rflags & ~cpu.Sfmask & ~(ulong)CpuCore.RF) | 2;
        cpu.Seg[(int)SegIndex.Cs] = Flat(cs, Code64Ring0);
        cpu.Seg[(int)SegIndex.Ss] = Flat((ushort)(cs + 8), Data32Ring0);
        cpu.Rip = cpu.Lstar;
        cpu.UpdateMode();
    }

    private static void Sysret(CpuCore cpu, ref Instruction ins)
    {
        RequireSyscallEnabled(cpu);
        if (cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        bool to64 = ins.Code == Code.Sysretq;
        ulong rip = to64 ? cpu.R[1] : (uint)cpu.R[1];
        if (to64 && !CpuCore.IsCanonical(rip))
        {
            // Intel processors check RCX before leaving ring 0 (Intel SDM Vol. 2B SYSRET).
            throw new GuestFault(Vectors.GP, 0);
        }

        ushort baseSelector = (ushort)(cpu.Star >> 48);
        ushort cs = (ushort)((to64 ? baseSelector + 16 : baseSelector) | 3);
        cpu.Rflags = (cpu.R[11] & SysretFlags) | 2;
        cpu.Seg[(int)SegIndex.Cs] = Flat(cs, to64 ? Code64Ring3 : Code32Ring3);
        cpu.Seg[(int)SegIndex.Ss] = Flat((ushort)((baseSelector + 8) | 3), Data32Ring3);
        cpu.Rip = rip;
        cpu.UpdateMode();
    }

    private static void Sysenter(CpuCore cpu, ref Instruction ins)
    {
        if (!cpu.ProtectedMode || (cpu.SysenterCs & 0xfffc) == 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        bool longMode = cpu.LongMode;
        ushort cs = (ushort)(cpu.SysenterCs & 0xfffc);
        cpu.FlagsRest &= ~(CpuCore.VM | CpuCore.IF | CpuCore.RF);
        cpu.R[4] = longMode ? cpu.SysenterEsp : (uint)cpu.SysenterEsp;
        cpu.Rip = longMode ? cpu.SysenterEip : (uint)cpu.SysenterEip;
        cpu.Seg[(int)SegIndex.Cs] = Flat(cs, longMode ? Code64Ring0 : Code32Ring0);
        cpu.Seg[(int)SegIndex.Ss] = Flat((ushort)(cs + 8), Data32Ring0);
        cpu.UpdateMode();
    }

    private static void Sysexit(CpuCore cpu, ref Instruction ins)
    {
        if (!cpu.ProtectedMode || cpu.V86Mode || (cpu.SysenterCs & 0xfffc) == 0 || cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        bool to64 = ins.Code == Code.Sysexitq;
        ulong rip = to64 ? cpu.R[2] : (uint)cpu.R[2];
        ulong rsp = to64 ? cpu.R[1] : (uint)cpu.R[1];
        if (to64 && (!CpuCore.IsCanonical(rip) || !CpuCore.IsCanonical(rsp)))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ushort cs = (ushort)((cpu.SysenterCs + (to64 ? 32UL : 16UL)) | 3);
        cpu.Seg[(int)SegIndex.Cs] = Flat(cs, to64 ? Code64Ring3 : Code32Ring3);
        cpu.Seg[(int)SegIndex.Ss] = Flat((ushort)(cs + 8), Data32Ring3);
        cpu.R[4] = rsp;
        cpu.Rip = rip;
        cpu.UpdateMode();
    }

    private static void Swapgs(CpuCore cpu, ref Instruction ins)
    {
        if (cpu.Bitness != 64)
        {
            throw new GuestFault(Vectors.UD);
        }

        if (cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ref SegmentRegister gs = ref cpu.Seg[(int)SegIndex.Gs];
        (gs.Base, cpu.KernelGsBase) = (cpu.KernelGsBase, gs.Base);
    }
}
