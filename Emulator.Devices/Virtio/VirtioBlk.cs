using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Block;
using Emulator.Core.Machine;

namespace Emulator.Devices.Virtio;

/// <summary>
/// A virtio block device (Virtio 1.1 §5.2, device type 2) of 512-byte sectors over an
/// <see cref="IBlockBackend"/> (a disk image). Requests (§5.2.6): a 16-byte header (type, reserved, sector), data, and a status byte
/// in the last device-writable byte. IN reads, OUT writes (refused with IOERR on a read-only
/// disk), FLUSH makes earlier writes durable (the backend's flush), GET_ID returns a 20-byte serial.
/// A request whose data is not whole sectors or reaches past the capacity fails with IOERR and
/// touches nothing. The device does not check the image: the machine opens it.
/// </summary>
public sealed class VirtioBlk : IVirtioDevice
{
    /// <summary>Sector size of the virtio block protocol.</summary>
    public const int SectorSize = 512;

    /// <summary>Request types (§5.2.6).</summary>
    public const uint TypeIn = 0, TypeOut = 1, TypeFlush = 4, TypeGetId = 8;

    /// <summary>Request status values (§5.2.6).</summary>
    public const byte StatusOk = 0, StatusIoErr = 1, StatusUnsupported = 2;

    /// <summary>Feature bits (§5.2.3).</summary>
    public const int FeatureSegMax = 2, FeatureRo = 5, FeatureBlkSize = 6, FeatureFlush = 9;

    /// <summary>Length of the GET_ID answer.</summary>
    public const int IdLength = 20;

    private const int HeaderSize = 16;
    private const int ChunkSize = 64 * 1024;
    private const int ConfigLength = 0x18;

    private readonly IBlockBackend _disk;
    private readonly GuestErrorLog _errors;
    private readonly byte[] _id = new byte[IdLength];
    private readonly byte[] _buffer = new byte[ChunkSize];

    /// <summary>Creates the device over a disk whose length is a multiple of 512; takes ownership of it. Requests outside the disk and unknown types are reported to <paramref name="errors"/> (a log of its own when null).</summary>
    public VirtioBlk(IBlockBackend disk, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        if (disk.Length % SectorSize != 0)
        {
            throw new ArgumentException($"{disk.Name}: size {disk.Length} is not a multiple of {SectorSize}", nameof(disk));
        }

        _disk = disk;
        ReadOnly = disk.ReadOnly;
        CapacitySectors = (ulong)disk.Length / SectorSize;
        byte[] name = Encoding.ASCII.GetBytes(disk.Name);
        name.AsSpan(0, Math.Min(name.Length, IdLength)).CopyTo(_id);
    }

    /// <summary>Capacity in 512-byte sectors.</summary>
    public ulong CapacitySectors { get; }

    /// <summary>True when the guest may not write (VIRTIO_BLK_F_RO).</summary>
    public bool ReadOnly { get; }

    /// <inheritdoc/>
    public int DeviceType => 2;

    /// <inheritdoc/>
    public uint PciClassCode => 0x01_00_00; // mass storage, SCSI, as QEMU shows virtio-blk

    /// <inheritdoc/>
    public ulong Features => (1UL << FeatureSegMax) | (1UL << FeatureBlkSize) | (1UL << FeatureFlush) | (ReadOnly ? 1UL << FeatureRo : 0);

    /// <inheritdoc/>
    public int QueueCount => 1;

    /// <inheritdoc/>
    public int ConfigSize => ConfigLength;

