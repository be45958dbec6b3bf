using Emulator.Devices.Timers;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>The CMOS memory-size fields as the PC/AT BIOS defined them (KiB words, 64 KiB units above 16 MiB and 4 GiB).</summary>
public sealed class PcCmosTests : IDisposable
{
    private readonly PlatformTestBench _bench = new();
    private readonly Mc146818 _rtc;

    public PcCmosTests() => _rtc = new Mc146818(_bench.Platform.Timers, _bench.Line(), new DateTime(2024, 1, 1));

    public void Dispose() => _bench.Dispose();

    private int Word(int offset) => _rtc.ReadRam(offset) | (_rtc.ReadRam(offset + 1) << 8);

    [Fact]
    public void FifteenMegabytesFitTheExtendedMemoryWord()
    {
        PcCmos.Initialize(_rtc, 15UL << 20, 1);

        Assert.Equal(640, Word(PcCmos.BaseMemoryLow));
        Assert.Equal(14 * 1024, Word(PcCmos.ExtendedMemoryLow));
        Assert.Equal(14 * 1024, Word(PcCmos.ExtendedMemoryLow2));
        Assert.Equal(0, Word(PcCmos.MemoryAbove16MLow));
        Assert.Equal(PcCmos.EquipmentCoprocessor, _rtc.ReadRam(PcCmos.Equipment));
        Assert.Equal(0, _rtc.ReadRam(PcCmos.CpuCountMinusOne));
    }

    [Fact]
    public void LargerMemoryIsCountedAbove16MegabytesIn64KUnits()
    {
        PcCmos.Initialize(_rtc, 128UL << 20, 2);

        Assert.Equal(0xFFFF, Word(PcCmos.ExtendedMemoryLow)); // capped
        Assert.Equal((128 - 16) * 16, Word(PcCmos.MemoryAbove16MLow));
        Assert.Equal([0, 0, 0], new[] { _rtc.ReadRam(0x5B), _rtc.ReadRam(0x5C), _rtc.ReadRam(0x5D) });
        Assert.Equal(1, _rtc.ReadRam(PcCmos.CpuCountMinusOne));
    }

    [Fact]
    public void MemoryAboveTheHoleIsCountedAbove4Gigabytes()
    {
        PcCmos.Initialize(_rtc, 8UL << 30, 1);

        // 3 GiB below the PCI hole (3056 MiB above 16 MiB), 5 GiB above 4 GiB: in 64 KiB units.
        Assert.Equal(3056 * 16, Word(PcCmos.MemoryAbove16MLow));
        Assert.Equal(81920, _rtc.ReadRam(0x5B) | (_rtc.ReadRam(0x5C) << 8) | (_rtc.ReadRam(0x5D) << 16));
    }

    [Fact]
    public void ChecksumCoversBytes10To2DBigEndian()
    {
        PcCmos.Initialize(_rtc, 64UL << 20, 1);

        int sum = 0;
        for (int i = 0x10; i <= 0x2D; i++)
        {
            sum += _rtc.ReadRam(i);
        }

        Assert.Equal(sum, (_rtc.ReadRam(0x2E) << 8) | _rtc.ReadRam(0x2F));
    }
}
