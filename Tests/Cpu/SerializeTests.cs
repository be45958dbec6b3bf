using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// SERIALIZE (Intel SDM Vol. 2B SERIALIZE; CPUID.(EAX=07H,ECX=0):EDX[14]): the model advertises it,
/// as Linux's sync_core() looks for before falling back to an IRET to itself, and it changes no
/// register and no flag ("Flags Affected: None") at any privilege level, interpreted or translated.
/// The host here lacks it, so the differential harness cannot run it natively.
/// </summary>
public sealed class SerializeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SerializeIsAdvertisedAndChangesNoRegisterOrFlag(bool translate)
    {
        Assert.NotEqual(0u, CpuModel.Query(7, 0, 0).Edx & (1u << 14));
        using var m = new LongModeMachine(translate);
        m.Run(a =>
        {
            a.mov(rax, 0x1122_3344_5566_7788);
            a.mov(rcx, 0x0123_4567_89ab_cdef);
            a.xor(edx, edx);
            a.stc();
            a.serialize();
            a.adc(rdx, 0); // CF as STC left it
            a.serialize();
            a.sete(bl);    // ZF as ADC left it
        });
        Assert.Equal(0x1122_3344_5566_7788UL, m.Core.R[0]);
        Assert.Equal(0x0123_4567_89ab_cdefUL, m.Core.R[1]);
        Assert.Equal(1UL, m.Core.R[2]);
        Assert.Equal(0UL, m.Core.R[3] & 0xff); // ADC cleared ZF (its result is 1)
    }
}
