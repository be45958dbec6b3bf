using Emulator.Core.Block;

namespace Emulator.Devices.Ide;

/// <summary>
/// An ATA hard disk of 512-byte sectors over an <see cref="IBlockBackend"/>, with the PIO command
/// set firmware and Linux's libata use (ATA/ATAPI-6 chapter 8): IDENTIFY DEVICE, READ/WRITE SECTORS
/// and MULTIPLE in 28- and 48-bit forms, READ VERIFY, FLUSH CACHE, SET FEATURES, SET MULTIPLE MODE,
/// INITIALIZE DEVICE PARAMETERS, the power commands, EXECUTE DEVICE DIAGNOSTIC, and READ/WRITE DMA
/// (28/48-bit) when the channel has a bus master engine; LBA and CHS
/// addressing (a translated geometry of 16 heads and 63 sectors per track). Requests outside the disk
/// fail with IDNF and touch nothing; writes to a read-only disk are aborted; a host I/O error is UNC.
/// </summary>
public sealed class AtaDisk : IIdeDevice
{
    /// <summary>Bytes per sector.</summary>
    public const int SectorSize = 512;

    /// <summary>The largest DRQ block of READ/WRITE MULTIPLE (IDENTIFY word 47).</summary>
    public const int MaxMultiple = 16;

    /// <summary>Logical geometry reported in IDENTIFY words 1, 3, 6.</summary>
    public const int Heads = 16, SectorsPerTrack = 63;

    private readonly IBlockBackend _disk;
    private readonly string _serial;
    private int _multiple;
    private byte _transferMode;

    /// <summary>Creates a disk over <paramref name="disk"/> (owned from here on) with the serial number <paramref name="serial"/>.</summary>
    public AtaDisk(IBlockBackend disk, string serial)
    {
        _disk = disk;
        _serial = serial;
        Sectors = (ulong)disk.Length / SectorSize;
    }

    /// <summary>Capacity in sectors.</summary>
    public ulong Sectors { get; }

    /// <inheritdoc/>
    public bool IsAtapi => false;

    private int Cylinders => (int)Math.Min(Sectors / (Heads * SectorsPerTrack), 16383);

    /// <inheritdoc/>
    public void Execute(IdeChannel channel, byte command)
    {
        switch (command)
        {
            case Ata.IdentifyDevice:
                Identify(channel);
                break;
            case Ata.ReadSectors or Ata.ReadSectorsNoRetry:
                Read(channel, Address28(channel), channel.Count28, 1);
                break;
            case Ata.ReadSectorsExt:
                Read(channel, channel.Lba48, channel.Count48, 1);
                break;
            case Ata.ReadMultiple:
                ReadMultiple(channel, Address28(channel), channel.Count28);
                break;
            case Ata.ReadMultipleExt:
                ReadMultiple(channel, channel.Lba48, channel.Count48);
                break;
            case Ata.WriteSectors or Ata.WriteSectorsNoRetry:
                Write(channel, Address28(channel), channel.Count28, 1);
                break;
            case Ata.WriteSectorsExt:
                Write(channel, channel.Lba48, channel.Count48, 1);
                break;
            case Ata.WriteMultiple:
                WriteMultiple(channel, Address28(channel), channel.Count28);
                break;
            case Ata.WriteMultipleExt:
                WriteMultiple(channel, channel.Lba48, channel.Count48);
                break;
            case Ata.ReadDma or Ata.ReadDmaNoRetry:
                Dma(channel, Address28(channel), channel.Count28, toMemory: true);
                break;
            case Ata.ReadDmaExt:
                Dma(channel, channel.Lba48, channel.Count48, toMemory: true);
                break;
            case Ata.WriteDma or Ata.WriteDmaNoRetry:
                Dma(channel, Address28(channel), channel.Count28, toMemory: false);
                break;
            case Ata.WriteDmaExt:
                Dma(channel, channel.Lba48, channel.Count48, toMemory: false);
                break;
            case Ata.SetFeatures:
                SetFeatures(channel, ref _transferMode);
                break;
            case Ata.ReadVerifySectors or Ata.ReadVerifySectorsNoRetry:
                Verify(channel, Address28(channel), channel.Count28);
                break;
            case Ata.ReadVerifySectorsExt:
                Verify(channel, channel.Lba48, channel.Count48);
                break;
            case Ata.FlushCache or Ata.FlushCacheExt:
                Flush(channel);
                break;
            case Ata.SetMultipleMode:
                SetMultipleMode(channel);
                break;
            case Ata.CheckPowerMode:
                channel.SectorCount = Ata.PowerModeActive;
                channel.Complete();
                break;
            case Ata.ExecuteDeviceDiagnostic:
                channel.WriteSignature(atapi: false);
                channel.Error = 1;
                channel.Complete();
                break;
            case Ata.InitializeDeviceParameters or Ata.Seek or Ata.Idle or Ata.IdleImmediate
                or Ata.Standby or Ata.StandbyImmediate or Ata.Sleep:
                // Transfer modes, caching and power states change nothing observable in emu: accepted.
                channel.Complete();
                break;
            default:
                // Including IDENTIFY PACKET DEVICE and PACKET: an ATA disk aborts them (8.16, 8.21).
                channel.Abort();
                break;
        }
    }

