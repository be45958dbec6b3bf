using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Translated code keeps the system rules the interpreter enforces: segment types, bases and
/// limits (Intel SDM Vol. 3A 3.4.5, 5.3-5.5), SMEP and SMAP (4.6.1.1), single-step and data
/// breakpoints (Vol. 3B 18.3.1), and RF in the EFLAGS image of a fault (18.3.1.1). Every block is
/// translated at its first run (<see cref="TranslatorRig"/>); expected values are the manuals'.
/// </summary>
public sealed class TranslatorSystemTests
{
    private const uint RF = 1 << 16, TF = 1 << 8;
    private const int DE = 0, DB = 1, GP = 13, PF = 14;
    private const ulong Handlers = 0x2100, DivideError = Handlers + DE;

    // Descriptors added to the rig's GDT (Intel SDM Vol. 3A 3.4.5): 0x18 read/write data with base
    // 0x1000; 0x20 read-only data, flat.
    private const ushort BasedData = 0x18, ReadOnlyData = 0x20;

    [Fact]
    public void ADataSegmentLoadedInsideATranslatedBlockAppliesToTheLoadsAfterIt()
    {
        using var rig = Rig();
        rig.WriteUInt64(0x100, 0x2222_2222);
        rig.WriteUInt64(0x1100, 0x1111_1111);
        rig.Load(a =>
        {
            a.mov(eax, BasedData);
            a.mov(ds, ax);
            a.mov(ebx, __dword_ptr[0x100]);   // DS:0x100 = linear 0x1100
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal(0x1111_1111UL, rig.Core.SaveState().Gpr[(int)Gpr.Rbx]);
    }

    [Fact]
    public void AStoreThroughAReadOnlySegmentLoadedInsideATranslatedBlockIsGeneralProtection()
    {
        using var rig = Rig();
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(__dword_ptr[0x5000], 3);     // through the flat DS: the page gets a TLB write entry
            a.mov(eax, ReadOnlyData);
            a.mov(ds, ax);
            a.mov(ebx, 5);
            a.Label(ref fault);
            a.mov(__dword_ptr[0x5000], ebx);   // #GP(0): DS is not writable (Vol. 3A 5.5)
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, GP, errorCode: 0, code.GetLabelRIP(fault));
        Assert.Equal(3u, rig.ReadUInt32(0x5000));
    }

    [Fact]
    public void AStoreThroughACodeSegmentOverrideInTranslatedCodeIsGeneralProtection()
    {
        using var rig = Rig();
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebx, 5);
            a.mov(__dword_ptr[0x5000], 3);     // through DS: the page gets a TLB write entry
            a.add(ebx, 1);
            a.Label(ref fault);
            a.db(0x2e, 0x89, 0x1d, 0x00, 0x50, 0x00, 0x00);   // mov cs:[0x5000], ebx: code is never writable (Vol. 3A 5.5)
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, GP, errorCode: 0, code.GetLabelRIP(fault));
        Assert.Equal(3u, rig.ReadUInt32(0x5000));
    }

    [Fact]
    public void AFaultFromTranslatedCodePushesRfSet()
    {
        using var rig = Rig();
        rig.Load(a =>
        {
            a.mov(eax, 100);
            a.mov(edx, 0);
            a.mov(edi, 0);
            a.div(edi);   // #DE, a fault: the image shows RF = 1 (Vol. 3B 18.3.1.1)
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal(DivideError + 1, rig.Core.SaveState().Rip);
        Assert.Equal(RF, rig.ReadUInt32(TranslatorRig.Stack - 4) & RF);
        Assert.Equal(0u, (uint)rig.Core.SaveState().Rflags & RF);   // and the handler runs with RF clear
    }

    [Fact]
    public void SmapFaultsASupervisorReadOfAUserPageAfterClacThoughTheSameReadWasAllowedBefore()
    {
        using var rig = PagedRig(cr4Extra: 1UL << 21);
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.stac();
            a.mov(eax, __dword_ptr[UserPage + 0x100]);   // AC = 1: allowed
            a.clac();
            a.Label(ref fault);
            a.mov(ebx, __dword_ptr[UserPage + 0x100]);   // AC = 0: #PF, present, read, supervisor
            a.hlt();
        });
        rig.WriteUInt64(UserPage + 0x100, 0x1234_5678);

        Assert.True(rig.RunToHalt());
        AssertException(rig, PF, errorCode: 1, code.GetLabelRIP(fault));
        CpuState s = rig.Core.SaveState();
        Assert.Equal(UserPage + 0x100, s.Cr2);
        Assert.Equal(0x1234_5678UL, s.Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void SmapFaultsASupervisorWriteOfAUserPageAfterClacThoughTheSameWriteWasAllowedBefore()
    {
        using var rig = PagedRig(cr4Extra: 1UL << 21);
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebx, 7);
            a.stac();
            a.mov(__dword_ptr[UserPage + 0x200], ebx);   // AC = 1: allowed
            a.clac();
            a.add(ebx, 1);
            a.Label(ref fault);
            a.mov(__dword_ptr[UserPage + 0x200], ebx);   // AC = 0: #PF, present, write, supervisor
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, PF, errorCode: 3, code.GetLabelRIP(fault));
        Assert.Equal(7u, rig.ReadUInt32(UserPage + 0x200));
    }

    [Fact]
    public void SmapFaultsASupervisorStoreToAUserPageAfterALockedUpdateUnderStac()
    {
        using var rig = PagedRig(cr4Extra: 1UL << 21);
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebx, 7);
            a.stac();
            a.@lock.add(__dword_ptr[UserPage + 0x300], ebx);   // AC = 1: allowed
            a.clac();
            a.Label(ref fault);
            a.mov(__dword_ptr[UserPage + 0x300], ebx);          // AC = 0: #PF, present, write, supervisor
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, PF, errorCode: 3, code.GetLabelRIP(fault));
        Assert.Equal(7u, rig.ReadUInt32(UserPage + 0x300));
    }

    [Fact]
    public void SmepFaultsASupervisorCallIntoUserCodeThatRanAsTranslatedCodeBefore()
    {
        using var rig = PagedRig(cr4Extra: 0);
        rig.Write(UserPage, [0x42, 0xc3]);   // inc edx; ret
        rig.Load(a =>
        {
            Label again = a.CreateLabel();
            a.mov(edx, 0);
            a.mov(ecx, 3);
            a.Label(ref again);
            a.call(UserPage);                  // allowed while CR4.SMEP is clear
            a.dec(ecx);
            a.jnz(again);
            a.mov(eax, cr4);
            a.or(eax, 1 << 20);
            a.mov(cr4, eax);
            a.call(UserPage);                  // #PF: supervisor fetch from a user page (Vol. 3A 4.6.1.1)
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, PF, errorCode: 0x11, UserPage);   // present, instruction fetch (I/D, 4.7)
        CpuState s = rig.Core.SaveState();
        Assert.Equal(UserPage, s.Cr2);
        Assert.Equal(3UL, s.Gpr[(int)Gpr.Rdx]);
    }

    [Fact]
    public void SingleStepTrapsAfterTheInstructionFollowingPopfEvenAfterTranslatedCode()
    {
        using var rig = Rig();
        Label next = default;
        AssemblerResult code = rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            next = a.CreateLabel();
            a.mov(ecx, 50);
            a.Label(ref loop);
            a.add(eax, 1);
            a.dec(ecx);
            a.jnz(loop);
            a.pushfd();
            a.or(__dword_ptr[esp], (int)TF);
            a.popfd();
            a.mov(ebx, 1);   // runs; then #DB (single step), the image's EIP at the next MOV
            a.Label(ref next);
            a.mov(ebx, 2);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.True(rig.Statistics!.NativeInstructions > 0, "nothing ran as host code");
        AssertException(rig, DB, errorCode: null, code.GetLabelRIP(next));
        Assert.Equal(1UL, rig.Core.SaveState().Gpr[(int)Gpr.Rbx]);
        Assert.NotEqual(0UL, rig.Core.Dr6 & (1UL << 14));   // DR6.BS
    }

    [Fact]
    public void ADataBreakpointTrapsAStoreToAPageTranslatedCodeWroteBefore()
    {
        using var rig = Rig();
        Label next = default;
        AssemblerResult code = rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            next = a.CreateLabel();
            a.mov(ecx, 50);
            a.Label(ref loop);
            a.mov(__dword_ptr[0x5000], ecx);   // the page gets a TLB write entry
            a.dec(ecx);
            a.jnz(loop);
            a.mov(eax, 0x5000);
            a.mov(dr0, eax);
            a.mov(eax, 0x000d_0001);            // L0, R/W0 = 01 (writes), LEN0 = 11 (4 bytes)
            a.mov(dr7, eax);
            a.mov(__dword_ptr[0x5000], 9);     // #DB after the store (a trap, Vol. 3B 18.3.1.2)
            a.Label(ref next);
            a.mov(ebx, 2);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        AssertException(rig, DB, errorCode: null, code.GetLabelRIP(next));
        Assert.Equal(9u, rig.ReadUInt32(0x5000));
        Assert.Equal(1UL, rig.Core.Dr6 & 0xf);   // DR6.B0
    }

    private const ulong UserPage = 0x40_0000;

    private static TranslatorRig Rig()
    {
        var rig = new TranslatorRig();
        GiveEachVectorItsHandler(rig);
        rig.WriteUInt64(0x800 + BasedData, 0x00cf_9300_1000_ffff);
        rig.WriteUInt64(0x800 + ReadOnlyData, 0x00cf_9100_0000_ffff);
        CpuState s = rig.Core.SaveState();
        s.Gdtr = new TableRegister { Base = 0x800, Limit = 0x27 };
        rig.Core.LoadState(s);
        return rig;
    }

    // The rig's paging (PDE 0: a supervisor 4 MiB page over 0-4 MiB) with a user 4 MiB page over
    // 4-8 MiB (PDE 1: present, writable, user, PS).
    private static TranslatorRig PagedRig(ulong cr4Extra)
    {
        var rig = new TranslatorRig(paging: true);
        GiveEachVectorItsHandler(rig);
        rig.Write(0x3004, BitConverter.GetBytes(0x40_0087u));
        CpuState s = rig.Core.SaveState();
        s.Cr4 |= cr4Extra;
        rig.Core.LoadState(s);
        return rig;
    }

    // Vector v's gate leads to a HLT of its own at Handlers + v, so the stop address names the vector.
    private static void GiveEachVectorItsHandler(TranslatorRig rig)
    {
        byte[] halts = new byte[32];
        Array.Fill(halts, (byte)0xf4);
        rig.Write(Handlers, halts);
        for (ulong v = 0; v < 32; v++)
        {
            ulong handler = Handlers + v;
            rig.WriteUInt64(0x1000 + (v * 8), (handler & 0xffff) | (0x08UL << 16) | (0x8e00UL << 32) | ((handler >> 16) << 48));
        }
    }

    // Stopped at vector's HLT, with the frame the interrupt gate pushed at ESP (error code, EIP, CS, EFLAGS).
    private static void AssertException(TranslatorRig rig, int vector, int? errorCode, ulong rip)
    {
        CpuState s = rig.Core.SaveState();
        Assert.Equal(Handlers + (ulong)vector + 1, s.Rip);
        ulong esp = s.Gpr[(int)Gpr.Rsp];
        if (errorCode is { } code)
        {
            Assert.Equal((uint)code, rig.ReadUInt32(esp));
            esp += 4;
        }

        Assert.Equal(rip, (ulong)rig.ReadUInt32(esp));
    }
}
