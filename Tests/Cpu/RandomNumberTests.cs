using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// RDRAND and RDSEED (Intel SDM Vol. 2B RDRAND, RDSEED): CF = 1 means the destination holds a
/// random value, and OF, SF, ZF, AF, PF are cleared. A random value has no expected value, so the
/// tests check the flags the manual defines and that values vary (64 draws of 64 bits all equal,
/// or a bit position that never changes, would be a broken generator: the chance of either from a
/// real one is below 2^-56; for the 32 draws of the narrow forms, below 2^-26).
/// </summary>
public sealed class RandomNumberTests
{
    private const uint CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void SixtyFourDrawsSetCfClearTheOtherFlagsAndVaryInEveryBit(bool seed, bool translate)
    {
        using var m = new LongModeMachine(translate);
        const ulong Out = LongModeMachine.DataAddress;
        m.Run(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rdi, Out);
            a.mov(ecx, 64);
            a.Label(ref loop);
            // Every arithmetic flag set first, so that a cleared flag was cleared by the instruction.
            a.mov(eax, 0x8d5);
            a.push(rax);
            a.popfq();
            if (seed)
            {
                a.rdseed(rax);
            }
            else
            {
                a.rdrand(rax);
            }

            a.pushfq();
            a.pop(rdx);
            a.mov(__qword_ptr[rdi], rax);
            a.mov(__qword_ptr[rdi + 8], rdx);
            a.add(rdi, 16);
            a.dec(ecx);
            a.jnz(loop);
        });

        byte[] raw = m.Read(Out, 64 * 16);
        ulong and = ulong.MaxValue, or = 0;
        for (int i = 0; i < 64; i++)
        {
            ulong value = BitConverter.ToUInt64(raw, i * 16);
            uint flags = (uint)BitConverter.ToUInt64(raw, (i * 16) + 8);
            Assert.Equal(CF, flags & (CF | PF | AF | ZF | SF | OF));
            and &= value;
            or |= value;
        }

        Assert.Equal(0UL, and);
        Assert.Equal(ulong.MaxValue, or);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A16And32BitDestinationIsFilledAsWideAsTheOperandAndA32BitOneClearsTheUpperHalf(bool seed)
    {
        using var m = new LongModeMachine();
        const ulong Out = LongModeMachine.DataAddress;
        m.Run(a =>
        {
            a.mov(rdi, Out);
            a.mov(ecx, 32);
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(rax, -1L);
            a.mov(rbx, -1L);
            if (seed)
            {
                a.rdseed(ax);
                a.rdseed(ebx);
            }
            else
            {
                a.rdrand(ax);
                a.rdrand(ebx);
            }

            a.mov(__qword_ptr[rdi], rax);
            a.mov(__qword_ptr[rdi + 8], rbx);
            a.add(rdi, 16);
            a.dec(ecx);
            a.jnz(loop);
        });

        byte[] raw = m.Read(Out, 32 * 16);
        ulong or16 = 0, or32 = 0;
        for (int i = 0; i < 32; i++)
        {
            ulong r16 = BitConverter.ToUInt64(raw, i * 16), r32 = BitConverter.ToUInt64(raw, (i * 16) + 8);
            Assert.Equal(0xffff_ffff_ffff_0000UL, r16 & 0xffff_ffff_ffff_0000UL);
            Assert.Equal(0UL, r32 >> 32);
            or16 |= r16 & 0xffff;
            or32 |= r32;
        }

        Assert.Equal(0xffffUL, or16);
        Assert.Equal(0xffff_ffffUL, or32);
    }

    [Fact]
    public void CpuidAdvertisesBoth()
    {
        Assert.NotEqual(0u, CpuModel.Query(1, 0, 0).Ecx & (1u << 30));
        Assert.NotEqual(0u, CpuModel.Query(7, 0, 0).Ebx & (1u << 18));
    }
}
