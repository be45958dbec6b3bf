using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Io;
using Emulator.Core.Memory;
using Emulator.Devices.FwCfg;
using Xunit;

namespace Emulator.Tests.Firmware;

/// <summary>
/// The fw_cfg device driven through its ports as firmware drives it, checked against QEMU's
/// docs/specs/fw_cfg.rst: the "QEMU" signature, the feature bitmap, the big-endian file directory,
/// the "QEMU CFG" DMA signature, and FWCfgDmaAccess transfers (select, read, skip, write, error bit).
/// </summary>
public sealed class FwCfgDeviceTests : IDisposable
{
    private const ulong Descriptor = 0x1000, Buffer = 0x2000;
    private readonly HostMapping _ram = new(1 << 20);
    private readonly AddressSpace _memory;
    private readonly IoPortBus _io = new(new Lock());
    private readonly FwCfgDevice _fwCfg;

    public FwCfgDeviceTests()
    {
        _memory = new AddressSpace(new Lock());
        _memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
        _fwCfg = new FwCfgDevice(_memory);
        _io.Register(FwCfgDevice.SelectorPort, 2, _fwCfg);
        _io.Register(FwCfgDevice.DmaPort, 8, _fwCfg, FwCfgDevice.DmaPort - FwCfgDevice.SelectorPort);
    }

    public void Dispose() => _ram.Dispose();

    private byte[] ReadItem(ushort key, int length)
    {
        _io.Write(0x510, 2, key);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = (byte)_io.Read(0x511, 1);
        }

        return b;
    }

    // Writes FWCfgDmaAccess (big-endian) at Descriptor and starts it by writing its address to 0x518.
    private uint Dma(uint control, uint length, ulong address)
    {
        byte[] access = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(access, control);
        BinaryPrimitives.WriteUInt32BigEndian(access.AsSpan(4), length);
        BinaryPrimitives.WriteUInt64BigEndian(access.AsSpan(8), address);
        _memory.Write(new GuestPhysicalAddress(Descriptor), access);
        _io.Write(0x514, 4, 0); // high half, as a 64-bit guest would
        _io.Write(0x518, 4, BinaryPrimitives.ReverseEndianness((uint)Descriptor));
        byte[] result = new byte[4];
        _memory.Read(new GuestPhysicalAddress(Descriptor), result);
        return BinaryPrimitives.ReadUInt32BigEndian(result);
    }

    private byte[] Memory(ulong address, int length)
    {
        byte[] b = new byte[length];
        _memory.Read(new GuestPhysicalAddress(address), b);
        return b;
    }

    [Fact]
    public void SignatureIdAndDmaSignatureAreTheDocumentedValues()
    {
        Assert.Equal("QEMU", Encoding.ASCII.GetString(ReadItem(0x0000, 4)));

        // Bit 0 traditional interface, bit 1 DMA.
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(ReadItem(0x0001, 4)));

        // "reading the DMA Address Register returns 0x51454d5520434647 (QEMU CFG in big-endian format)"
        ulong high = BinaryPrimitives.ReverseEndianness((uint)_io.Read(0x514, 4));
        ulong low = BinaryPrimitives.ReverseEndianness((uint)_io.Read(0x518, 4));
        Assert.Equal(0x51454d5520434647UL, (high << 32) | low);
    }

    [Fact]
    public void ReadsPastTheEndOfAnItemReturnZero()
    {
        byte[] b = ReadItem(0x0000, 8);
        Assert.Equal("QEMU\0\0\0\0", Encoding.ASCII.GetString(b));
        Assert.Equal(new byte[4], ReadItem(0x7777, 4)); // a key that names nothing
    }

    [Fact]
    public void FileDirectoryListsFilesBigEndianSortedByName()
    {
        ushort b = _fwCfg.AddFile("opt/b", [1, 2, 3]);
        ushort a = _fwCfg.AddFile("opt/a", new byte[300]);

        byte[] header = ReadItem(0x0019, 4 + (2 * 64));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(header));
        Assert.Equal(300u, BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)));
        Assert.Equal(a, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(8)));
        Assert.Equal("opt/a", Encoding.ASCII.GetString(header, 12, 56).TrimEnd('\0'));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(68)));
        Assert.Equal(b, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(72)));
        Assert.True(a >= 0x20 && b >= 0x20, "file keys start at FW_CFG_FILE_FIRST");
        Assert.Equal([1, 2, 3], ReadItem(b, 3));
    }

    [Fact]
    public void DmaSelectReadSkipAndZeroFillPastTheEnd()
    {
        ushort key = _fwCfg.AddFile("opt/data", [10, 11, 12, 13, 14, 15]);

        // Select + read 2 bytes, then skip 1, then read 5 (3 left in the item, 2 zero-filled).
        Assert.Equal(0u, Dma(((uint)key << 16) | FwCfgDevice.DmaSelect | FwCfgDevice.DmaRead, 2, Buffer));
        Assert.Equal([10, 11], Memory(Buffer, 2));
        Assert.Equal(0u, Dma(FwCfgDevice.DmaSkip, 1, 0));
        _memory.Write(new GuestPhysicalAddress(Buffer), new byte[] { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee });
        Assert.Equal(0u, Dma(FwCfgDevice.DmaRead, 5, Buffer));
        Assert.Equal([13, 14, 15, 0, 0, 0xee], Memory(Buffer, 6));
    }

    [Fact]
    public void DmaWritesReachWritableFilesOnlyAndNeverPastTheEnd()
    {
        ushort ro = _fwCfg.AddFile("opt/ro", [1, 2, 3, 4]);
        ushort rw = _fwCfg.AddFile("opt/rw", [1, 2, 3, 4], writable: true);
        _memory.Write(new GuestPhysicalAddress(Buffer), new byte[] { 9, 8, 7, 6, 5 });

        Assert.Equal(FwCfgDevice.DmaError, Dma(((uint)ro << 16) | FwCfgDevice.DmaSelect | FwCfgDevice.DmaWrite, 2, Buffer));
        Assert.Equal([1, 2, 3, 4], _fwCfg.File("opt/ro"));

        // Truncated writes are dropped entirely.
        Assert.Equal(FwCfgDevice.DmaError, Dma(((uint)rw << 16) | FwCfgDevice.DmaSelect | FwCfgDevice.DmaWrite, 5, Buffer));
        Assert.Equal([1, 2, 3, 4], _fwCfg.File("opt/rw"));

        Assert.Equal(0u, Dma(((uint)rw << 16) | FwCfgDevice.DmaSelect | FwCfgDevice.DmaSkip, 1, 0));
        Assert.Equal(0u, Dma(FwCfgDevice.DmaWrite, 3, Buffer));
        Assert.Equal([1, 9, 8, 7], _fwCfg.File("opt/rw"));
    }

    [Fact]
    public void DmaToAddressesOutsideRamDoesNotHurtTheHost()
    {
        ushort key = _fwCfg.AddFile("opt/x", new byte[64]);
        Assert.Equal(0u, Dma(((uint)key << 16) | FwCfgDevice.DmaSelect | FwCfgDevice.DmaRead, 64, 0xffff_fff0));
        Assert.Equal(0u, Dma(FwCfgDevice.DmaRead, 1 << 20, (1 << 20) - 16)); // runs off the end of RAM
    }
}
