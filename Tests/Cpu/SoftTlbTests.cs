using Emulator.Jit.Memory;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>The software TLB's invalidation rules: CR3 loads keep global entries, INVLPG drops a whole large page.</summary>
public sealed unsafe class SoftTlbTests
{
    private const ulong Page = 0x40_1000;

    [Fact]
    public void FlushNonGlobalKeepsGlobalEntriesOnly()
    {
        var tlb = new SoftTlb(user: false);
        tlb.SetRead(Page, 0x1000, SoftTlb.Info(global: true, 0));
        tlb.SetWrite(Page + 0x1000, 0x2000, SoftTlb.Info(global: false, 0));
        tlb.SetFetch(Page + 0x2000, 0x3000, SoftTlb.Info(global: false, 0));

        tlb.FlushNonGlobal();

        Assert.Equal(SoftTlb.Tag(Page), tlb.ReadTag[SoftTlb.Slot(Page)]);
        Assert.Equal(SoftTlb.EmptyTag, tlb.WriteTag[SoftTlb.Slot(Page + 0x1000)]);
        Assert.Equal(SoftTlb.EmptyTag, tlb.FetchTag[SoftTlb.Slot(Page + 0x2000)]);
    }

    [Fact]
    public void FlushNonGlobalDropsExactlyTheNonGlobalEntriesLeftInEverySlot()
    {
        // Entries of every slot, in all three tables, global or not at random, overwritten at
        // random (a global entry where a non-global one was, and the reverse), with INVLPGs and
        // CR3 loads between: after each CR3 load exactly the last entry of each slot that came
        // from a global page is left (Intel SDM Vol. 3A 4.10.4.1).
        var tlb = new SoftTlb(user: false);
        var random = new Random(7);
        var expected = new (ulong Tag, bool Global)?[3, SoftTlb.Entries];
        for (int round = 0; round < 20; round++)
        {
            for (int n = 0; n < 3000; n++)
            {
                int table = random.Next(3);
                ulong linear = (ulong)random.Next(1 << 20) << 12;
                bool global = random.Next(4) == 0;
                uint info = SoftTlb.Info(global, 0);
                switch (table)
                {
                    case 0: tlb.SetRead(linear, 0x1000, info); break;
                    case 1: tlb.SetWrite(linear, 0x1000, info); break;
                    default: tlb.SetFetch(linear, 0x1000, info); break;
                }

                expected[table, SoftTlb.Slot(linear)] = (SoftTlb.Tag(linear), global);
                if (random.Next(100) == 0)
                {
                    ulong victim = (ulong)random.Next(1 << 20) << 12;
                    tlb.FlushPage(victim);
                    for (int t = 0; t < 3; t++)
                    {
                        if (expected[t, SoftTlb.Slot(victim)] is { } e && e.Tag == SoftTlb.Tag(victim))
                        {
                            expected[t, SoftTlb.Slot(victim)] = null;
                        }
                    }
                }
            }

            tlb.FlushNonGlobal();
            for (int i = 0; i < SoftTlb.Entries; i++)
            {
                for (int t = 0; t < 3; t++)
                {
                    if (expected[t, i] is { Global: false })
                    {
                        expected[t, i] = null;
                    }

                    ulong tag = t switch { 0 => tlb.ReadTag[i], 1 => tlb.WriteTag[i], _ => tlb.FetchTag[i] };
                    Assert.Equal(expected[t, i]?.Tag ?? SoftTlb.EmptyTag, tag);
                }
            }
        }
    }

    [Fact]
    public void FlushPageDropsGlobalEntriesOfThatPage()
    {
        var tlb = new SoftTlb(user: true);
        tlb.SetRead(Page, 0x1000, SoftTlb.Info(global: true, 0));
        tlb.SetRead(Page + 0x1000, 0x2000, SoftTlb.Info(global: true, 0));

        tlb.FlushPage(Page + 0x123);

        Assert.Equal(SoftTlb.EmptyTag, tlb.ReadTag[SoftTlb.Slot(Page)]);
        Assert.Equal(SoftTlb.Tag(Page + 0x1000), tlb.ReadTag[SoftTlb.Slot(Page + 0x1000)]);
    }

    [Fact]
    public void FlushPageInsideALargePageDropsEveryEntryMadeFromIt()
    {
        var tlb = new SoftTlb(user: false);
        const ulong large = 0x20_0000;     // a 2 MiB page: 512 small pages
        tlb.SetRead(large + 0x5000, 0x1000, SoftTlb.Info(global: false, 0x1ff));
        tlb.SetWrite(large + 0x1f_f000, 0x2000, SoftTlb.Info(global: true, 0x1ff));
        tlb.SetRead(large + 0x20_0000, 0x3000, SoftTlb.Info(global: false, 0));

        tlb.FlushPage(large + 0x10_0000);

        Assert.Equal(SoftTlb.EmptyTag, tlb.ReadTag[SoftTlb.Slot(large + 0x5000)]);
        Assert.Equal(SoftTlb.EmptyTag, tlb.WriteTag[SoftTlb.Slot(large + 0x1f_f000)]);
        Assert.Equal(SoftTlb.Tag(large + 0x20_0000), tlb.ReadTag[SoftTlb.Slot(large + 0x20_0000)]);
    }

