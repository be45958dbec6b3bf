using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using K4os.Compression.LZ4;

namespace Emulator.Core.Snapshots;

/// <summary>
/// Writes a snapshot file (<see cref="SnapshotFormat"/>) section by section. The file is written
/// under a temporary name beside the target and renamed over it by <see cref="Commit"/>, so a save
/// that fails or is interrupted never leaves a partial file under the final name.
/// </summary>
public sealed class SnapshotWriter : IDisposable
{
    private readonly string _path;
    private readonly string _temporary;
    private readonly FileStream _file;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private bool _committed;

    /// <summary>Starts a snapshot that will be <paramref name="path"/>; throws <see cref="IOException"/> when the directory cannot be written.</summary>
    public SnapshotWriter(string path)
    {
        _path = Path.GetFullPath(path);
        _temporary = $"{_path}.tmp-{Environment.ProcessId}";
        _file = new FileStream(_temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 20);
        Span<byte> header = stackalloc byte[SnapshotFormat.FileHeaderSize];
        header.Clear();
        SnapshotFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], SnapshotFormat.FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], XxHash3.HashToUInt64(header[..24]));
        _file.Write(header);
    }

    /// <summary>Adds a section holding <paramref name="data"/>, compressed unless <paramref name="compress"/> is false.</summary>
    public void Add(string name, int version, ReadOnlySpan<byte> data, bool compress = true)
    {
        if (!compress)
        {
            WriteSection(name, version, SectionEncoding.Stored, (ulong)data.Length, data);
            return;
        }

        byte[] block = new byte[LZ4Codec.MaximumOutputSize(data.Length)];
        int length = LZ4Codec.Encode(data, block, LZ4Level.L00_FAST);
        WriteSection(name, version, SectionEncoding.Lz4, (ulong)data.Length, block.AsSpan(0, length));
    }

    /// <summary>Adds guest RAM (<see cref="RamImage"/>): <paramref name="size"/> bytes at <paramref name="ram"/>, which must not change meanwhile.</summary>
    public unsafe RamImageStats AddRam(string name, int version, byte* ram, ulong size)
    {
        long start = BeginSection(name);
        var hash = new XxHash3();
        ulong stored = 0;
        RamImageStats stats = RamImage.Encode(ram, size, bytes =>
        {
            hash.Append(bytes);
            _file.Write(bytes);
            stored += (ulong)bytes.Length;
        });
        long end = _file.Position;
        _file.Position = start;
        WriteHeader(name, version, SectionEncoding.RamPages, size, stored, hash.GetCurrentHashAsUInt64());
        _file.Position = end;
        return stats;
    }

    /// <summary>Ends the file, makes it durable and gives it its final name; returns its size in bytes.</summary>
    public long Commit()
    {
        WriteSection(SnapshotFormat.EndSection, 1, SectionEncoding.Stored, 0, []);
        _file.Flush(flushToDisk: true);
        long size = _file.Length;
        _file.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _committed = true;
        return size;
    }

    /// <summary>Closes the file; without <see cref="Commit"/> the partial file is deleted.</summary>
    public void Dispose()
    {
        _file.Dispose();
        if (!_committed)
        {
            try
            {
                File.Delete(_temporary);
            }
            catch (IOException)
            {
            }
        }
    }

    private void WriteSection(string name, int version, SectionEncoding encoding, ulong decoded, ReadOnlySpan<byte> stored)
    {
        BeginSection(name);
        _file.Position -= SnapshotFormat.SectionHeaderSize + name.Length;
        WriteHeader(name, version, encoding, decoded, (ulong)stored.Length, XxHash3.HashToUInt64(stored));
        _file.Write(stored);
    }

    // Reserves the header and name of a section; returns where the header starts.
    private long BeginSection(string name)
    {
        if (name.Length is 0 or > 255 || !Ascii.IsValid(name) || !_names.Add(name))
        {
            throw new ArgumentException($"bad or repeated section name '{name}'", nameof(name));
        }

        long start = _file.Position;
        _file.Write(new byte[SnapshotFormat.SectionHeaderSize + name.Length]);
        return start;
    }

    private void WriteHeader(string name, int version, SectionEncoding encoding, ulong decoded, ulong stored, ulong checksum)
    {
        byte[] header = new byte[SnapshotFormat.SectionHeaderSize + name.Length];
        SnapshotFormat.SectionMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), version);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)encoding);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(10), (ushort)name.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), decoded);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), stored);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(32), checksum);
        Encoding.ASCII.GetBytes(name, header.AsSpan(SnapshotFormat.SectionHeaderSize));
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(40), HeaderChecksum(header));
        _file.Write(header);
    }

    /// <summary>The checksum of a section header: bytes 0-39 and the name.</summary>
    internal static ulong HeaderChecksum(ReadOnlySpan<byte> header)
    {
        var hash = new XxHash3();
        hash.Append(header[..40]);
        hash.Append(header[SnapshotFormat.SectionHeaderSize..]);
        return hash.GetCurrentHashAsUInt64();
    }
}