    /// <inheritdoc/>
    public void Reset() => (_multiple, _transferMode) = (0, 0);

    /// <summary>
    /// SET FEATURES (8.37): subcommand 03h sets the transfer mode from Sector Count (00h/01h PIO
    /// default, 08h+n PIO n, 20h+n multiword DMA n, 40h+n Ultra DMA n; DMA only with a bus master);
    /// the write cache and other subcommands are accepted without effect.
    /// </summary>
    internal static void SetFeatures(IdeChannel channel, ref byte transferMode)
    {
        const byte SetTransferMode = 0x03;
        if (channel.Features == SetTransferMode)
        {
            byte mode = channel.SectorCount;
            bool valid = mode is <= 0x01 or (>= 0x08 and <= 0x0c) || (channel.DmaAvailable && mode is (>= 0x20 and <= 0x22) or (>= 0x40 and <= 0x45));
            if (!valid)
            {
                channel.Abort();
                return;
            }

            transferMode = mode;
        }

        channel.Complete();
    }

    /// <summary>IDENTIFY words 49 (DMA bit), 53, 63 and 88: the DMA modes offered and the one selected.</summary>
    internal static void IdentifyDma(IdentifyData id, IdeChannel channel, byte transferMode)
    {
        if (!channel.DmaAvailable)
        {
            return;
        }

        id[49] |= 1 << 8;
        id[53] |= 1 << 2;
        id[63] = (ushort)(0x0007 | ((transferMode & 0xf8) == 0x20 ? 0x100 << (transferMode & 7) : 0));
        id[88] = (ushort)(0x003f | ((transferMode & 0xf8) == 0x40 ? 0x100 << (transferMode & 7) : 0));
    }

    /// <inheritdoc/>
    public void Dispose() => _disk.Dispose();

    // LBA when Device bit 6 says so, else CHS: ((cylinder * heads) + head) * sectors per track + sector - 1.
    // An impossible CHS address (sector 0, head or sector beyond the geometry) maps past the disk.
    private static ulong Address28(IdeChannel channel)
    {
        if ((channel.Device & Ata.DeviceLba) != 0)
        {
            return channel.Lba28;
        }

        int sector = channel.LbaLow, head = channel.Device & 0x0f;
        int cylinder = (channel.LbaHigh << 8) | channel.LbaMid;
        return sector is 0 or > SectorsPerTrack
            ? ulong.MaxValue
            : ((((ulong)cylinder * Heads) + (ulong)head) * SectorsPerTrack) + (ulong)sector - 1;
    }

    private bool InRange(ulong lba, int count) => lba < Sectors && (ulong)count <= Sectors - lba;

    private void Read(IdeChannel channel, ulong lba, int count, int perBlock)
    {
        if (!InRange(lba, count))
        {
            channel.Abort(Ata.ErrorIdnf);
            return;
        }

        NextBlock();

        void NextBlock()
        {
            int n = Math.Min(perBlock, count);
            Span<byte> block = channel.Buffer(n * SectorSize);
            try
            {
                _disk.Read(block, (long)lba * SectorSize);
            }
            catch (IOException)
            {
                channel.Abort(Ata.ErrorUnc);
                return;
            }

            lba += (ulong)n;
            count -= n;
            channel.StartDataIn(n * SectorSize, count > 0 ? NextBlock : null);
        }
    }

    private void Write(IdeChannel channel, ulong lba, int count, int perBlock)
    {
        if (_disk.ReadOnly)
        {
            channel.Abort();
            return;
        }

        if (!InRange(lba, count))
        {
            channel.Abort(Ata.ErrorIdnf);
            return;
        }

        Expect(interrupt: false);

        void Expect(bool interrupt)
        {
            int n = Math.Min(perBlock, count);
            channel.StartDataOut(n * SectorSize, interrupt, data =>
            {
                try
                {
                    _disk.Write(data, (long)lba * SectorSize);
                }
                catch (IOException)
                {
                    channel.Abort(Ata.ErrorUnc);
                    return;
                }

                lba += (ulong)n;
                count -= n;
                if (count > 0)
                {
                    Expect(interrupt: true);
                }
                else
                {
                    channel.Complete();
                }
            });
        }
    }

