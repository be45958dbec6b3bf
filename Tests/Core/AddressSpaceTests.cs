using Emulator.Core.Devices;
using Emulator.Core.Memory;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class AddressSpaceTests : IDisposable
{
    private const ulong Page = HostMapping.PageSize;

    private readonly HostMapping _backing = new(16 * Page);
    private readonly AddressSpace _space = new(new Lock());

    public void Dispose() => _backing.Dispose();

    private static GuestPhysicalAddress At(ulong a) => new(a);

    [Theory]
    [InlineData(0x1000, 0x1000)] // identical
    [InlineData(0x0800, 0x1000)] // overlaps the start
    [InlineData(0x1800, 0x1000)] // overlaps the end
    [InlineData(0x1400, 0x0100)] // inside
    [InlineData(0x0000, 0x4000)] // encloses
    [InlineData(0x1fff, 0x0001)] // last byte only
    public void OverlappingRegionsAreRejected(ulong start, ulong size)
    {
        _space.AddRam("ram", At(0x1000), 0x1000, _backing);

        Assert.Throws<InvalidOperationException>(() => _space.AddRam("other", At(start), size, _backing, 4 * Page));
        Assert.Throws<InvalidOperationException>(() => _space.AddMmio("mmio", At(start), size, new RecordingDevice("d")));
    }

    [Fact]
    public void AdjacentRegionsAreAllowed()
    {
        _space.AddRam("a", At(0x1000), 0x1000, _backing);
        _space.AddRam("b", At(0x2000), 0x1000, _backing, Page);
        _space.AddRom("c", At(0x0000), 0x1000, _backing, 2 * Page);

        Assert.Equal(["c", "a", "b"], _space.Regions.Select(r => r.Name));
    }

    [Fact]
    public void EmptyRegionIsRejected() =>
        Assert.Throws<ArgumentException>(() => _space.AddRam("empty", At(0x1000), 0, _backing));

    [Fact]
    public void RegionLargerThanItsBackingIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.AddRam("big", At(0), 17 * Page, _backing));

    [Fact]
    public void AccessCrossesBetweenTwoRamRegions()
    {
        // Two RAM regions that are adjacent in the guest but far apart in the host mapping.
        _space.AddRam("low", At(0x1000), 0x1000, _backing, 0);
        _space.AddRam("high", At(0x2000), 0x1000, _backing, 8 * Page);

        _space.WriteUInt(At(0x1ffe), 4, 0x4433_2211);

        Assert.Equal(new byte[] { 0x11, 0x22 }, _backing.AsSpan(0xffe, 2).ToArray());
        Assert.Equal(new byte[] { 0x33, 0x44 }, _backing.AsSpan(8 * Page, 2).ToArray());
        Assert.Equal(0x4433_2211UL, _space.ReadUInt(At(0x1ffe), 4));
    }

    [Fact]
    public void UnmappedReadReturnsAllOnes()
    {
        Assert.Equal(0xffff_ffffUL, _space.ReadUInt(At(0x9000), 4));
        Assert.Equal(1, _space.UnmappedAccesses);
    }

    [Fact]
    public void UnmappedWriteIsDroppedAndCounted()
    {
        _space.AddRam("ram", At(0x1000), 0x1000, _backing);

        _space.WriteUInt(At(0x3000), 4, 0x1234_5678);

        Assert.Equal(1, _space.UnmappedAccesses);
        Assert.Equal(-1, _backing.AsSpan(0, (int)_backing.Size).IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void AccessStartingUnmappedContinuesIntoRam()
    {
        _space.AddRam("ram", At(0x1000), 0x1000, _backing);
        _backing.AsSpan(0, 2)[0] = 0xaa;
        _backing.AsSpan(0, 2)[1] = 0xbb;

        Span<byte> data = stackalloc byte[4];
        _space.Read(At(0x0ffe), data);

        Assert.Equal(new byte[] { 0xff, 0xff, 0xaa, 0xbb }, data.ToArray());
        Assert.Equal(1, _space.UnmappedAccesses);

        _space.Write(At(0x0ffe), [1, 2, 3, 4]);
        Assert.Equal(new byte[] { 3, 4 }, _backing.AsSpan(0, 2).ToArray());
        Assert.Equal(2, _space.UnmappedAccesses);
    }

    [Fact]
    public void RomIgnoresWrites()
    {
        _backing.AsSpan(0, 1)[0] = 0x5a;
        _space.AddRom("rom", At(0xf0000), 0x1000, _backing);

        _space.WriteUInt(At(0xf0000), 1, 0xa5);

        Assert.Equal(0x5aUL, _space.ReadUInt(At(0xf0000), 1));
        Assert.Equal(0x5a, _backing.AsSpan(0, 1)[0]);
    }

    [Fact]
    public void MmioReceivesOffsetsWithinItsRegion()
    {
        var device = new RecordingDevice("mmio");
        _space.AddMmio("mmio", At(0xfee0_0000), 0x1000, device);

        _space.WriteUInt(At(0xfee0_0300), 4, 0xdead_beef);
        ulong value = _space.ReadUInt(At(0xfee0_0020), 4);

        Assert.Equal(2, device.Accesses.Count);
        Assert.True(device.Accesses[0].IsWrite);
        Assert.Equal(0x300UL, device.Accesses[0].Offset);
        Assert.Equal(new byte[] { 0xef, 0xbe, 0xad, 0xde }, device.Accesses[0].Data);
        Assert.False(device.Accesses[1].IsWrite);
        Assert.Equal(0x20UL, device.Accesses[1].Offset);
        Assert.Equal(0x83828180UL, value);
    }

    [Fact]
    public void ByteOnlyDeviceSeesAWideAccessAsConsecutiveBytes()
    {
        var device = new RecordingDevice("bytes", AccessSizes.Byte);
        _space.AddMmio("bytes", At(0x10000), 0x100, device);

        ulong value = _space.ReadUInt(At(0x10010), 4);
        _space.WriteUInt(At(0x10040), 4, 0x0403_0201);

        Assert.Equal(8, device.Accesses.Count);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal((false, 0x10UL + (ulong)i), (device.Accesses[i].IsWrite, device.Accesses[i].Offset));
            Assert.Single(device.Accesses[i].Data);
            Assert.Equal((true, 0x40UL + (ulong)i), (device.Accesses[4 + i].IsWrite, device.Accesses[4 + i].Offset));
            Assert.Equal(new[] { (byte)(i + 1) }, device.Accesses[4 + i].Data);
        }

        Assert.Equal(0xb3b2b1b0UL, value);
    }

    [Fact]
    public void WriteObserverSeesRamWritesOnly()
    {
        _space.AddRam("ram", At(0x1000), 0x1000, _backing);
        _space.AddRom("rom", At(0x2000), 0x1000, _backing, Page);
        var seen = new List<(ulong Address, int Length)>();
        _space.ObserveRamWrites((address, length) => seen.Add((address, length)));

        _space.WriteUInt(At(0x1100), 4, 1);
        _space.WriteUInt(At(0x1ffe), 4, 2);
        _space.WriteUInt(At(0x2100), 4, 3);

        Assert.Equal([(0x1100UL, 4), (0x1ffeUL, 2)], seen);
    }
    [Fact]
    public void RemovedMmioRegionNoLongerDecodesAndItsRangeCanBeReused()
    {
        var device = new RecordingDevice("bar");
        MemoryRegion region = _space.AddMmio("bar", At(0x8000), 0x1000, device);

        _space.RemoveRegion(region);

        Assert.Equal(0xffffffffUL, _space.ReadUInt(At(0x8000), 4));
        Assert.Empty(device.Accesses);
        Assert.Throws<InvalidOperationException>(() => _space.RemoveRegion(region));
        _space.AddMmio("bar-again", At(0x8000), 0x1000, device);
        _space.ReadUInt(At(0x8004), 4);
        Assert.Single(device.Accesses);
    }

    [Fact]
    public void IsRamCoversWholeRangesAcrossAdjacentRegionsOnly()
    {
        _space.AddRam("a", At(0x1000), 0x1000, _backing);
        _space.AddRam("b", At(0x2000), 0x1000, _backing, Page);
        _space.AddMmio("m", At(0x3000), 0x1000, new RecordingDevice("m"));

        Assert.True(_space.IsRam(At(0x1800), 0x1000));
        Assert.False(_space.IsRam(At(0x2800), 0x1000));
        Assert.False(_space.IsRam(At(0x0800), 0x1000));
        Assert.False(_space.IsRam(At(0x1000), ulong.MaxValue));
        Assert.True(_space.IsRam(At(0x1000), 0));
    }
}
