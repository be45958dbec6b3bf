using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Text;
using K4os.Compression.LZ4;

namespace Emulator.Core.Snapshots;

/// <summary>
/// A snapshot file opened for restoring. <see cref="Open"/> maps the file and checks all of it (its
/// header, every section's header and payload checksum, the end marker) before anything can be
/// read, so a cut or corrupted file is refused whole with one line and nothing is restored from it.
/// </summary>
public sealed unsafe class SnapshotReader : IDisposable
{
    // A compressed section (not RAM) decodes to at most this much: the largest device state is the
    // VGA with its 16 MiB of display memory.
    private const ulong MaxDecodedSection = 256UL << 20;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, SnapshotSection> _byName = new(StringComparer.Ordinal);
    private bool _disposed;

    private SnapshotReader(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePointer, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePointer;
        _length = length;
    }

    /// <summary>The file, as given.</summary>
    public string Path { get; }

    /// <summary>Every section in file order, the end marker excluded.</summary>
    public IReadOnlyList<SnapshotSection> Sections { get; private set; } = [];

    /// <summary>The file's size in bytes.</summary>
    public long Length => _length;

    /// <summary>
    /// Opens and checks <paramref name="path"/>; throws <see cref="SnapshotFileException"/> (one line:
    /// the file and what is wrong) for a missing, cut, corrupted or foreign file.
    /// </summary>
    public static SnapshotReader Open(string path)
    {
        long length;
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            length = new FileInfo(path).Length;
            if (length > 0)
            {
                map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                // SAFETY: the pointer stays valid until the view is released in Dispose; it is only
                // read within [0, length), the size of the file mapped.
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                pointer += view.PointerOffset;
                // Every byte is read by the checks below: map the file's pages in one call.
                Memory.HostMapping.PrefaultRead(pointer, (ulong)length);
            }
        }
        catch (FileNotFoundException e)
        {
            throw new SnapshotFileException(path, "no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            map?.Dispose();
            throw new SnapshotFileException(path, $"cannot read: {e.Message}", e);
        }

        var reader = new SnapshotReader(path, map, view, pointer, length);
        try
        {
            reader.Check();
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>True when the file has a section named <paramref name="name"/>.</summary>
    public bool Has(string name) => _byName.ContainsKey(name);

    /// <summary>The section named <paramref name="name"/>; a missing one makes the file unusable.</summary>
    public SnapshotSection Get(string name) =>
        _byName.TryGetValue(name, out SnapshotSection? s) ? s : throw Fail($"has no '{name}' section");

    /// <summary>The decoded payload of a stored or compressed section.</summary>
    public byte[] Read(SnapshotSection section)
    {
        ReadOnlySpan<byte> stored = Stored(section);
        if (section.Encoding == SectionEncoding.Stored)
        {
            return stored.ToArray();
        }

        if (section.Encoding != SectionEncoding.Lz4 || section.DecodedLength > MaxDecodedSection)
        {
            throw Fail($"section '{section.Name}' cannot be read as a block of {section.DecodedLength} bytes");
        }

        byte[] decoded = new byte[section.DecodedLength];
        int n = LZ4Codec.Decode(stored, decoded);
        return n == decoded.Length ? decoded : throw Fail($"section '{section.Name}' does not decompress to its {decoded.Length} bytes");
    }

    /// <summary>The decoded payload of the section named <paramref name="name"/>.</summary>
    public byte[] Read(string name) => Read(Get(name));

    /// <summary>Writes a RAM section into <paramref name="size"/> bytes of RAM at <paramref name="ram"/> (see <see cref="RamImage.Decode"/>).</summary>
    public void ReadRam(SnapshotSection section, byte* ram, ulong size, bool clearZeroPages)
    {
        if (section.Encoding != SectionEncoding.RamPages)
        {
            throw Fail($"section '{section.Name}' is not guest RAM");
        }

        try
        {
            RamImage.Decode(Stored(section), ram, size, clearZeroPages);
        }
        catch (InvalidDataException e)
        {
            throw Fail($"section '{section.Name}': {e.Message}", e);
        }
    }

    /// <summary>The RAM size a RAM section holds.</summary>
    public ulong RamSize(SnapshotSection section) => section.DecodedLength;

    /// <summary>A <see cref="SnapshotFileException"/> about this file.</summary>
    public SnapshotFileException Fail(string problem, Exception? inner = null) =>
        inner is null ? new SnapshotFileException(Path, problem) : new SnapshotFileException(Path, problem, inner);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }

    private ReadOnlySpan<byte> Stored(SnapshotSection section) =>
        section.StoredLength > int.MaxValue
            ? throw Fail($"section '{section.Name}' of {section.StoredLength} bytes is larger than this emu can read (2 GiB)")
            : new ReadOnlySpan<byte>(_base + section.Offset, (int)section.StoredLength);

    private ReadOnlySpan<byte> Bytes(long offset, int count) => new(_base + offset, count);

    private void Check()
    {
        CheckFileHeader();
        var sections = new List<SnapshotSection>();
        long at = SnapshotFormat.FileHeaderSize;
        while (true)
        {
            string after = sections.Count == 0 ? "its header" : $"section '{sections[^1].Name}'";
            if (at == _length)
            {
                throw Fail($"cut short: the file ends after {after}, before the end marker ({_length} bytes)");
            }

            if (_length - at < SnapshotFormat.SectionHeaderSize)
            {
                throw Fail($"cut short: the file ends inside the section header after {after} (byte {at} of {_length})");
            }

            ReadOnlySpan<byte> fixedPart = Bytes(at, SnapshotFormat.SectionHeaderSize);
            if (!fixedPart[..4].SequenceEqual(SnapshotFormat.SectionMagic))
            {
                throw Fail($"corrupted: no section header at byte {at} (after {after})");
            }

            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[10..]);
            if (_length - at - SnapshotFormat.SectionHeaderSize < nameLength)
            {
                throw Fail($"cut short: the file ends inside the section header after {after} (byte {at} of {_length})");
            }

            ReadOnlySpan<byte> header = Bytes(at, SnapshotFormat.SectionHeaderSize + nameLength);
            if (SnapshotWriter.HeaderChecksum(header) != BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[40..]) || nameLength == 0)
            {
                throw Fail($"corrupted: the section header at byte {at} (after {after}) does not match its checksum");
            }

            string name = Encoding.ASCII.GetString(header[SnapshotFormat.SectionHeaderSize..]);
            int version = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[4..]);
            var encoding = (SectionEncoding)BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[8..]);
            ulong decoded = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[16..]);
            ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[24..]);
            long payload = at + header.Length;
            if (stored > (ulong)(_length - payload))
            {
                throw Fail($"cut short: section '{name}' needs {stored} bytes from byte {payload}, the file ends at byte {_length}");
            }

            if (Checksum(payload, (long)stored) != BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[32..]))
            {
                throw Fail($"corrupted: section '{name}' ({stored} bytes at byte {payload}) does not match its checksum");
            }

            if (encoding is not (SectionEncoding.Stored or SectionEncoding.Lz4 or SectionEncoding.RamPages))
            {
                throw Fail($"section '{name}' has an unknown encoding {(int)encoding}");
            }

            at = payload + (long)stored;
            if (name == SnapshotFormat.EndSection)
            {
                if (at != _length)
                {
                    throw Fail($"corrupted: {_length - at} bytes follow the end marker");
                }

                break;
            }

            var section = new SnapshotSection(name, version, encoding, decoded, payload, (long)stored);
            if (!_byName.TryAdd(name, section))
            {
                throw Fail($"corrupted: section '{name}' appears twice");
            }

            sections.Add(section);
        }

        Sections = sections;
    }

    private void CheckFileHeader()
    {
        int present = (int)Math.Min(_length, SnapshotFormat.FileHeaderSize);
        ReadOnlySpan<byte> header = Bytes(0, present);
        int magic = Math.Min(present, SnapshotFormat.Magic.Length);
        if (present == 0 || !header[..magic].SequenceEqual(SnapshotFormat.Magic[..magic]))
        {
            throw Fail(present == 0 ? "empty file, not an emu snapshot" : "not an emu snapshot (no EMUSNAP magic at its start)");
        }

        if (present < SnapshotFormat.FileHeaderSize)
        {
            throw Fail($"cut short: the file ends inside its header ({_length} bytes)");
        }

        if (XxHash3.HashToUInt64(header[..24]) != BinaryPrimitives.ReadUInt64LittleEndian(header[24..]))
        {
            throw Fail("corrupted: the file header does not match its checksum");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != SnapshotFormat.FormatVersion)
        {
            throw Fail($"snapshot format version {version} is not supported (this emu reads version {SnapshotFormat.FormatVersion})");
        }
    }

    // XXH3 over a range that may exceed what one span can hold.
    private ulong Checksum(long offset, long length)
    {
        if (length <= int.MaxValue)
        {
            // One call: the same value as the streaming hash, measured at about half its time.
            return XxHash3.HashToUInt64(Bytes(offset, (int)length));
        }

        var hash = new XxHash3();
        while (length > 0)
        {
            int n = (int)Math.Min(length, 1 << 30);
            hash.Append(Bytes(offset, n));
            offset += n;
            length -= n;
        }

        return hash.GetCurrentHashAsUInt64();
    }
}
