using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Block;

namespace Emulator.Devices.Ide;

/// <summary>
/// An ATAPI CD-ROM drive (ATA/ATAPI-6 chapter 9 "packet command protocol") holding a read-only
/// disc image of 2048-byte sectors (an ISO 9660 file as a plain image). The ATA side: IDENTIFY
/// PACKET DEVICE, PACKET, DEVICE RESET, EXECUTE DEVICE DIAGNOSTIC, SET FEATURES, power commands;
/// IDENTIFY DEVICE is aborted with the packet signature in place, which is how hosts tell the kinds
/// apart. The packet side is the SCSI/MMC subset firmware and Linux's sr driver use (SPC-3, MMC-5):
/// TEST UNIT READY, REQUEST SENSE, INQUIRY, MODE SENSE(6/10) of the capabilities page, START STOP
/// UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY, READ(10)/READ(12), READ TOC (formats 0 and 1),
/// GET CONFIGURATION (header only) and SET CD SPEED. Anything else ends in CHECK CONDITION with
/// ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE, and reads outside the disc with LOGICAL BLOCK
/// ADDRESS OUT OF RANGE. Data moves by PIO in blocks no larger than the host's byte count limit, or
/// by bus master DMA when the host sets the DMA bit of the PACKET command's Features.
/// </summary>
public sealed class AtapiCdrom : IIdeDevice
{
    /// <summary>Bytes per CD sector (mode 1 user data).</summary>
    public const int SectorSize = 2048;

    /// <summary>SCSI operation codes handled (SPC-3, MMC-5).</summary>
    public const byte TestUnitReady = 0x00, RequestSense = 0x03, Inquiry = 0x12, ModeSense6 = 0x1a, StartStopUnit = 0x1b,
        PreventAllowMediumRemoval = 0x1e, ReadCapacity = 0x25, Read10 = 0x28, ReadToc = 0x43, GetConfiguration = 0x46,
        ModeSense10 = 0x5a, Read12 = 0xa8, SetCdSpeed = 0xbb;

    /// <summary>Sense keys (SPC-3 4.5.6).</summary>
    public const byte SenseNone = 0x00, SenseNotReady = 0x02, SenseMediumError = 0x03, SenseIllegalRequest = 0x05;

    /// <summary>Additional sense codes: invalid command operation code, LBA out of range, invalid field in CDB, medium not present.</summary>
    public const byte AscInvalidOpcode = 0x20, AscLbaOutOfRange = 0x21, AscInvalidField = 0x24, AscMediumNotPresent = 0x3a;

    private const int PacketSize = 12;
    private const byte CapabilitiesPage = 0x2a;

    private readonly IBlockBackend _disc;
    private readonly string _serial;
    private byte _senseKey, _asc;
    private byte _transferMode;

    /// <summary>Creates the drive with <paramref name="disc"/> (owned from here on) inserted.</summary>
    public AtapiCdrom(IBlockBackend disc, string serial)
    {
        _disc = disc;
        _serial = serial;
        Blocks = (uint)Math.Min(disc.Length / SectorSize, uint.MaxValue);
    }

    /// <summary>Number of 2048-byte blocks on the disc.</summary>
    public uint Blocks { get; }

    /// <inheritdoc/>
    public bool IsAtapi => true;

    /// <inheritdoc/>
    public void Execute(IdeChannel channel, byte command)
    {
        switch (command)
        {
            case Ata.IdentifyPacketDevice:
                Identify(channel);
                break;
            case Ata.Packet:
                ReceivePacket(channel);
                break;
            case Ata.DeviceReset or Ata.ExecuteDeviceDiagnostic:
                channel.WriteSignature(atapi: true);
                channel.Error = 1;
                channel.Complete();
                break;
            case Ata.SetFeatures:
                AtaDisk.SetFeatures(channel, ref _transferMode);
                break;
            case Ata.Idle or Ata.IdleImmediate or Ata.Standby or Ata.StandbyImmediate or Ata.Sleep:
                channel.Complete();
                break;
            case Ata.CheckPowerMode:
                channel.SectorCount = Ata.PowerModeActive;
                channel.Complete();
                break;
            default:
                // IDENTIFY DEVICE included: aborted, with the packet device signature (9.12, 8.15.1).
                channel.WriteSignature(atapi: true);
                channel.Abort();
                break;
        }
    }

    /// <inheritdoc/>
    public void Reset() => (_senseKey, _asc, _transferMode) = (SenseNone, 0, 0);

    /// <inheritdoc/>
    public void Dispose() => _disc.Dispose();

    // PACKET: the host sends 12 command bytes while the Sector Count register reads "command, to device".
    private void ReceivePacket(IdeChannel channel)
    {
        channel.SectorCount = Ata.ReasonCoD;
        channel.StartDataOut(PacketSize, interrupt: false, packet => RunPacket(channel, packet.ToArray()));
    }