    [Fact]
    public void FlushPageFindsItsLargePageAmongManyAndKeepsTheOthers()
    {
        // Linux maps RAM with hundreds of 2 MiB pages and some 1 GiB ones; an INVLPG inside one
        // drops that page's entries wherever their slots are (a 2 MiB page at slot 768 wraps).
        var tlb = new SoftTlb(user: false);
        const ulong twoMiB = 0x20_0000;
        for (ulong n = 0; n < 40; n++)
        {
            ulong large = 0x4000_0000 + (n * twoMiB);
            tlb.SetRead(large + (n * 0x8000), 0x1000, SoftTlb.Info(global: true, 0x1ff));     // every entry its own slot
            tlb.SetFetch(large + (n * 0x8000) + 0x1000, 0x5000, SoftTlb.Info(global: true, 0x1ff));
        }

        const ulong huge = 0x80_0000_0000;  // a 1 GiB page
        tlb.SetRead(huge + 0x123_4000, 0x2000, SoftTlb.Info(global: true, 0x3ffff));

        ulong victim = 0x4000_0000 + (13 * twoMiB);
        tlb.FlushPage(victim + 0x8_0000);

        for (ulong n = 0; n < 40; n++)
        {
            ulong large = 0x4000_0000 + (n * twoMiB);
            ulong read = large + (n * 0x8000), fetch = read + 0x1000;
            Assert.Equal(n == 13 ? SoftTlb.EmptyTag : SoftTlb.Tag(read), tlb.ReadTag[SoftTlb.Slot(read)]);
            Assert.Equal(n == 13 ? SoftTlb.EmptyTag : SoftTlb.Tag(fetch), tlb.FetchTag[SoftTlb.Slot(fetch)]);
        }

        Assert.Equal(SoftTlb.Tag(huge + 0x123_4000), tlb.ReadTag[SoftTlb.Slot(huge + 0x123_4000)]);
        tlb.FlushPage(huge + 0x3fff_f000);
        Assert.Equal(SoftTlb.EmptyTag, tlb.ReadTag[SoftTlb.Slot(huge + 0x123_4000)]);

        // An address in no large page drops only its own slot's entry.
        tlb.SetRead(0x7000, 0x3000, SoftTlb.Info(global: false, 0));
        tlb.FlushPage(0x1000_7000);
        Assert.Equal(SoftTlb.Tag(0x7000), tlb.ReadTag[SoftTlb.Slot(0x7000)]);
    }

    [Fact]
    public void AnEntryDisplacedFromItsSlotStaysInTheSecondWayUntilFlushed()
    {
        // Pages SoftTlb.Entries pages apart share a slot (SoftTlb.Slot): the older entry moves to the slot's second way.
        const ulong other = Page + ((ulong)SoftTlb.Entries << SoftTlb.PageShift);
        var tlb = new SoftTlb(user: false);
        int slot = SoftTlb.Slot(Page);
        Assert.Equal(slot, SoftTlb.Slot(other));
        tlb.SetRead(Page, 0x5000, SoftTlb.Info(global: false, 0));
        tlb.SetRead(other, 0x9000, SoftTlb.Info(global: true, 0));
        Assert.Equal(SoftTlb.Tag(other), tlb.ReadTag[slot]);
        Assert.Equal(SoftTlb.Tag(Page), tlb.VictimReadTag[slot]);
        Assert.Equal(0x5000 + 0x123, tlb.VictimReadAddend[slot] + (nint)(Page + 0x123));

        // INVLPG finds the page in either way; a CR3 load keeps the global one wherever it is.
        tlb.FlushPage(Page);
        Assert.Equal(SoftTlb.EmptyTag, tlb.VictimReadTag[slot]);
        Assert.Equal(SoftTlb.Tag(other), tlb.ReadTag[slot]);
        tlb.SetRead(Page, 0x5000, SoftTlb.Info(global: false, 0));
        Assert.Equal(SoftTlb.Tag(other), tlb.VictimReadTag[slot]);
        tlb.FlushNonGlobal();
        Assert.Equal(SoftTlb.EmptyTag, tlb.ReadTag[slot]);
        Assert.Equal(SoftTlb.Tag(other), tlb.VictimReadTag[slot]);

        // A write entry of a page holding code is not kept: its stores must look at the code map.
        tlb.SetWrite(Page, 0x5000, SoftTlb.Info(global: false, 0), codeMap: 0x100);
        tlb.SetWrite(other, 0x9000, SoftTlb.Info(global: false, 0));
        Assert.Equal(SoftTlb.EmptyTag, tlb.VictimWriteTag[slot]);
        tlb.SetWrite(Page, 0x5000, SoftTlb.Info(global: false, 0));
        Assert.Equal(SoftTlb.Tag(other), tlb.VictimWriteTag[slot]);
        tlb.FlushWrites();
        Assert.Equal(SoftTlb.EmptyTag, tlb.VictimWriteTag[slot]);

        tlb.Flush();
        Assert.Equal(SoftTlb.EmptyTag, tlb.VictimReadTag[slot]);
    }
}
