using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace Emulator.Tests.Ide;

/// <summary>
/// An ATAPI CD-ROM driven with the packet protocol (ATA/ATAPI-6 9.9): the packet signature, IDENTIFY
/// DEVICE aborted, IDENTIFY PACKET DEVICE, and SCSI commands whose answers are laid out by SPC-3 and
/// MMC-5 (INQUIRY, READ CAPACITY, READ(10) split at the byte count limit, REQUEST SENSE after an error).
/// </summary>
public sealed class AtapiCdromTests
{
    private static byte[] Disc(int blocks)
    {
        byte[] b = new byte[blocks * 2048];
        new Random(99).NextBytes(b);
        return b;
    }

    // Sends a 12-byte packet to device 1 with byte count limit <paramref name="limit"/>; returns the data-in bytes.
    private static byte[] Packet(IdeTestBench bench, byte[] cdb, int limit = 0xfffe, int device = 1)
    {
        bench.Out(IdeTestBench.Device, (byte)(0xa0 | (device << 4)));
        bench.Out(IdeTestBench.Error, 0); // Features: PIO
        bench.Out(IdeTestBench.LbaMid, (byte)limit);
        bench.Out(IdeTestBench.LbaHigh, (byte)(limit >> 8));
        bench.Out(IdeTestBench.Command, 0xa0);
        Assert.Equal(0x01, bench.In(IdeTestBench.SectorCount) & 0x03); // CoD=1, IO=0: send the command
        Assert.Equal(0x08, bench.In(IdeTestBench.Control) & 0x88);
        byte[] packet = new byte[12];
        cdb.CopyTo(packet, 0);
        bench.WriteData(packet);

        var data = new List<byte>();
        while (true)
        {
            byte status = bench.In(IdeTestBench.Command);
            int reason = bench.In(IdeTestBench.SectorCount) & 0x03;
            if ((status & 0x08) == 0)
            {
                Assert.Equal(0x03, reason); // CoD=1, IO=1: status
                return [.. data];
            }

            Assert.Equal(0x02, reason); // IO=1: data to host
            int count = bench.In(IdeTestBench.LbaMid) | (bench.In(IdeTestBench.LbaHigh) << 8);
            Assert.InRange(count, 1, limit);
            data.AddRange(bench.ReadData(count));
        }
    }

    [Fact]
    public void PacketDeviceSignatureAndIdentify()
    {
        using var bench = new IdeTestBench(disk0: new byte[512 * 64], cdrom1: Disc(16));
        bench.Out(IdeTestBench.Device, 0xb0);
        Assert.Equal(0x14, bench.In(IdeTestBench.LbaMid));
        Assert.Equal(0xeb, bench.In(IdeTestBench.LbaHigh));

        bench.Out(IdeTestBench.Command, 0xec); // IDENTIFY DEVICE is aborted, the signature stays
        Assert.Equal(0x41, bench.In(IdeTestBench.Command));
        Assert.Equal(0x04, bench.In(IdeTestBench.Error));
        Assert.Equal(0x14, bench.In(IdeTestBench.LbaMid));

        bench.Out(IdeTestBench.Command, 0xa1);
        byte[] id = bench.ReadData(512);
        ushort general = BitConverter.ToUInt16(id, 0);
        Assert.Equal(0b10, general >> 14); // ATAPI device
        Assert.Equal(0x05, (general >> 8) & 0x1f); // CD-ROM
        Assert.NotEqual(0, general & 0x80); // removable
        Assert.Equal(0, general & 0x03); // 12-byte packets

        // Device 0, the disk, still answers as an ATA device.
        bench.Out(IdeTestBench.Device, 0xa0);
        Assert.Equal(0, bench.In(IdeTestBench.LbaMid));
    }

    [Fact]
    public void InquiryAndReadCapacity()
    {
        using var bench = new IdeTestBench(cdrom1: Disc(40));
        byte[] inquiry = Packet(bench, [0x12, 0, 0, 0, 36, 0]);
        Assert.Equal(36, inquiry.Length);
        Assert.Equal(0x05, inquiry[0] & 0x1f); // CD/DVD device
        Assert.Equal(0x80, inquiry[1]); // removable medium
        Assert.Equal("EMU", Encoding.ASCII.GetString(inquiry, 8, 8).TrimEnd());

        byte[] capacity = Packet(bench, [0x25]);
        Assert.Equal(39u, BinaryPrimitives.ReadUInt32BigEndian(capacity)); // last block
        Assert.Equal(2048u, BinaryPrimitives.ReadUInt32BigEndian(capacity.AsSpan(4)));
    }

    [Fact]
    public void Read10ReturnsTheImageSplitAtTheByteCountLimit()
    {
        byte[] disc = Disc(40);
        using var bench = new IdeTestBench(cdrom1: disc);
        int interrupts = bench.Irq.RisingEdges;
        byte[] data = Packet(bench, [0x28, 0, 0, 0, 0, 7, 0, 0, 3, 0], limit: 2048 + 512);
        Assert.Equal(disc.AsSpan(7 * 2048, 3 * 2048).ToArray(), data);
        Assert.Equal(interrupts + 4, bench.Irq.RisingEdges); // three data blocks (2560, 2560, 1024) and the status
    }

    [Fact]
    public void ErrorsLeaveSenseDataForRequestSense()
    {
        using var bench = new IdeTestBench(cdrom1: Disc(10));
        Packet(bench, [0x28, 0, 0, 0, 0, 9, 0, 0, 2, 0]); // blocks 9-10 of 10
        Assert.Equal(0x41, bench.In(IdeTestBench.Command) & 0xc9); // DRDY, ERR; not BSY, not DRQ
        Assert.Equal(0x50, bench.In(IdeTestBench.Error)); // sense key 5 (ILLEGAL REQUEST) in bits 7:4
        byte[] sense = Packet(bench, [0x03, 0, 0, 0, 18, 0]);
        Assert.Equal(0x70, sense[0]);
        Assert.Equal(0x05, sense[2] & 0x0f);
        Assert.Equal(0x21, sense[12]); // LOGICAL BLOCK ADDRESS OUT OF RANGE

        Packet(bench, [0xff]);
        byte[] unknown = Packet(bench, [0x03, 0, 0, 0, 18, 0]);
        Assert.Equal(0x20, unknown[12]); // INVALID COMMAND OPERATION CODE
        Assert.Equal(0, Packet(bench, [0x03, 0, 0, 0, 18, 0])[2]); // reading sense cleared it
    }
}
