using System.Text;
using Xunit;

namespace Emulator.Tests.Ide;

/// <summary>
/// An ATA disk on the channel, driven through its ports as ATA/ATAPI-6 describes: the signature
/// after a software reset (9.12), IDENTIFY DEVICE data (8.15: string convention, capacity words),
/// the PIO data-in and data-out protocols with their DRQ, BSY and INTRQ behaviour (9.7, 9.8),
/// 48-bit addressing through the high order byte registers (6.20), and the error cases.
/// </summary>
public sealed class AtaDiskTests
{
    private static byte[] Image(int sectors)
    {
        byte[] b = new byte[sectors * 512];
        new Random(1234).NextBytes(b);
        return b;
    }

    private static string AtaString(byte[] id, int word, int chars)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < chars / 2; i++)
        {
            sb.Append((char)id[(2 * (word + i)) + 1]).Append((char)id[2 * (word + i)]);
        }

        return sb.ToString().TrimEnd();
    }

    [Fact]
    public void SoftwareResetLeavesTheAtaSignatureAndDiagnosticCode()
    {
        using var bench = new IdeTestBench(disk0: Image(64));
        bench.Out(IdeTestBench.Control, 0x04); // SRST
        Assert.Equal(0x80, bench.In(IdeTestBench.Control) & 0x80); // BSY while reset is asserted
        bench.Out(IdeTestBench.Control, 0x00);
        Assert.Equal(0x50, bench.In(IdeTestBench.Command)); // DRDY | DSC
        Assert.Equal(1, bench.In(IdeTestBench.Error));
        Assert.Equal(1, bench.In(IdeTestBench.SectorCount));
        Assert.Equal(1, bench.In(IdeTestBench.LbaLow));
        Assert.Equal(0, bench.In(IdeTestBench.LbaMid));
        Assert.Equal(0, bench.In(IdeTestBench.LbaHigh));

        // No device 1: its status and error read 0 (the way hosts find the position empty).
        bench.Out(IdeTestBench.Device, 0xb0);
        Assert.Equal(0, bench.In(IdeTestBench.Command));
    }

    [Fact]
    public void IdentifyDeviceReportsModelCapacityAndFeatures()
    {
        using var bench = new IdeTestBench(disk0: Image(20000));
        bench.Out(IdeTestBench.Device, 0xa0);
        bench.Out(IdeTestBench.Command, 0xec);
        Assert.True(bench.Irq.Level, "INTRQ when the data block is ready");
        Assert.Equal(0x58, bench.In(IdeTestBench.Control)); // DRDY | DSC | DRQ (Alternate Status)
        Assert.True(bench.Irq.Level, "reading Alternate Status does not acknowledge");
        Assert.Equal(0x58, bench.In(IdeTestBench.Command));
        Assert.False(bench.Irq.Level, "reading Status acknowledges");

        byte[] id = bench.ReadData(512);
        Assert.Equal(0x50, bench.In(IdeTestBench.Command)); // DRQ clear after the block
        Assert.Equal("EMU HARDDISK", AtaString(id, 27, 40));
        Assert.Equal("EMU0000", AtaString(id, 10, 20));
        Assert.Equal(20000, BitConverter.ToInt32(id, 60 * 2)); // words 60-61: LBA28 sectors
        Assert.Equal(20000L, BitConverter.ToInt64(id, 100 * 2)); // words 100-103: LBA48 sectors
        Assert.NotEqual(0, BitConverter.ToUInt16(id, 49 * 2) & (1 << 9)); // LBA supported
        Assert.NotEqual(0, BitConverter.ToUInt16(id, 83 * 2) & (1 << 10)); // 48-bit address feature set
        Assert.Equal(0x4000, BitConverter.ToUInt16(id, 83 * 2) & 0xc000); // word 83 bits 15:14 = 01b
        Assert.Equal(16, BitConverter.ToUInt16(id, 3 * 2)); // heads
    }

    [Fact]
    public void ReadSectorsDeliversTheImageOneInterruptPerSector()
    {
        byte[] image = Image(64);
        using var bench = new IdeTestBench(disk0: image);
        bench.Lba28(0x20, 5, 3);
        for (int s = 0; s < 3; s++)
        {
            Assert.True(bench.Irq.Level);
            Assert.Equal(0x58, bench.In(IdeTestBench.Command));
            Assert.Equal(image.AsSpan((5 + s) * 512, 512).ToArray(), bench.ReadData(512));
        }

        Assert.Equal(0x50, bench.In(IdeTestBench.Command));
        Assert.Equal(3, bench.Irq.RisingEdges);
    }

    [Fact]
    public void WriteSectorsTakesDataAndCompletesWithAnInterrupt()
    {
        using var bench = new IdeTestBench(disk0: Image(64));
        byte[] data = new byte[1024];
        new Random(7).NextBytes(data);
        bench.Lba28(0x30, 10, 2);
        Assert.False(bench.Irq.Level, "no interrupt before the first data-out block");
        Assert.Equal(0x58, bench.In(IdeTestBench.Command));
        bench.WriteData(data.AsSpan(0, 512));
        Assert.True(bench.Irq.Level);
        Assert.Equal(0x58, bench.In(IdeTestBench.Command));
        bench.WriteData(data.AsSpan(512));
        Assert.True(bench.Irq.Level);
        Assert.Equal(0x50, bench.In(IdeTestBench.Command));

        byte[] file = File.ReadAllBytes(bench.ImagePath(0));
        Assert.Equal(data, file.AsSpan(10 * 512, 1024).ToArray());
    }

    [Fact]
    public void Lba48ReadUsesTheHighOrderBytesAndHobReadsThemBack()
    {
        byte[] image = Image(300);
        using var bench = new IdeTestBench(disk0: image);
        bench.Out(IdeTestBench.Device, 0x40);
        bench.Out(IdeTestBench.SectorCount, 0); // count high
        bench.Out(IdeTestBench.SectorCount, 2); // count low
        bench.Out(IdeTestBench.LbaLow, 0);
        bench.Out(IdeTestBench.LbaLow, 0x2a); // LBA 0x12a = 298
        bench.Out(IdeTestBench.LbaMid, 0);
        bench.Out(IdeTestBench.LbaMid, 0x01);
        bench.Out(IdeTestBench.LbaHigh, 0);
        bench.Out(IdeTestBench.LbaHigh, 0);
        bench.Out(IdeTestBench.Control, 0x80); // HOB
        Assert.Equal(0, bench.In(IdeTestBench.SectorCount));
        bench.Out(IdeTestBench.Control, 0x00);
        Assert.Equal(2, bench.In(IdeTestBench.SectorCount));
        bench.Out(IdeTestBench.Command, 0x24);
        Assert.Equal(image.AsSpan(298 * 512, 512).ToArray(), bench.ReadData(512));
        Assert.Equal(image.AsSpan(299 * 512, 512).ToArray(), bench.ReadData(512));
    }

    [Fact]
    public void OutOfRangeIsIdNotFoundAndReadOnlyWritesAreAborted()
    {
        using var bench = new IdeTestBench(disk0: Image(64), readOnly: true);
        bench.Lba28(0x20, 63, 2);
        Assert.Equal(0x41, bench.In(IdeTestBench.Command)); // DRDY | ERR
        Assert.Equal(0x10, bench.In(IdeTestBench.Error)); // IDNF
        bench.Lba28(0x30, 0, 1);
        Assert.Equal(0x41, bench.In(IdeTestBench.Command));
        Assert.Equal(0x04, bench.In(IdeTestBench.Error)); // ABRT
        bench.Lba28(0xa1, 0, 0); // IDENTIFY PACKET DEVICE: not a packet device
        Assert.Equal(0x04, bench.In(IdeTestBench.Error));
    }

    [Fact]
    public void ReadMultipleNeedsSetMultipleModeThenMovesBlocksOfThatSize()
    {
        byte[] image = Image(64);
        using var bench = new IdeTestBench(disk0: image);
        bench.Lba28(0xc4, 0, 4);
        Assert.Equal(0x04, bench.In(IdeTestBench.Error));
        bench.Lba28(0xc6, 0, 3); // not a power of two
        Assert.Equal(0x41, bench.In(IdeTestBench.Command));
        bench.Lba28(0xc6, 0, 4);
        Assert.Equal(0x50, bench.In(IdeTestBench.Command));
        bench.Lba28(0xc4, 8, 6);
        Assert.Equal(image.AsSpan(8 * 512, 4 * 512).ToArray(), bench.ReadData(4 * 512));
        Assert.Equal(0x58, bench.In(IdeTestBench.Command));
        Assert.Equal(image.AsSpan(12 * 512, 2 * 512).ToArray(), bench.ReadData(2 * 512));
        Assert.Equal(0x50, bench.In(IdeTestBench.Command));
    }

    [Fact]
    public void NienMasksTheInterruptLine()
    {
        using var bench = new IdeTestBench(disk0: Image(64));
        bench.Out(IdeTestBench.Control, 0x02);
        bench.Lba28(0x20, 0, 1);
        Assert.False(bench.Irq.Level);
        bench.Out(IdeTestBench.Control, 0x00);
        Assert.True(bench.Irq.Level, "the pending interrupt shows once nIEN clears");
    }
}
