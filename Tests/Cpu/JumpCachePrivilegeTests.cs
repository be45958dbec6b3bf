using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The translator's jump cache (guest RIP to translated code, looked up by translated indirect
/// branches) outlives a change of privilege level: it keeps one table for CPL 3 and one for the
/// kernel, so that system calls and interrupts do not empty it. What the kernel ran must still be
/// out of user mode's reach: an instruction fetch from a supervisor page at CPL 3 is a page fault
/// (Intel SDM Vol. 3A 4.6.1, 4.7), however warm the kernel's translation of that page is.
/// </summary>
public sealed class JumpCachePrivilegeTests
{
    private const ulong Gdt = 0x800, Tss = 0x1800, UserCode = 0x40_0000, UserStack = 0x4f_f000, KernelStack = TranslatorRig.Stack;
    private const ushort UserCs = 0x1b, UserSs = 0x23, TssSelector = 0x28;

    [Fact]
    public void AUserJumpToKernelCodeTheKernelJustRanFaultsInsteadOfRunningIt()
    {
        using var rig = new TranslatorRig(paging: true);
        Label kernelFunction = default;
        AssemblerResult kernel = rig.Load(a =>
        {
            kernelFunction = a.CreateLabel();
            Label loop = a.CreateLabel();
            Label toUser = a.CreateLabel();

            // The kernel calls its function through a register a few times: translated, and
            // entered through the dispatcher, which puts it in the (kernel's) jump cache.
            a.mov(ecx, 3);
            a.Label(ref loop);
            a.mov(eax, __dword_ptr[TranslatorRig.Code + 0x800]);
            a.call(eax);
            a.dec(ecx);
            a.jnz(loop);
            a.jmp(toUser);

            a.Label(ref kernelFunction);
            a.mov(ebx, 0x1234);
            a.ret();

            // IRET to CPL 3 (Vol. 3A 6.12.1, Vol. 2A IRET): SS, ESP, EFLAGS, CS, EIP.
            a.Label(ref toUser);
            a.mov(ebx, 0);
            a.push(UserSs);
            a.push((int)UserStack);
            a.push(0x2);
            a.push(UserCs);
            a.push((int)UserCode);
            a.iretd();
        });
        ulong target = kernel.GetLabelRIP(kernelFunction);
        rig.WriteUInt64(TranslatorRig.Code + 0x800, target);

        // User mode jumps through a register to the kernel's function.
        var user = new Assembler(32);
        user.mov(eax, (uint)target);
        user.jmp(eax);
        using (var stream = new MemoryStream())
        {
            user.Assemble(new StreamCodeWriter(stream), UserCode);
            rig.Write(UserCode, stream.ToArray());
        }

        SetUpUserMode(rig);
        Assert.True(rig.RunToHalt());

        // #PF at the jump's target: CR2 and the saved EIP name it, the error code says present,
        // read, user mode (bits 0 and 2), and the frame came from CPL 3 onto the TSS's ring-0 stack.
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(target, s.Cr2);
        Assert.Equal(0x5u, rig.ReadUInt32(KernelStack - 24));
        Assert.Equal(target, (ulong)rig.ReadUInt32(KernelStack - 20));
        Assert.Equal(UserCs, (ushort)rig.ReadUInt32(KernelStack - 16));
        Assert.Equal(UserSs, (ushort)rig.ReadUInt32(KernelStack - 4));
        Assert.Equal(0UL, s.Gpr[(int)Gpr.Rbx]);
        Assert.True(rig.Statistics!.NativeInstructions > 0, "nothing ran as host code");
    }

    // A GDT with ring-3 code and data and a 32-bit TSS whose ring-0 stack is the rig's, and a
    // user-accessible 4 MiB page at 4 MiB (the rig maps 0-4 MiB for the supervisor only).
    private static void SetUpUserMode(TranslatorRig rig)
    {
        rig.WriteUInt64(Gdt + 0x18, 0x00cf_fb00_0000_ffff);   // flat code, DPL 3
        rig.WriteUInt64(Gdt + 0x20, 0x00cf_f300_0000_ffff);   // flat data, DPL 3
        rig.WriteUInt64(Gdt + TssSelector, 0x0000_8b00_0000_0067 | ((Tss & 0xff_ffff) << 16)); // busy 32-bit TSS
        rig.Write(Tss + 4, BitConverter.GetBytes((uint)KernelStack));   // ESP0
        rig.Write(Tss + 8, BitConverter.GetBytes((uint)0x10));          // SS0
        rig.Write(0x3004, BitConverter.GetBytes((uint)(UserCode | 0x87))); // present, writable, user, 4 MiB

        CpuState s = rig.Core.SaveState();
        s.Gdtr = new TableRegister { Base = Gdt, Limit = 0x2f };
        s.Tr = new SegmentRegister { Selector = TssSelector, Base = Tss, Limit = 0x67, Attributes = 0x8b };
        rig.Core.LoadState(s);
    }
}
