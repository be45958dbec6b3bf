using Emulator.Jit.Memory;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Loads through one base register at several displacements, which the translator probes as one
/// page group (CodeGen/X86/PageGroups): the base is placed inside a page, so that the loads span a
/// page boundary, and so that they span the boundary between two separate host mappings (the
/// machine's two RAM ranges), where one page's addend would read the wrong host memory for the
/// next page. The sum must be the one the stored values give, translated and interpreted alike.
/// </summary>
public sealed class TranslatedPageGroupTests
{
    private const ulong Table = 0x9000;
    private static readonly int[] Displacements = [0, 8, 24, 40];

    private static ulong ValueAt(ulong address) => (address + 1) * 0x9E37_79B9_7F4A_7C15UL;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GroupedLoadsSeeEachPageTheyTouch(bool translate)
    {
        ulong ramEnd = (ulong)SoftTlb.Entries << SoftTlb.PageShift;
        ulong[] bases =
        [
            0x20100,                // inside one page
            0x21000 - 16,           // the last two loads on the next page
            0x22000 - 40,           // only the last load on the next page
            ramEnd - 16,            // across the two host mappings
            ramEnd - 48,            // the last load just inside the first mapping
            ramEnd + 0x100,         // inside the second mapping
            0x20100,                // the first base again, after the others
        ];
        using var m = new LongModeMachine(translate);
        ulong expected = 0;
        foreach (ulong b in bases)
        {
            foreach (int d in Displacements)
            {
                ulong a = b + (ulong)d;
                m.Write(a, BitConverter.GetBytes(ValueAt(a)));
                expected += ValueAt(a);
            }
        }

        for (int i = 0; i < bases.Length; i++)
        {
            m.Write(Table + (ulong)(i * 8), BitConverter.GetBytes(bases[i]));
        }

        // Run the loop twice over the table, so that its block runs translated after the first pass.
        m.Run(a =>
        {
            Iced.Intel.Label outer = a.CreateLabel(), loop = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(edx, 2);
            a.Label(ref outer);
            a.mov(edi, (uint)Table);
            a.mov(ecx, bases.Length);
            a.Label(ref loop);
            a.mov(rsi, __qword_ptr[rdi]);
            a.add(rax, __qword_ptr[rsi + Displacements[0]]);
            a.add(rax, __qword_ptr[rsi + Displacements[1]]);
            a.add(rax, __qword_ptr[rsi + Displacements[2]]);
            a.add(rax, __qword_ptr[rsi + Displacements[3]]);
            a.add(rdi, 8);
            a.dec(ecx);
            a.jnz(loop);
            a.dec(edx);
            a.jnz(outer);
        });

        Assert.Equal(unchecked(expected * 2), m.Core.R[0]);
    }
}