    private void RunPacket(IdeChannel channel, byte[] cdb)
    {
        switch (cdb[0])
        {
            case TestUnitReady or StartStopUnit or PreventAllowMediumRemoval or SetCdSpeed:
                Good(channel);
                break;
            case RequestSense:
                SendRequestSense(channel, cdb[4]);
                break;
            case Inquiry:
                SendInquiry(channel, cdb[4]);
                break;
            case ModeSense6:
                SendModeSense(channel, cdb[2], cdb[4], tenByte: false);
                break;
            case ModeSense10:
                SendModeSense(channel, cdb[2], BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7)), tenByte: true);
                break;
            case ReadCapacity:
                byte[] capacity = new byte[8];
                BinaryPrimitives.WriteUInt32BigEndian(capacity, Blocks - 1);
                BinaryPrimitives.WriteUInt32BigEndian(capacity.AsSpan(4), SectorSize);
                Send(channel, capacity, capacity.Length);
                break;
            case Read10:
                ReadBlocks(channel, BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7)));
                break;
            case Read12:
                ReadBlocks(channel, BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(2)), BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(6)));
                break;
            case ReadToc:
                SendToc(channel, cdb);
                break;
            case GetConfiguration:
                // Feature header only (MMC-5 6.6.2.1): no features listed, current profile CD-ROM (0008h).
                byte[] header = [0, 0, 0, 4, 0, 0, 0, 0x08];
                Send(channel, header, BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7)));
                break;
            default:
                CheckCondition(channel, SenseIllegalRequest, AscInvalidOpcode);
                break;
        }
    }

    private void Good(IdeChannel channel)
    {
        (_senseKey, _asc) = (SenseNone, 0);
        channel.SectorCount = Ata.ReasonIo | Ata.ReasonCoD;
        channel.Complete();
    }

    // CHECK CONDITION (9.10): ERR with the sense key in the Error register's upper nibble; the
    // host then asks REQUEST SENSE for the rest.
    private void CheckCondition(IdeChannel channel, byte key, byte asc)
    {
        (_senseKey, _asc) = (key, asc);
        channel.SectorCount = Ata.ReasonIo | Ata.ReasonCoD;
        channel.Abort((byte)(key << 4));
    }

    // Fixed-format sense data (SPC-3 4.5.3), 18 bytes; reading it clears the condition.
    private void SendRequestSense(IdeChannel channel, int allocation)
    {
        byte[] sense = new byte[18];
        sense[0] = 0x70;
        sense[2] = _senseKey;
        sense[7] = 10;
        sense[12] = _asc;
        (_senseKey, _asc) = (SenseNone, 0);
        Send(channel, sense, allocation);
    }

    // Standard INQUIRY data (SPC-3 6.4.2): a removable CD/DVD device (type 05h), SPC-3 / MMC response format 2.
    private void SendInquiry(IdeChannel channel, int allocation)
    {
        byte[] data = new byte[36];
        data[0] = 0x05;
        data[1] = 0x80;
        data[2] = 0x05;
        data[3] = 0x32;
        data[4] = 31;
        Encoding.ASCII.GetBytes("EMU     ", data.AsSpan(8));
        Encoding.ASCII.GetBytes("EMU DVD-ROM     ", data.AsSpan(16));
        Encoding.ASCII.GetBytes("1.0 ", data.AsSpan(32));
        Send(channel, data, allocation);
    }

    // MODE SENSE of the CD capabilities and mechanical status page (MMC-5 7.9 / older MMC 2Ah):
    // reads CD-R/RW media, tray loading, eject; other pages are not supported.
    private void SendModeSense(IdeChannel channel, byte pageControl, int allocation, bool tenByte)
    {
        int page = pageControl & 0x3f;
        if (page != CapabilitiesPage && page != 0x3f)
        {
            CheckCondition(channel, SenseIllegalRequest, AscInvalidField);
            return;
        }

        byte[] body = new byte[20];
        body[0] = CapabilitiesPage;
        body[1] = 18;
        body[2] = 0x03; // reads CD-R, CD-RW
        body[4] = 0x71; // audio play, composite, digital port 1/2 absent; multi-session
        body[5] = 0x00;
        body[6] = 0x29; // lock supported, eject, tray loading mechanism
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(8), 706); // maximum speed (KB/s, 4x)
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(14), 706); // current speed
        byte[] data = tenByte ? new byte[8 + body.Length] : new byte[4 + body.Length];
        body.CopyTo(data, tenByte ? 8 : 4);
        if (tenByte)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(data.Length - 2));
        }
        else
        {
            data[0] = (byte)(data.Length - 1);
        }

        Send(channel, data, allocation);
    }

    // READ TOC/PMA/ATIP (MMC-5 6.26): format 0, the TOC of one data track plus the lead-out, and
    // format 1, the multi-session information (one session, first track at LBA 0); MSF or LBA form.
    private void SendToc(IdeChannel channel, byte[] cdb)
    {
        bool msf = (cdb[1] & 0x02) != 0;
        int format = cdb[2] & 0x0f;
        if (format == 0 && cdb[9] >> 6 != 0)
        {
            format = cdb[9] >> 6; // the old location of the format field (SFF-8020)
        }

        int allocation = BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7));
        byte[] data;
        if (format == 0)
        {
            data = new byte[4 + 16];
            TrackDescriptor(data.AsSpan(4), 1, 0, msf);
            TrackDescriptor(data.AsSpan(12), 0xaa, Blocks, msf);
        }
        else if (format == 1)
        {
            data = new byte[4 + 8];
            TrackDescriptor(data.AsSpan(4), 1, 0, msf);
        }
        else
        {
            CheckCondition(channel, SenseIllegalRequest, AscInvalidField);
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(data.Length - 2));
        data[2] = 1;
        data[3] = 1;
        Send(channel, data, allocation);
    }

    private static void TrackDescriptor(Span<byte> d, byte track, uint lba, bool msf)
    {
        d[1] = 0x14; // ADR 1, control: data track, copy permitted
        d[2] = track;
        if (msf)
        {
            uint frames = lba + 150;
            d[5] = (byte)(frames / (75 * 60));
            d[6] = (byte)(frames / 75 % 60);
            d[7] = (byte)(frames % 75);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(d[4..], lba);
        }
    }

    private void ReadBlocks(IdeChannel channel, uint lba, uint count)
    {
        if (lba >= Blocks || count > Blocks - lba)
        {
            CheckCondition(channel, SenseIllegalRequest, AscLbaOutOfRange);
            return;
        }

        if (count == 0)
        {
            Good(channel);
            return;
        }

        long position = (long)lba * SectorSize;
        Transfer(channel, (long)count * SectorSize, (block, offset) => _disc.Read(block, position + offset));
    }

    private void Send(IdeChannel channel, byte[] data, int allocation)
    {
        int length = Math.Min(data.Length, allocation);
        if (length == 0)
        {
            Good(channel);
            return;
        }

        Transfer(channel, length, (block, offset) => data.AsSpan((int)offset, block.Length).CopyTo(block));
    }

    // PIO data-in of a packet command (9.9): each DRQ block is at most the byte count limit the host
    // put in LBA Mid/High (0 or odd values taken as the next lower even number, 0 as 0xFFFE as QEMU
    // does); its length goes back in those registers with the reason "data, to host"; after the
    // last block the reason becomes "status" and the command completes with an interrupt.
    private void Transfer(IdeChannel channel, long total, Action<Span<byte>, long> fill)
    {
        // PACKET with Features bit 0 (DMA): the whole data phase goes through the bus master.
        if ((channel.Features & 1) != 0 && channel.DmaAvailable)
        {
            channel.StartDma(true, total, (data, offset) =>
            {
                try
                {
                    fill(data, offset);
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            }, () => Good(channel));
            return;
        }

        int limit = (channel.LbaHigh << 8) | channel.LbaMid;
        limit = limit == 0 ? 0xfffe : limit & ~1;
        if (limit == 0)
        {
            limit = 2;
        }

        long done = 0;
        NextBlock();

        void NextBlock()
        {
            int n = (int)Math.Min(limit, total - done);
            Span<byte> block = channel.Buffer(n);
            try
            {
                fill(block, done);
            }
            catch (IOException)
            {
                CheckCondition(channel, SenseMediumError, 0x11); // unrecovered read error
                return;
            }

            done += n;
            channel.LbaMid = (byte)n;
            channel.LbaHigh = (byte)(n >> 8);
            channel.SectorCount = Ata.ReasonIo;
            channel.StartDataIn(n, done < total ? NextBlock : () => Good(channel));
        }
    }

    private void Identify(IdeChannel channel)
    {
        var id = new IdentifyData();
        // Packet device (10b), CD-ROM (05h), removable, DRQ within 50 us (10b), 12-byte packets.
        id[0] = 0x8000 | 0x0500 | 0x0080 | 0x0040;
        id.SetString(10, 20, _serial);
        id.SetString(23, 8, "1.0");
        id.SetString(27, 40, "EMU DVD-ROM");
        id[49] = (1 << 9) | (1 << 11); // LBA, IORDY
        id[53] = 0x0003;
        id[64] = 0x0003;
        id[65] = id[66] = id[67] = id[68] = 120;
        id[80] = 0x001e; // ATA/ATAPI-1 to -4
        id[82] = (1 << 14) | (1 << 4); // NOP, PACKET
        id[83] = 1 << 14;
        id[84] = 1 << 14;
        id[85] = (1 << 14) | (1 << 4);
        id[87] = 1 << 14;
        id[93] = 0x6001;
        AtaDisk.IdentifyDma(id, channel, _transferMode);
        id.CopyTo(channel.Buffer(IdentifyData.Size));
        channel.StartDataIn(IdentifyData.Size, null);
    }
}
