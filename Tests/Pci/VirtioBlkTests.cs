using System.Buffers.Binary;
using System.Text;
using Emulator.Backends.Block;
using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>virtio-blk requests (Virtio 1.1 §5.2.6) driven through a real virtqueue; the host image file is the oracle.</summary>
public sealed class VirtioBlkTests : IDisposable
{
    private const int Sectors = 128;
    private const ulong Header = 0x20000, Data = 0x21000, StatusByte = 0x23000;

    private readonly PciTestBench _pc = new();
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"emu-blk-{Guid.NewGuid():n}.img");
    private readonly byte[] _original = new byte[Sectors * 512];
    private VirtioDriver? _driver;

    public VirtioBlkTests()
    {
        for (int i = 0; i < _original.Length; i++)
        {
            _original[i] = (byte)((i * 7) + (i >> 9));
        }

        File.WriteAllBytes(_path, _original);
    }

    public void Dispose()
    {
        _driver?.Device.Dispose();
        _pc.Dispose();
        File.Delete(_path);
    }

    private VirtioDriver Open(bool readOnly = false, ulong features = 1UL << VirtioPci.FeatureVersion1)
    {
        var image = new FileStream(_path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read, 0, FileOptions.RandomAccess);
        _driver = new VirtioDriver(_pc, 3, new VirtioPci("virtio-blk", new VirtioBlk(new RawFileBackend(image, readOnly)), _pc.Memory));
        _driver.Start(features);
        return _driver;
    }

    private void WriteHeader(uint type, ulong sector)
    {
        byte[] h = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), sector);
        _pc.Memory.Write(new(Header), h);
        _pc.Memory.WriteUInt(new(StatusByte), 1, 0xee);
    }

    private byte Status => (byte)_pc.Memory.ReadUInt(new(StatusByte), 1);

    private (uint Id, uint Length)? Read(ulong sector, uint length)
    {
        WriteHeader(VirtioBlk.TypeIn, sector);
        return _driver!.Submit((Header, 16, false), (Data, length, true), (StatusByte, 1, true));
    }

    private (uint Id, uint Length)? Write(ulong sector, byte[] data)
    {
        WriteHeader(VirtioBlk.TypeOut, sector);
        _pc.Memory.Write(new(Data), data);
        return _driver!.Submit((Header, 16, false), (Data, (uint)data.Length, false), (StatusByte, 1, true));
    }

    [Fact]
    public void ConfigReportsCapacityFromTheFile()
    {
        Open();
        Assert.Equal((ulong)Sectors, _driver!.Read(VirtioPci.DeviceConfigOffset, 8));
        Assert.Equal(512UL, _driver.Read(VirtioPci.DeviceConfigOffset + 0x14, 4));
        Assert.Equal(0x1042_1af4u, _pc.ConfigRead(3, 0, 0, 4));
        Assert.Equal(0UL, _driver.DeviceFeatures() & (1UL << VirtioBlk.FeatureRo));
    }

    [Fact]
    public void ReadReturnsTheImageBytes()
    {
        Open();
        var used = Read(2, 1024);

        Assert.Equal((0u, 1025u), used);
        Assert.Equal(VirtioBlk.StatusOk, Status);
        byte[] got = new byte[1024];
        _pc.Memory.Read(new(Data), got);
        Assert.Equal(_original.AsSpan(1024, 1024).ToArray(), got);
    }

    [Fact]
    public void WriteLandsInTheFileAndFlushSucceeds()
    {
        Open();
        byte[] data = Encoding.ASCII.GetBytes(new string('Z', 1536));
        Assert.Equal((0u, 1u), Write(5, data));
        Assert.Equal(VirtioBlk.StatusOk, Status);

        WriteHeader(VirtioBlk.TypeFlush, 0);
        Assert.NotNull(_driver!.Submit((Header, 16, false), (StatusByte, 1, true)));
        Assert.Equal(VirtioBlk.StatusOk, Status);

        byte[] file = File.ReadAllBytes(_path);
        Assert.Equal(data, file.AsSpan(5 * 512, 1536).ToArray());
        Assert.Equal(_original.AsSpan(0, 5 * 512).ToArray(), file.AsSpan(0, 5 * 512).ToArray());
        Assert.Equal(_original.AsSpan(8 * 512).ToArray(), file.AsSpan(8 * 512).ToArray());
    }

    [Fact]
    public void HeaderDataAndStatusMaySplitAcrossDescriptorsAnyhow()
    {
        Open();
        // Header and data in one readable buffer, data and status in one writable one for a read.
        WriteHeader(VirtioBlk.TypeOut, 1);
        _pc.Memory.Write(new(Header + 16), Enumerable.Repeat((byte)0x42, 512).ToArray());
        Assert.NotNull(_driver!.Submit((Header, 16 + 512, false), (StatusByte, 1, true)));
        Assert.Equal(VirtioBlk.StatusOk, Status);

        WriteHeader(VirtioBlk.TypeIn, 1);
        Assert.Equal((0u, 513u), _driver.Submit((Header, 16, false), (Data, 513, true)));
        Assert.Equal(0x42UL, _pc.Memory.ReadUInt(new(Data + 511), 1));
        Assert.Equal(VirtioBlk.StatusOk, (byte)_pc.Memory.ReadUInt(new(Data + 512), 1));
        Assert.Equal(0x42, File.ReadAllBytes(_path)[512]);
    }

    [Fact]
    public void ReadOnlyDiskRefusesWritesWithIoErrAndKeepsTheFile()
    {
        Open(readOnly: true);
        Assert.NotEqual(0UL, _driver!.DeviceFeatures() & (1UL << VirtioBlk.FeatureRo));

        Assert.Equal((0u, 1u), Write(0, new byte[512]));

        Assert.Equal(VirtioBlk.StatusIoErr, Status);
        Assert.Equal(_original, File.ReadAllBytes(_path));
        Assert.Equal(0, _driver.Status & VirtioPci.StatusNeedsReset); // a refused request is not a protocol error
    }

    [Theory]
    [InlineData(Sectors, 512u)]          // first sector past the end
    [InlineData(Sectors - 1, 1024u)]     // starts inside, ends outside
    [InlineData(0x7fff_ffff_ffff_ffffUL, 512u)] // sector * 512 overflows
    [InlineData(0, 100u)]                // not whole sectors
    public void OutOfRangeOrPartialSectorRequestsFailWithIoErr(ulong sector, uint length)
    {
        Open();
        Assert.Equal((0u, 1u), Read(sector, length));
        Assert.Equal(VirtioBlk.StatusIoErr, Status);

        Assert.Equal((0u, 1u), Write(sector, new byte[length]));
        Assert.Equal(VirtioBlk.StatusIoErr, Status);
        Assert.Equal(_original, File.ReadAllBytes(_path));
    }

    [Fact]
    public void GetIdAndUnknownTypes()
    {
        Open();
        WriteHeader(VirtioBlk.TypeGetId, 0);
        Assert.Equal((0u, 21u), _driver!.Submit((Header, 16, false), (Data, 20, true), (StatusByte, 1, true)));
        byte[] id = new byte[20];
        _pc.Memory.Read(new(Data), id);
        Assert.StartsWith("emu-blk-", Encoding.ASCII.GetString(id), StringComparison.Ordinal);

        WriteHeader(99, 0);
        Assert.NotNull(_driver.Submit((Header, 16, false), (StatusByte, 1, true)));
        Assert.Equal(VirtioBlk.StatusUnsupported, Status);
    }

    [Fact]
    public void IndirectDescriptorsWork()
    {
        Open(features: (1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioPci.FeatureIndirectDesc));
        const ulong Table = 0x30000;
        WriteHeader(VirtioBlk.TypeIn, 3);
        _driver!.WriteDescriptor(Table, 0, Header, 16, 1, 1);
        _driver.WriteDescriptor(Table, 1, Data, 512, 3, 2);
        _driver.WriteDescriptor(Table, 2, StatusByte, 1, 2, 0);
        _driver.WriteDescriptor(VirtioDriver.DescriptorTable, 5, Table, 48, 4, 0);

        Assert.Equal((5u, 513u), _driver.Offer(5));
        Assert.Equal(VirtioBlk.StatusOk, Status);
        byte[] got = new byte[512];
        _pc.Memory.Read(new(Data), got);
        Assert.Equal(_original.AsSpan(3 * 512, 512).ToArray(), got);
    }

    [Fact]
    public void EventIndexSuppressesAndRequestsInterrupts()
    {
        Open(features: (1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioPci.FeatureEventIdx));
        ulong usedEvent = VirtioDriver.AvailableRing + 4 + (2 * VirtioDriver.QueueSize);
        _pc.Memory.WriteUInt(new(usedEvent), 2, 5); // interrupt only when used idx passes 5

        Read(0, 512);
        Assert.Equal(0, _driver!.ReadIsr());
        // The device tells the driver where it wants the next notification (avail_event).
        ulong availEvent = VirtioDriver.UsedRing + 4 + (8 * VirtioDriver.QueueSize);
        Assert.Equal(1UL, _pc.Memory.ReadUInt(new(availEvent), 2));

        _pc.Memory.WriteUInt(new(usedEvent), 2, 1);
        Read(0, 512);
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr());
    }

    [Fact]
    public void DisposeFlushesAndClosesTheImage()
    {
        Open();
        Write(7, Enumerable.Repeat((byte)0x99, 512).ToArray());
        _driver!.Device.Dispose();
        _driver = null;

        // Closed: an exclusive open succeeds.
        new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
        Assert.Equal(0x99, File.ReadAllBytes(_path)[7 * 512]);
    }
}