    // READ/WRITE MULTIPLE move the SET MULTIPLE MODE block size per DRQ, and are aborted before it is set (8.25).
    private void ReadMultiple(IdeChannel channel, ulong lba, int count)
    {
        if (_multiple == 0)
        {
            channel.Abort();
            return;
        }

        Read(channel, lba, count, _multiple);
    }

    private void WriteMultiple(IdeChannel channel, ulong lba, int count)
    {
        if (_multiple == 0)
        {
            channel.Abort();
            return;
        }

        Write(channel, lba, count, _multiple);
    }

    // READ/WRITE DMA (8.23, 8.45): the range is checked first; the data moves when the bus master starts.
    private void Dma(IdeChannel channel, ulong lba, int count, bool toMemory)
    {
        if (!channel.DmaAvailable || (!toMemory && _disk.ReadOnly))
        {
            channel.Abort();
            return;
        }

        if (!InRange(lba, count))
        {
            channel.Abort(Ata.ErrorIdnf);
            return;
        }

        long start = (long)lba * SectorSize;
        channel.StartDma(toMemory, (long)count * SectorSize, (data, offset) =>
        {
            try
            {
                if (toMemory)
                {
                    _disk.Read(data, start + offset);
                }
                else
                {
                    _disk.Write(data, start + offset);
                }

                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }, channel.Complete);
    }

    private void Verify(IdeChannel channel, ulong lba, int count)
    {
        if (InRange(lba, count))
        {
            channel.Complete();
        }
        else
        {
            channel.Abort(Ata.ErrorIdnf);
        }
    }

    private void Flush(IdeChannel channel)
    {
        try
        {
            _disk.Flush();
            channel.Complete();
        }
        catch (IOException)
        {
            channel.Abort(Ata.ErrorUnc);
        }
    }

    // SET MULTIPLE MODE (8.39): a power of two up to the maximum of word 47, or 0 to disable.
    private void SetMultipleMode(IdeChannel channel)
    {
        int n = channel.SectorCount;
        if (n > MaxMultiple || (n != 0 && !int.IsPow2(n)))
        {
            channel.Abort();
            return;
        }

        _multiple = n;
        channel.Complete();
    }

    private void Identify(IdeChannel channel)
    {
        var id = new IdentifyData();
        ulong lba28 = Math.Min(Sectors, 0x0fff_ffff);
        id[0] = 0x0040; // fixed device, not removable
        id[1] = (ushort)Cylinders;
        id[3] = Heads;
        id[6] = SectorsPerTrack;
        id.SetString(10, 20, _serial);
        id.SetString(23, 8, "1.0");
        id.SetString(27, 40, "EMU HARDDISK");
        id[47] = 0x8000 | MaxMultiple;
        id[49] = (1 << 9) | (1 << 11); // LBA, IORDY
        id[50] = 0x4000;
        id[53] = 0x0003; // words 54-58 and 64-70 valid
        id[54] = (ushort)Cylinders;
        id[55] = Heads;
        id[56] = SectorsPerTrack;
        id.SetDword(57, (uint)Math.Min((ulong)Cylinders * Heads * SectorsPerTrack, uint.MaxValue));
        id[59] = (ushort)(_multiple != 0 ? 0x0100 | _multiple : 0);
        id.SetDword(60, (uint)lba28);
        id[64] = 0x0003; // PIO modes 3 and 4
        id[65] = id[66] = id[67] = id[68] = 120;
        id[80] = 0x00f0; // ATA/ATAPI-4 to -7
        id[82] = 1 << 14; // NOP
        id[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE EXT, FLUSH CACHE, 48-bit address
        id[84] = 1 << 14;
        id[85] = 1 << 14;
        id[86] = (1 << 13) | (1 << 12) | (1 << 10);
        id[87] = 1 << 14;
        id[93] = 0x6001; // hardware reset result: device 0 passed, as QEMU reports it
        id.SetQword(100, Sectors);
        IdentifyDma(id, channel, _transferMode);
        id.CopyTo(channel.Buffer(IdentifyData.Size));
        channel.StartDataIn(IdentifyData.Size, null);
    }
}
