using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// MOV r32/r64, Sreg in 64-bit mode, as translated code and the interpreter run it: the visible
/// selector, zero-extended into the whole register (Intel SDM Vol. 2B MOV: the upper bytes of a
/// 32-bit destination are zeroed on P6 and later processors, and a 32-bit result clears bits 63:32
/// in 64-bit mode), the flags untouched. Linux's sync_core runs two of these before its IRETQ.
/// </summary>
public sealed class TranslatedSegmentReadTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MovFromSegmentRegisterZeroExtendsTheSelector(bool translate)
    {
        using var m = new LongModeMachine(translate);
        CpuState s = LongModeMachine.InitialState();
        s.Segments[(int)Seg.Ss].Selector = 0x18;
        s.Segments[(int)Seg.Fs].Selector = 0x2b;
        m.Core.LoadState(s);
        m.Run(a =>
        {
            a.mov(rax, -1L);
            a.mov(rcx, -1L);
            a.mov(rdx, -1L);
            a.xor(ebx, ebx);
            a.cmp(ebx, 1);       // 0 - 1 borrows: CF set
            a.mov(eax, ss);
            a.mov(rcx, cs);
            a.mov(edx, fs);
            a.setc(bl);          // CF survives the three reads
        });

        Assert.Equal(0x18UL, m.Core.R[0]);
        Assert.Equal(0x08UL, m.Core.R[1]);
        Assert.Equal(0x2bUL, m.Core.R[2]);
        Assert.Equal(1UL, m.Core.R[3] & 0xff);
        if (translate)
        {
            // All but the HLT ran as host code.
            Assert.Equal(m.Core.Translator!.Statistics.GuestInstructions - 1, m.Core.Translator.Statistics.NativeInstructions);
        }
    }
}
