using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// PUSHFQ and CLI as translated code runs them in 64-bit mode: the image PUSHFQ stores has the
/// arithmetic flags the previous instruction left, the rest of RFLAGS, and never VM or RF (Intel
/// SDM Vol. 2B PUSHF); CLI at CPL 0 clears IF (Vol. 2A CLI). The expected images are worked out
/// from the manual's definitions of the flags; the interpreter must store the same.
/// </summary>
public sealed class TranslatedFlagsTests
{
    private const ulong IF = 1 << 9, RF = 1 << 16, AC = 1 << 18;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PushfqStoresTheFlagsAndCliClearsIf(bool translate)
    {
        using var m = new LongModeMachine(translate);
        CpuState s = LongModeMachine.InitialState();
        s.Rflags = 0x2 | IF | AC | RF | (3 << 12);   // IOPL 3, AC; RF never appears in the image
        m.Core.LoadState(s);
        m.Run(a =>
        {
            a.mov(al, 0x7f);
            a.add(al, 1);        // 80h: OF (signed overflow), SF, AF (carry out of bit 3); PF clear (one bit set), ZF and CF clear
            a.pushfq();
            a.pop(rbx);
            a.xor(ecx, ecx);     // ZF, PF; OF, SF, CF clear; AF undefined (masked below)
            a.cli();
            a.pushfq();
            a.pop(rdx);
            a.cmp(ecx, 1);       // 0 - 1: CF, SF, AF, PF (FFh has eight bits set); ZF, OF clear
            a.pushfq();
            a.pop(rsi);
        });

        const ulong rest = 0x2 | AC | (3 << 12);
        Assert.Equal(rest | IF | 0x800 | 0x80 | 0x10, m.Core.R[3]);
        Assert.Equal(rest | 0x40 | 0x4, m.Core.R[2] & ~0x10UL);
        Assert.Equal(rest | 0x80 | 0x10 | 0x4 | 0x1, m.Core.R[6]);
        Assert.Equal(0UL, m.Core.Rflags & IF);
        Assert.Equal(LongModeMachine.InitialState().Gpr[(int)Gpr.Rsp], m.Core.R[4]);
        if (translate)
        {
            // All but the HLT ran as host code.
            Assert.Equal(m.Core.Translator!.Statistics.GuestInstructions - 1, m.Core.Translator.Statistics.NativeInstructions);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StiSetsIf(bool translate)
    {
        using var m = new LongModeMachine(translate);
        CpuState s = LongModeMachine.InitialState();
        s.Rflags = 0x2;
        m.Core.LoadState(s);
        m.Run(a =>
        {
            a.nop();             // the rig runs the first instruction alone, in the interpreter
            a.sti();
            a.pushfq();
            a.pop(rbx);
            a.cli();
            a.pushfq();
            a.pop(rcx);
            a.sti();
            a.nop();
        });

        Assert.Equal(0x2 | IF, m.Core.R[3] & ~0xfdUL);
        Assert.Equal(0x2UL, m.Core.R[1] & ~0xfdUL);
        Assert.Equal(IF, m.Core.Rflags & IF);
        if (translate)
        {
            // All but the HLT ran as host code.
            Assert.Equal(m.Core.Translator!.Statistics.GuestInstructions - 1, m.Core.Translator.Statistics.NativeInstructions);
        }
    }
}
