using Emulator.Core.Memory;
using Emulator.Devices.Ide;
using Xunit;

namespace Emulator.Tests.Ide;

/// <summary>
/// Bus master IDE DMA as SFF-8038i and the 82371SB datasheet (2.7) describe it, played the way a
/// driver does (Linux's ata_bmdma: table address and direction, the ATA command, then start): a
/// physical region descriptor table scattering one READ DMA over two buffers, WRITE DMA back, the
/// status register's interrupt and active bits, and a direction mismatch failing with the error bit.
/// </summary>
public sealed class BusMasterDmaTests : IDisposable
{
    private const ushort Bm = 0xc000;
    private readonly HostMapping _ram = new(1 << 20);
    private readonly AddressSpace _memory = new(new Lock());
    private readonly IdeTestBench _bench;
    private readonly byte[] _image = new byte[64 * 512];
    private bool _busMaster = true;

    public BusMasterDmaTests()
    {
        _memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
        new Random(3).NextBytes(_image);
        _bench = new IdeTestBench(disk0: _image);
        var bm = new BusMasterIde(_memory, () => _busMaster);
        _bench.Channel.AttachBusMaster(bm, bm.For(0));
        _bench.Io.Register(Bm, BusMasterIde.Size, bm);
    }

    public void Dispose()
    {
        _bench.Dispose();
        _ram.Dispose();
    }

    private void Descriptor(int index, uint address, int bytes, bool last)
    {
        _memory.WriteUInt(new GuestPhysicalAddress(0x1000 + (8 * (ulong)index)), 4, address);
        _memory.WriteUInt(new GuestPhysicalAddress(0x1004 + (8 * (ulong)index)), 4, (uint)(bytes & 0xffff) | (last ? 0x8000_0000u : 0));
    }

    private byte[] Ram(ulong address, int length)
    {
        byte[] b = new byte[length];
        _memory.Read(new GuestPhysicalAddress(address), b);
        return b;
    }

    [Fact]
    public void ReadDmaScattersOverTheTableAndInterrupts()
    {
        Descriptor(0, 0x20000, 512, last: false);
        Descriptor(1, 0x30000, 1024, last: true);
        _bench.Io.Write(Bm + 4, 4, 0x1000);
        _bench.Io.Write(Bm, 1, BusMasterIde.CommandToMemory);
        _bench.Lba28(0xc8, 4, 3);
        Assert.False(_bench.Irq.Level, "nothing moves before the engine starts");
        Assert.Equal(new byte[512], Ram(0x20000, 512));

        _bench.Io.Write(Bm, 1, BusMasterIde.CommandToMemory | BusMasterIde.CommandStart);
        Assert.True(_bench.Irq.Level);
        Assert.Equal((uint)BusMasterIde.StatusInterrupt, _bench.Io.Read(Bm + 2, 1) & 0x07); // done, not active, no error
        Assert.Equal(_image.AsSpan(4 * 512, 512).ToArray(), Ram(0x20000, 512));
        Assert.Equal(_image.AsSpan(5 * 512, 1024).ToArray(), Ram(0x30000, 1024));
        Assert.Equal(0x50, _bench.In(IdeTestBench.Command));

        _bench.Io.Write(Bm + 2, 1, BusMasterIde.StatusInterrupt); // write one to clear
        Assert.Equal(0u, _bench.Io.Read(Bm + 2, 1) & 0x07);
    }

    [Fact]
    public void WriteDmaTakesDataFromMemory()
    {
        byte[] data = new byte[1024];
        new Random(8).NextBytes(data);
        _memory.Write(new GuestPhysicalAddress(0x40000), data);
        Descriptor(0, 0x40000, 1024, last: true);
        _bench.Io.Write(Bm + 4, 4, 0x1000);
        _bench.Lba28(0xca, 20, 2);
        _bench.Io.Write(Bm, 1, BusMasterIde.CommandStart); // direction: read from memory
        Assert.Equal(0x50, _bench.In(IdeTestBench.Command));
        Assert.Equal(data, File.ReadAllBytes(_bench.ImagePath(0)).AsSpan(20 * 512, 1024).ToArray());
    }

    [Fact]
    public void AWrongDirectionOrNoBusMasteringFailsWithTheErrorBit()
    {
        Descriptor(0, 0x20000, 512, last: true);
        _bench.Io.Write(Bm + 4, 4, 0x1000);
        _bench.Lba28(0xc8, 0, 1);
        _bench.Io.Write(Bm, 1, BusMasterIde.CommandStart); // memory -> drive, but READ DMA goes the other way
        Assert.Equal((uint)(BusMasterIde.StatusError | BusMasterIde.StatusInterrupt), _bench.Io.Read(Bm + 2, 1) & 0x07);
        Assert.Equal(0x01, _bench.In(IdeTestBench.Command) & 0x01);
        Assert.Equal(new byte[512], Ram(0x20000, 512));

        _busMaster = false;
        _bench.Io.Write(Bm, 1, 0);
        _bench.Io.Write(Bm + 2, 1, 0x06);
        _bench.Lba28(0xc8, 0, 1);
        _bench.Io.Write(Bm, 1, BusMasterIde.CommandToMemory | BusMasterIde.CommandStart);
        Assert.Equal((uint)BusMasterIde.StatusError, _bench.Io.Read(Bm + 2, 1) & BusMasterIde.StatusError);
        Assert.Equal(new byte[512], Ram(0x20000, 512));
    }

    [Fact]
    public void IdentifyOffersDmaModesAndSetFeaturesSelectsOne()
    {
        _bench.Out(IdeTestBench.Device, 0xa0);
        _bench.Out(IdeTestBench.Error, 0x03);
        _bench.Out(IdeTestBench.SectorCount, 0x45); // UDMA 5
        _bench.Out(IdeTestBench.Command, 0xef);
        Assert.Equal(0x50, _bench.In(IdeTestBench.Command));
        _bench.Out(IdeTestBench.Command, 0xec);
        byte[] id = _bench.ReadData(512);
        Assert.NotEqual(0, BitConverter.ToUInt16(id, 49 * 2) & (1 << 8));
        Assert.Equal(0x203f, BitConverter.ToUInt16(id, 88 * 2)); // modes 0-5 supported, 5 selected
    }
}
