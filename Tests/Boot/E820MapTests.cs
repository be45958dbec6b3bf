using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Boot;

public sealed class E820MapTests
{
    [Fact]
    public void SmallPcHasConventionalEbdaFirmwareExtendedSmbiosAcpiNvsAndAcpiRanges()
    {
        E820Map m = E820Map.Build(128UL << 20, 0x1_0000);

        Assert.Equal(
            [
                new E820Entry(0, 0x9_fc00, E820Type.Ram),
                new E820Entry(0x9_fc00, 0x400, E820Type.Reserved),
                new E820Entry(0xf_0000, 0x1_0000, E820Type.Reserved),
                new E820Entry(0x10_0000, (128UL << 20) - 0x10_0000 - E820Map.AcpiTablesSize - E820Map.SmbiosTableSize, E820Type.Ram),
                new E820Entry((128UL << 20) - E820Map.AcpiTablesSize - E820Map.SmbiosTableSize, E820Map.SmbiosTableSize, E820Type.Reserved),
                new E820Entry((128UL << 20) - E820Map.AcpiTablesSize, 0x1000, E820Type.Nvs),
                new E820Entry((128UL << 20) - E820Map.AcpiTablesSize + 0x1000, E820Map.AcpiTablesSize - 0x1000, E820Type.Acpi),
            ],
            m.Entries);
        Assert.Equal(639u, m.MemLowerKiB);
        Assert.Equal((uint)((m.LowRamEnd - 0x10_0000) >> 10), m.MemUpperKiB);
        Assert.Equal(m.LowRamEnd, m.SmbiosTableAddress);
        Assert.Equal(m.SmbiosTableAddress + E820Map.SmbiosTableSize, m.AcpiTablesAddress);
    }

    [Fact]
    public void RamBeyondThePciHoleContinuesAt4GiB()
    {
        E820Map m = E820Map.Build(4UL << 30, 0x2_0000);

        Assert.Contains(new E820Entry(0xe_0000, 0x2_0000, E820Type.Reserved), m.Entries);
        Assert.Equal(new E820Entry(0x1_0000_0000, 1UL << 30, E820Type.Ram), m.Entries[^1]);
        Assert.Equal(PcMemoryMap.PciHoleStart - E820Map.AcpiTablesSize - E820Map.SmbiosTableSize, m.LowRamEnd);
    }

    [Theory]
    [InlineData(1UL << 20)]
    [InlineData(3UL << 20)]
    [InlineData(512UL << 20)]
    [InlineData(5UL << 30)]
    public void EntriesAreSortedAndDisjoint(ulong ram)
    {
        E820Map m = E820Map.Build(ram, 0x1_0000);
        for (int i = 1; i < m.Entries.Count; i++)
        {
            Assert.True(m.Entries[i - 1].End <= m.Entries[i].Address, $"{m.Entries[i - 1]} overlaps {m.Entries[i]}");
        }

        ulong ramBytes = 0;
        foreach (E820Entry e in m.Entries.Where(e => e.Address != 0xf_0000))
        {
            ramBytes += e.Size;
        }

        Assert.Equal(ram - 0x6_0000, ramBytes); // all RAM but the A0000-FFFFF hole is described
    }
}
