using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The translator's jump cache (guest RIP to translated code, looked up by translated indirect
/// branches) outlives a change of privilege level, and the kernel's outlives a CR3 load while all
/// its code is on global pages: it keeps one table for CPL 3 and one for the kernel, so that
/// system calls, interrupts and context switches do not empty it. What it keeps must still be
/// right: an instruction fetch from a supervisor page at CPL 3 is a page fault (Intel SDM Vol. 3A
/// 4.6.1, 4.7), however warm the kernel's translation of that page is, and after a CR3 load a
/// non-global page, or after INVLPG the page or the whole large page holding the address, runs
/// what the page tables map there now (Vol. 3A 4.10.4.1, Vol. 2A INVLPG).
/// </summary>
public sealed class JumpCacheTests
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

    [Fact]
    public void AfterACr3LoadAnIndirectCallRunsWhatTheNewTablesMapOnANonGlobalPage()
    {
        using var rig = new TranslatorRig(paging: true);
        const uint Function = 0x40_0000, OtherDirectory = 0xa000, TableA = 0xb000, TableB = 0xc000;

        // Linear 0x400000 is physical 0x500000 (MOV EAX, 1; RET) through the rig's directory and
        // 0x501000 (MOV EAX, 2; RET) through the other; 0-4 MiB is the same 4 MiB page in both.
        rig.Write(0x50_0000, [0xb8, 1, 0, 0, 0, 0xc3]);
        rig.Write(0x50_1000, [0xb8, 2, 0, 0, 0, 0xc3]);
        rig.Write(TableA, BitConverter.GetBytes(0x50_0000u | 3));
        rig.Write(TableB, BitConverter.GetBytes(0x50_1000u | 3));
        rig.Write(0x3004, BitConverter.GetBytes(TableA | 3));
        rig.Write(OtherDirectory, BitConverter.GetBytes(0x83u));
        rig.Write(OtherDirectory + 4, BitConverter.GetBytes(TableB | 3));

        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 3);
            a.Label(ref loop);
            a.mov(edx, Function);
            a.call(edx);                 // through the jump cache once translated
            a.dec(ecx);
            a.jnz(loop);
            a.mov(ebx, eax);
            a.mov(edx, OtherDirectory);
            a.mov(cr3, edx);
            a.push(eax);                 // the stack's TLB entry again, so the call's push stays in host code
            a.pop(eax);
            a.mov(edx, Function);
            a.call(edx);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal((1UL, 2UL), (s.Gpr[(int)Gpr.Rbx], s.Gpr[(int)Gpr.Rax]));
        Assert.NotEqual(TranslatorRig.Handler + 1, s.Rip);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AfterInvlpgAnIndirectCallRunsWhatThePageMapsNow(bool largePage)
    {
        using var rig = new TranslatorRig(paging: true);
        const uint Function = 0x40_0100, Table = 0xb000;

        // Before: linear 0x400100 is physical 0x500100 (MOV EAX, 1; RET), through a page table or
        // through a 4 MiB page at 4 MiB. After: physical 0x501100 (4 KiB) or 0x100 (4 MiB page at 0),
        // holding MOV EAX, 2; RET. INVLPG names the function's page, or another page of the large one.
        ulong after = largePage ? 0x100UL : 0x50_1100UL;
        rig.Write(0x50_0100, [0xb8, 1, 0, 0, 0, 0xc3]);
        rig.Write(0x40_0100, [0xb8, 1, 0, 0, 0, 0xc3]);
        rig.Write(after, [0xb8, 2, 0, 0, 0, 0xc3]);
        uint before = largePage ? 0x40_0000u | 0x83 : Table | 3;
        uint remapped = largePage ? 0x83u : 0x50_1000u | 3;
        rig.Write(Table, BitConverter.GetBytes(0x50_0000u | 3));
        rig.Write(0x3004, BitConverter.GetBytes(before));
        ulong entry = largePage ? 0x3004UL : Table;
        uint invalidated = largePage ? 0x7f_f000u : Function;

        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 3);
            a.Label(ref loop);
            a.mov(edx, Function);
            a.call(edx);                 // through the jump cache once translated
            a.dec(ecx);
            a.jnz(loop);
            a.mov(ebx, eax);
            a.mov(__dword_ptr[entry], remapped);
            a.mov(edx, invalidated);
            a.invlpg(__[edx]);
            a.push(eax);                 // the stack's TLB entry again, so the call's push stays in host code
            a.pop(eax);
            a.mov(edx, Function);
            a.call(edx);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal((1UL, 2UL), (s.Gpr[(int)Gpr.Rbx], s.Gpr[(int)Gpr.Rax]));
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

    [Fact]
    public void InvlpgDropsTheEntriesNearItsAddressOnly()
    {
        // Unit level: an entry in the 1 GiB region of the address (or on the page just below it) goes,
        // entries elsewhere stay, including after the table was cleared and filled again.
        var j = new Emulator.Jit.Translation.JumpCache { Mode = new(0, 64, 0, 0, 0, 0, 0, 0) };
        const ulong kernel = 0xffff_ffff_8100_0040, vmalloc = 0xffff_c900_0000_2000, user = 0x40_1000;
        foreach (int round in new[] { 1, 2 })
        {
            j.Insert(kernel, 0x1000 * round, global: true);
            j.Insert(vmalloc, 0x2000 * round, global: true);
            j.DropAround(user);
            Assert.True(Holds(j, kernel) && Holds(j, vmalloc));
            j.DropAround(vmalloc + 0x3000_0000);
            Assert.True(Holds(j, kernel) && !Holds(j, vmalloc));
            j.DropAround(0xffff_ffff_c000_0000);    // the region above the kernel's: its page below is the kernel's last
            Assert.True(Holds(j, kernel));
            j.DropAround(0xffff_ffff_8000_0000);
            Assert.False(Holds(j, kernel));

            const ulong lastPage = 0xffff_ffff_bfff_ff80;       // a block that may run into the next region
            j.Insert(lastPage, 0x3000, global: true);
            j.DropAround(0xffff_ffff_c020_0000);
            Assert.False(Holds(j, lastPage));
            j.Clear();
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(5000)]
    public void ClearAndInvlpgForgetEveryEntryTheyCoverHoweverManySetsWereFilled(int count)
    {
        // Clear and INVLPG visit only the sets filled since the last clear while those are few, and
        // the whole table past that: in both cases every entry they cover goes and the others stay,
        // round after round.
        var j = new Emulator.Jit.Translation.JumpCache { Mode = new(0, 64, 0, 0, 0, 0, 0, 0) };
        const ulong kernel = 0xffff_ffff_8100_0040;
        ulong User(int i) => 0x40_0000 + ((ulong)i * 0x40);
        foreach (int round in new[] { 1, 2, 3 })
        {
            for (int i = 0; i < count; i++)
            {
                j.Insert(User(i), 0x1000 * round, global: false);
            }

            j.Insert(kernel, 0x2000 * round, global: true);
            j.DropAround(0xffff_ffff_8000_0000);
            Assert.False(Holds(j, kernel));
            int kept = Enumerable.Range(0, count).Count(i => Holds(j, User(i)));
            Assert.Equal(count, kept);

            j.Insert(kernel, 0x3000 * round, global: true);
            j.Clear();
            Assert.False(Holds(j, kernel));
            Assert.DoesNotContain(Enumerable.Range(0, count), i => Holds(j, User(i)));
        }
    }

    private static bool Holds(Emulator.Jit.Translation.JumpCache j, ulong rip)
    {
        nint set = j.Base + (Emulator.Jit.Translation.JumpCache.Set(rip) * 32);
        return (ulong)System.Runtime.InteropServices.Marshal.ReadInt64(set) == rip
            || (ulong)System.Runtime.InteropServices.Marshal.ReadInt64(set + 16) == rip;
    }
}