    /// <inheritdoc/>
    public void ReadConfig(int offset, Span<byte> data)
    {
        // struct virtio_blk_config (§5.2.4) up to blk_size: capacity, size_max, seg_max, geometry, blk_size.
        Span<byte> config = stackalloc byte[ConfigLength];
        config.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(config, CapacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x0c..], Virtqueue.MaxSize - 2);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x14..], SectorSize);
        config.Slice(offset, data.Length).CopyTo(data);
    }

    /// <inheritdoc/>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        // Every field we offer is read-only for the driver.
    }

    /// <inheritdoc/>
    public void ProcessQueue(int index, Virtqueue queue, ulong negotiatedFeatures)
    {
        while (queue.Pop() is { } chain)
        {
            uint written = Handle(chain);
            queue.PushUsed(chain.Head, written);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <inheritdoc/>
    /// <remarks>Nothing: every request is read, carried out and returned within the notification that offered it; the disk image is the disk's state.</remarks>
    public void SaveState(BinaryWriter writer)
    {
    }

    /// <inheritdoc/>
    public void RestoreState(BinaryReader reader, int version, IReadOnlyList<Virtqueue> queues)
    {
        if (version != StateVersion)
        {
            throw new InvalidDataException($"virtio-blk: state version {version} is not supported (expected {StateVersion})");
        }
    }

    /// <inheritdoc/>
    public void Flush() => _disk.Flush();

    /// <inheritdoc/>
    public void Dispose() => _disk.Dispose();

    private uint Handle(DescriptorChain chain)
    {
        // §5.2.6.1: the header is device-readable, the status byte the last device-writable byte.
        if (chain.ReadableLength < HeaderSize || chain.WritableLength < 1)
        {
            throw new VirtioProtocolException("block request without a 16-byte header or a status byte");
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        chain.Read(0, header);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        ulong statusAt = chain.WritableLength - 1;
        ulong inLength = statusAt;
        ulong outLength = chain.ReadableLength - HeaderSize;

        byte status;
        uint dataWritten = 0;
        try
        {
            switch (type)
            {
                case TypeIn when Fits(sector, inLength):
                    Transfer(chain, sector, inLength, toGuest: true);
                    dataWritten = (uint)Math.Min(inLength, uint.MaxValue - 1);
                    status = StatusOk;
                    break;
                case TypeOut when !ReadOnly && Fits(sector, outLength):
                    Transfer(chain, sector, outLength, toGuest: false);
                    status = StatusOk;
                    break;
                case TypeIn or TypeOut:
                    _errors.Report("virtio-blk " + _disk.Name, type == TypeOut && ReadOnly
                        ? $"write to a read-only disk at sector {sector}: IOERR"
                        : $"{(type == TypeIn ? "read" : "write")} of {(type == TypeIn ? inLength : outLength)} bytes at sector {sector} is not whole sectors inside the disk's {CapacitySectors}: IOERR");
                    status = StatusIoErr;
                    break;
                case TypeFlush:
                    Flush();
                    status = StatusOk;
                    break;
                case TypeGetId:
                    dataWritten = (uint)chain.Write(0, _id.AsSpan(0, (int)Math.Min(inLength, IdLength)));
                    status = StatusOk;
                    break;
                default:
                    _errors.Report("virtio-blk " + _disk.Name, $"request type {type} is not supported: UNSUPP");
                    status = StatusUnsupported;
                    break;
            }
        }
        catch (IOException)
        {
            // The host failed (disk full, I/O error): the guest sees a failed request.
            status = StatusIoErr;
            dataWritten = 0;
        }

        chain.Write(statusAt, [status]);
        return dataWritten + 1;
    }

    // Whole sectors, entirely inside the disk, without overflow.
    private bool Fits(ulong sector, ulong length) =>
        length % SectorSize == 0 && sector <= CapacitySectors && length / SectorSize <= CapacitySectors - sector;

    private void Transfer(DescriptorChain chain, ulong sector, ulong length, bool toGuest)
    {
        long diskOffset = (long)(sector * SectorSize);
        for (ulong done = 0; done < length;)
        {
            int n = (int)Math.Min(length - done, ChunkSize);
            Span<byte> piece = _buffer.AsSpan(0, n);
            if (toGuest)
            {
                _disk.Read(piece, diskOffset + (long)done);
                chain.Write(done, piece);
            }
            else
            {
                chain.Read(HeaderSize + done, piece);
                _disk.Write(piece, diskOffset + (long)done);
            }

            done += (ulong)n;
        }
    }
}
