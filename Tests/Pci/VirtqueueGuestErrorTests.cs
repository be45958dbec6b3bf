using Emulator.Backends.Block;
using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>
/// A hostile or buggy driver: malformed chains and rings never crash the host; the device stops
/// with DEVICE_NEEDS_RESET (Virtio 1.1 §2.1.2), tells the driver with a configuration interrupt,
/// and works again after the driver resets it.
/// </summary>
public sealed class VirtqueueGuestErrorTests : IDisposable
{
    private const ushort Next = 1, Write = 2, Indirect = 4;
    private const ulong Table = VirtioDriver.DescriptorTable;
    private readonly PciTestBench _pc = new();
    private readonly VirtioDriver _driver;

    public VirtqueueGuestErrorTests()
    {
        _driver = new VirtioDriver(_pc, 2, new VirtioPci("virtio-rng", new VirtioRng(), _pc.Memory));
        _driver.Start((1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioPci.FeatureIndirectDesc));
    }

    public void Dispose() => _pc.Dispose();

    private void AssertNeedsResetThenRecovers()
    {
        Assert.NotEqual(0, _driver.Status & VirtioPci.StatusNeedsReset);
        Assert.NotNull(_driver.Device.LastError);
        Assert.Equal(VirtioPci.IsrConfig, _driver.ReadIsr() & VirtioPci.IsrConfig);

        // Further notifications are ignored until the driver resets the device.
        _driver.Write(VirtioPci.NotifyOffset, 2, 0);

        _driver.Start((1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioPci.FeatureIndirectDesc));
        Assert.Equal(0, _driver.Status & VirtioPci.StatusNeedsReset);
        Assert.Equal((0u, 64u), _driver.Submit((0x20000, 64, true)));
    }

    [Fact]
    public void DescriptorLoop()
    {
        _driver.WriteDescriptor(Table, 0, 0x20000, 16, Write | Next, 1);
        _driver.WriteDescriptor(Table, 1, 0x20010, 16, Write | Next, 0);

        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void SelfLoopInAnIndirectTable()
    {
        _driver.WriteDescriptor(0x30000, 0, 0x20000, 16, Write | Next, 0);
        _driver.WriteDescriptor(Table, 0, 0x30000, 16, Indirect, 0);

        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Theory]
    [InlineData(0x20000UL, 0xffff_ffffu)]              // a huge length running past RAM
    [InlineData(0xffff_ffff_ffff_f000UL, 0x2000u)]     // wrapping the address space
    [InlineData(0x8000_0000UL, 16u)]                   // outside RAM
    [InlineData(0x1f_ffffUL, 2u)]                      // last byte of RAM plus one
    public void BufferOutsideRam(ulong address, uint length)
    {
        Assert.Null(_driver.Submit((address, length, true)));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void NextIndexOutsideTheTable()
    {
        _driver.WriteDescriptor(Table, 0, 0x20000, 16, Write | Next, 200);
        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void HeadIndexOutsideTheTable()
    {
        Assert.Null(_driver.Offer(0xffff));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void AvailableIndexRunningAheadOfTheQueue()
    {
        _driver.SetAvailableIndex(1000);
        _driver.Write(VirtioPci.NotifyOffset, 2, 0);
        Assert.Null(_driver.TakeUsed());
        AssertNeedsResetThenRecovers();
    }

    [Theory]
    [InlineData(Indirect | Next, 32u, 0x30000UL)]       // INDIRECT with NEXT
    [InlineData(Indirect, 24u, 0x30000UL)]              // not a whole number of descriptors
    [InlineData(Indirect, 0u, 0x30000UL)]               // empty table
    [InlineData(Indirect, 0x10_0000u, 0x30000UL)]       // more than the indirect cap
    [InlineData(Indirect, 32u, 0x9000_0000UL)]          // table outside RAM
    public void BadIndirectDescriptors(ushort flags, uint length, ulong table)
    {
        _driver.WriteDescriptor(0x30000, 0, 0x20000, 16, Write, 0);
        _driver.WriteDescriptor(Table, 0, table, length, flags, 1);
        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void NestedIndirectTable()
    {
        _driver.WriteDescriptor(0x30000, 0, 0x30100, 16, Indirect, 0);
        _driver.WriteDescriptor(0x30100, 0, 0x20000, 16, Write, 0);
        _driver.WriteDescriptor(Table, 0, 0x30000, 16, Indirect, 0);
        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void ReadableAfterWritable()
    {
        _driver.WriteDescriptor(Table, 0, 0x20000, 16, Write | Next, 1);
        _driver.WriteDescriptor(Table, 1, 0x20010, 16, 0, 0);
        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void IndirectWithoutTheFeature()
    {
        _driver.Start();
        _driver.WriteDescriptor(0x30000, 0, 0x20000, 16, Write, 0);
        _driver.WriteDescriptor(Table, 0, 0x30000, 16, Indirect, 0);
        Assert.Null(_driver.Offer(0));
        AssertNeedsResetThenRecovers();
    }

    [Fact]
    public void BlockRequestWithoutStatusByte()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[4096]);
            using var pc = new PciTestBench();
            var image = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 0);
            var driver = new VirtioDriver(pc, 3, new VirtioPci("virtio-blk", new VirtioBlk(new RawFileBackend(image, false)), pc.Memory));
            driver.Start();
            pc.Memory.Write(new(0x20000), new byte[16]);

            Assert.Null(driver.Submit((0x20000, 16, false)));
            Assert.NotEqual(0, driver.Status & VirtioPci.StatusNeedsReset);

            // A huge data length inside RAM limits is bounded by the capacity check, not allocated.
            driver.Start();
            Assert.Equal((0u, 1u), driver.Submit((0x20000, 16, false), (0x0, (uint)PciTestBench.RamSize, true), (0x30000, 1, true)));
            Assert.Equal(VirtioBlk.StatusIoErr, (byte)pc.Memory.ReadUInt(new(0x30000), 1));
            driver.Device.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
