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
}
