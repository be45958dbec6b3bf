using Emulator.Jit.Memory;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Loads and stores that alternate between two pages SoftTlb.Entries pages apart, which share a slot of the
/// software TLB: the second way of the slot (SoftTlb's victim) keeps both, and translated code
/// reads and writes through either. The sums are worked out from the values stored.
/// </summary>
public sealed unsafe class TranslatedTlbTests
{
    private const ulong First = LongModeMachine.DataAddress, Second = First + ((ulong)SoftTlb.Entries << SoftTlb.PageShift);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AccessesAlternatingBetweenPagesOfOneSlotSeeEachPage(bool translate)
    {
        using var m = new LongModeMachine(translate);
        m.Write(First, BitConverter.GetBytes(0x11UL));
        m.Write(Second, BitConverter.GetBytes(0x2200UL));
        m.Run(a =>
        {
            Iced.Intel.Label loop = a.CreateLabel();
            a.mov(esi, (uint)First);
            a.mov(edi, (uint)Second);
            a.xor(eax, eax);
            a.mov(ecx, 1000);
            a.Label(ref loop);
            a.add(rax, __qword_ptr[rsi]);
            a.add(rax, __qword_ptr[rdi]);
            a.mov(__qword_ptr[rsi + 8], rax);
            a.mov(__qword_ptr[rdi + 8], rcx);
            a.dec(ecx);
            a.jnz(loop);
        });

        Assert.Equal(1000UL * 0x2211, m.Core.R[0]);
        Assert.Equal(1000UL * 0x2211, BitConverter.ToUInt64(m.Read(First + 8, 8)));
        Assert.Equal(1UL, BitConverter.ToUInt64(m.Read(Second + 8, 8)));
        int slot = SoftTlb.Slot(First);
        ulong[] held = [m.Core.Tlb.ReadTag[slot], m.Core.Tlb.VictimReadTag[slot]];
        Assert.Contains(First, held);
        Assert.Contains(Second, held);
    }
}
