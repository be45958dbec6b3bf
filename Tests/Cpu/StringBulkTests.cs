using Emulator.Core.Cpu;
using Emulator.Jit.State;
using Emulator.Tests.Cpu.Simd;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// REP MOVS and REP STOS over many pages, where the software CPU moves whole page runs at once
/// (Instructions/Strings.Bulk): the results must be those of the instructions' definitions (Intel
/// SDM Vol. 2B MOVS, STOS, REP: one element after another, RSI/RDI/RCX updated per element, a fault
/// leaving them at the faulting element), computed here by stepping the definition over a copy of
/// memory, whatever the overlap, page boundaries, missing pages or code on the destination page.
/// </summary>
public sealed class StringBulkTests
{
    private const ulong Pml4 = 0x20_0000, Pdpt = 0x20_1000, Pd = 0x20_2000, Pt = 0x20_3000;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(8, 8)]
    [InlineData(4, 6)]
    [InlineData(2, 1)]
    public void AnOverlappingForwardMovsRepeatsTheSourcePatternAsElementByElementCopyingDoes(int element, int distance)
    {
        using var m = new LongModeMachine();
        const ulong Source = 0x4_0000;
        const int Count = 3000;                 // several pages at any element size
        byte[] memory = RandomBytes((Count * element) + distance + 64, seed: element * 31 + distance);
        m.Write(Source, memory);

        m.Run(a =>
        {
            a.mov(rsi, Source);
            a.mov(rdi, Source + (ulong)distance);
            a.mov(rcx, Count);
            RepMovs(a, element);
        });

        // The definition: element i is read from RSI + i*size after elements 0..i-1 were written.
        for (int i = 0; i < Count; i++)
        {
            Array.Copy(memory, i * element, memory, (i * element) + distance, element);
        }

        Assert.Equal(memory, m.Read(Source, memory.Length));
        CpuState s = m.Core.SaveState();
        Assert.Equal((Source + (ulong)(Count * element), Source + (ulong)distance + (ulong)(Count * element), 0UL),
            (s.Gpr[(int)Gpr.Rsi], s.Gpr[(int)Gpr.Rdi], s.Gpr[(int)Gpr.Rcx]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ABackwardOverlapAndADisjointCopyOfAMegabyteMoveEveryByte(bool translate)
    {
        using var m = new LongModeMachine(translate);
        byte[] data = RandomBytes(1 << 20, seed: 5);
        m.Write(0x10_0000, data);
        m.Run(a =>
        {
            // Disjoint: 1 MiB from 0x100000 to 0x280000 in quadwords.
            a.mov(rsi, 0x10_0000);
            a.mov(rdi, 0x28_0000);
            a.mov(rcx, (1 << 20) / 8);
            a.rep.movsq();

            // Overlapping with the destination below the source: bytes 0x100000.. move down by 100.
            a.mov(rsi, 0x10_0000 + 100);
            a.mov(rdi, 0x10_0000);
            a.mov(rcx, 50_000);
            a.rep.movsb();
        });

        Assert.Equal(data, m.Read(0x28_0000, data.Length));
        byte[] expected = (byte[])data.Clone();
        for (int i = 0; i < 50_000; i++)
        {
            expected[i] = expected[i + 100];
        }

        Assert.Equal(expected, m.Read(0x10_0000, data.Length));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void StosFillsAcrossPagesAndStopsAtTheFirstElementOfAMissingPage(int element)
    {
        using var m = new LongModeMachine();
        EnablePaging(m, missingPage: 0x3_0000);
        const ulong Start = 0x2_e000 + 0x7f8;   // 0x2e7f8: one and a half pages before the hole
        const ulong Value = 0x1122_3344_5566_7788;
        m.Write(0x2_e000, new byte[0x2000]);
        SetRegisters(m, (Gpr.Rdi, Start), (Gpr.Rcx, 0x4000), (Gpr.Rax, Value));

        int vector = m.Execute(a => RepStos(a, element));

        // #PF at 0x30000: every element below it stored, RDI at it, RCX counting what is left.
        Assert.Equal(14, vector);
        ulong done = (0x3_0000 - Start) / (ulong)element;
        CpuState s = m.Core.SaveState();
        Assert.Equal(0x3_0000UL, s.Gpr[(int)Gpr.Rdi]);
        Assert.Equal(0x4000 - done, s.Gpr[(int)Gpr.Rcx]);
        byte[] filled = m.Read(Start, (int)(0x3_0000 - Start));
        for (int i = 0; i < filled.Length; i++)
        {
            Assert.Equal((byte)(Value >> (8 * (i % element))), filled[i]);
        }

        Assert.Equal(0, m.Read(0x2_e000, (int)(Start - 0x2_e000)).Count(b => b != 0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AMovsOverTheInstructionsAfterItChangesWhatRuns(bool translate)
    {
        // MOV EAX, 2 written over the MOV EAX, 1 that follows the REP MOVSB in the same block:
        // the new instruction is the one executed (Intel SDM Vol. 3A 8.1.3 for a single processor).
        using var m = new LongModeMachine(translate);
        const ulong Patch = 0x2_0000;
        m.Write(Patch, [0xb8, 0x02, 0x00, 0x00, 0x00]);
        m.Run(a =>
        {
            Label target = a.CreateLabel();
            a.lea(rdi, __[target]);
            a.mov(rsi, Patch);
            a.mov(rcx, 5);
            a.rep.movsb();
            a.Label(ref target);
            a.mov(eax, 1);
        });

        Assert.Equal(2UL, m.Core.SaveState().Gpr[(int)Gpr.Rax]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void UnderSmapASupervisorCopyToAndFromUserPagesNeedsAc(int element)
    {
        // copy_to_user and copy_from_user: the kernel moves data between its pages and user pages
        // with EFLAGS.AC set (STAC); without AC the first user access is a page fault (Intel SDM
        // Vol. 3A 4.6.1 with CR4.SMAP).
        using var m = new LongModeMachine();
        const ulong Kernel = 0x4_0000, User = 0x5_0000, Back = 0x6_0000;
        const int Bytes = 0x1800;                // a page and a half
        EnablePaging(m, missingPage: 0x3_0000, userPages: (User, 2));
        byte[] data = RandomBytes(Bytes, seed: element);
        m.Write(Kernel, data);
        CpuState s = m.Core.SaveState();
        s.Cr4 |= CpuCore.Cr4Smap;
        m.Core.LoadState(s);

        SetRegisters(m, (Gpr.Rsi, Kernel), (Gpr.Rdi, User), (Gpr.Rcx, (ulong)(Bytes / element)));
        Assert.Equal(14, m.Execute(a => RepMovs(a, element)));
        s = m.Core.SaveState();
        Assert.Equal((Kernel, User, (ulong)(Bytes / element)), (s.Gpr[(int)Gpr.Rsi], s.Gpr[(int)Gpr.Rdi], s.Gpr[(int)Gpr.Rcx]));
        Assert.Equal(0, m.Read(User, Bytes).Count(b => b != 0));

        s.Rflags |= CpuCore.AC;
        m.Core.LoadState(s);
        Assert.Equal(-1, m.Execute(a => RepMovs(a, element)));
        Assert.Equal(data, m.Read(User, Bytes));

        SetRegisters(m, (Gpr.Rsi, User), (Gpr.Rdi, Back), (Gpr.Rcx, (ulong)(Bytes / element)));
        Assert.Equal(-1, m.Execute(a => RepMovs(a, element)));
        Assert.Equal(data, m.Read(Back, Bytes));
        s = m.Core.SaveState();
        Assert.Equal((User + Bytes, Back + Bytes, 0UL), (s.Gpr[(int)Gpr.Rsi], s.Gpr[(int)Gpr.Rdi], s.Gpr[(int)Gpr.Rcx]));
    }

    private static void RepMovs(Assembler a, int element)
    {
        switch (element)
        {
            case 1: a.rep.movsb(); break;
            case 2: a.rep.movsw(); break;
            case 4: a.rep.movsd(); break;
            default: a.rep.movsq(); break;
        }
    }

    private static void RepStos(Assembler a, int element)
    {
        switch (element)
        {
            case 1: a.rep.stosb(); break;
            case 2: a.rep.stosw(); break;
            case 4: a.rep.stosd(); break;
            default: a.rep.stosq(); break;
        }
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void SetRegisters(LongModeMachine m, params (Gpr Register, ulong Value)[] values)
    {
        CpuState s = m.Core.SaveState();
        foreach ((Gpr r, ulong v) in values)
        {
            s.Gpr[(int)r] = v;
        }

        m.Core.LoadState(s);
    }

    // 4-level paging (Intel SDM Vol. 3A 4.5) identity-mapping the first 2 MiB in 4 KiB pages, all
    // present and writable but `missingPage`, supervisor pages but `userPages`, and 2-4 MiB as one
    // large page.
    private static void EnablePaging(LongModeMachine m, ulong missingPage, (ulong First, int Count) userPages = default)
    {
        m.Write(Pml4, BitConverter.GetBytes(Pdpt | 7));
        m.Write(Pdpt, BitConverter.GetBytes(Pd | 7));
        m.Write(Pd, BitConverter.GetBytes(Pt | 7));
        m.Write(Pd + 8, BitConverter.GetBytes(0x20_0000UL | 0x83));
        byte[] table = new byte[4096];
        for (int i = 0; i < 512; i++)
        {
            ulong page = (ulong)i << 12;
            bool user = page >= userPages.First && page < userPages.First + ((ulong)userPages.Count << 12);
            BitConverter.GetBytes(page == missingPage ? 0 : page | (user ? 7UL : 3UL)).CopyTo(table, i * 8);
        }

        m.Write(Pt, table);
        CpuState s = m.Core.SaveState();
        s.Cr3 = Pml4;
        s.Cr4 |= CpuCore.Cr4Pae;
        s.Cr0 |= 0x8000_0000;
        m.Core.LoadState(s);
    }
}
