using Emulator.Jit.Memory;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Table lookups whose index the block has just bounded (`movzx ecx, byte [rdi]`, `and edx, 7Fh`),
/// which the translator probes once for the whole window the index can reach (CodeGen/X86/IndexWindows).
/// The tables sit inside a page, across a page boundary, across the boundary between the machine's
/// two host mappings (where one page's addend would read the wrong host memory for the next page)
/// and in the second mapping. A third lookup adds 1000 to a bounded index, which no window may
/// cover. The sum must be the one the stored values give, translated and interpreted alike.
/// </summary>
public sealed class TranslatedIndexWindowTests
{
    private const ulong Input = 0x8000, Bases = 0x9000;
    private const int Bytes = 256;

    private static ulong ValueAt(ulong address) => (address + 3) * 0x9E37_79B9_7F4A_7C15UL;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BoundedIndexLoadsSeeEachPageTheyTouch(bool translate)
    {
        ulong ramEnd = (ulong)SoftTlb.Entries << SoftTlb.PageShift;
        ulong[] bases =
        [
            0x20100,                // a 2 KiB table inside one page
            0x21000 - 0x400,        // the upper half of the table on the next page
            ramEnd - 0x200,         // across the two host mappings
            ramEnd + 0x100,         // inside the second mapping
            ramEnd - 0xF00,         // inside the first mapping's last page; index + 1000 reaches the second
            0x20100,                // the first again, after the others
        ];
        using var m = new LongModeMachine(translate);
        byte[] input = new byte[Bytes];
        for (int i = 0; i < Bytes; i++)
        {
            input[i] = (byte)((i * 37) + 11);
        }

        m.Write(Input, input);
        ulong expected = 0;
        foreach (ulong b in bases)
        {
            for (ulong j = 0; j < 256 + 1000 + 1; j++)
            {
                m.Write(b + (j * 8), BitConverter.GetBytes(ValueAt(b + (j * 8))));
            }

            foreach (byte x in input)
            {
                ulong low7 = (ulong)(x & 0x7f);
                expected += ValueAt(b + (x * 8UL)) + ValueAt(b + 8 + (low7 * 8)) + ValueAt(b + ((x + 1000UL) * 8));
            }
        }

        for (int i = 0; i < bases.Length; i++)
        {
            m.Write(Bases + (ulong)(i * 8), BitConverter.GetBytes(bases[i]));
        }

        m.Run(a =>
        {
            Iced.Intel.Label outer = a.CreateLabel(), loop = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(r8d, (uint)Bases);
            a.mov(r9d, bases.Length);
            a.Label(ref outer);
            a.mov(rsi, __qword_ptr[r8]);
            a.mov(edi, (uint)Input);
            a.mov(r10d, Bytes);
            a.Label(ref loop);
            a.movzx(ecx, __byte_ptr[rdi]);
            a.add(rax, __qword_ptr[rsi + rcx * 8]);
            a.mov(edx, __dword_ptr[rdi]);
            a.and(edx, 0x7f);
            a.add(rax, __qword_ptr[rsi + rdx * 8 + 8]);
            a.add(ecx, 1000);
            a.add(rax, __qword_ptr[rsi + rcx * 8]);
            a.inc(rdi);
            a.dec(r10d);
            a.jnz(loop);
            a.add(r8, 8);
            a.dec(r9d);
            a.jnz(outer);
        });

        Assert.Equal(expected, m.Core.R[0]);
    }
}
