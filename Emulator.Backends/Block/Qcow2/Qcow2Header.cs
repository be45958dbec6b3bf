using System.Buffers.Binary;
using System.Text;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// The qcow2 file header (QEMU docs/interop/qcow2.txt, "Header" and "Header extensions"): the fixed
/// fields of versions 2 and 3 and the extensions emu reads (backing file format, feature name table),
/// checked against the file they came from. Every field is big-endian on disk.
/// </summary>
internal sealed class Qcow2Header
{
    /// <summary>"QFI\xfb": the first four bytes of every qcow2 file.</summary>
    public const uint Magic = 0x514649FB;

    /// <summary>Byte offset of refcount_table_offset; refcount_table_clusters follows it, so both are one 12-byte write.</summary>
    public const int RefcountTableFieldsOffset = 48;

    /// <summary>Byte offset of autoclear_features (version 3).</summary>
    public const int AutoclearFeaturesOffset = 88;

    // Incompatible feature bits ("incompatible_features", bytes 72-79).
    public const int DirtyBit = 0, CorruptBit = 1, ExternalDataFileBit = 2, CompressionTypeBit = 3, ExtendedL2Bit = 4;

    // Compatible feature bit 0 ("compatible_features", bytes 80-87).
    public const int LazyRefcountsBit = 0;

    private const int Version2Length = 72, Version3MinLength = 104;
    private const uint BackingFormatExtension = 0xE2792ACA, FeatureNameTableExtension = 0x6803F857;

    // QEMU's implementation limits (qcow2.txt, notes under cluster_bits, size and the refcount table):
    // images beyond them cannot be opened by QEMU either, and they bound what emu allocates in memory.
    private const int MaxClusterBits = 21;
    private const long MaxL1Bytes = 32L << 20, MaxRefcountTableBytes = 8L << 20;

    private Qcow2Header()
    {
    }

    public int Version { get; private init; }

    public int ClusterBits { get; private init; }

    public int ClusterSize => 1 << ClusterBits;

    /// <summary>The virtual disk size in bytes.</summary>
    public long Size { get; private init; }

    public int L1Size { get; private init; }

    public long L1TableOffset { get; private init; }

    public long RefcountTableOffset { get; private init; }

    public int RefcountTableClusters { get; private init; }

    public int SnapshotCount { get; private init; }

    public ulong IncompatibleFeatures { get; private init; }

    public ulong CompatibleFeatures { get; private init; }

    public ulong AutoclearFeatures { get; private init; }

    /// <summary>log2 of the width of a refcount in bits (4 = 16-bit refcounts, always so in version 2).</summary>
    public int RefcountOrder { get; private init; }

    /// <summary>The backing file name exactly as stored, or null.</summary>
    public string? BackingFile { get; private init; }

    /// <summary>The backing file's format from the header extension ("raw", "qcow2"), or null when absent.</summary>
    public string? BackingFormat { get; private init; }

    /// <summary>True when the corrupt bit is set: the image may be read but must not be written.</summary>
    public bool MarkedCorrupt => (IncompatibleFeatures & (1UL << CorruptBit)) != 0;

    /// <summary>The number of 8-byte entries in one L2 table (no extended L2 entries).</summary>
    public int L2Entries => ClusterSize / 8;

    /// <summary>True when <paramref name="data"/> starts with the qcow2 magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> data) => data.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(data) == Magic;

    /// <summary>
    /// Reads and checks the header of <paramref name="file"/>. Throws <see cref="DiskImageException"/>
    /// with one line for anything corrupt or unsupported; reads only.
    /// </summary>
    public static Qcow2Header Read(IImageFile file, bool forWriting)
    {
        long fileLength = file.Length;
        if (fileLength < Version2Length)
        {
            throw new DiskImageException($"qcow2 header cut short: the file has {fileLength} bytes, a header needs at least {Version2Length}");
        }

        byte[] fixedPart = new byte[Version3MinLength];
        int got = file.Read(fixedPart, 0);
        ReadOnlySpan<byte> h = fixedPart;
        if (!HasMagic(h))
        {
            throw new DiskImageException("not a qcow2 image (no QFI\\xfb magic)");
        }

        int version = (int)BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
        if (version is not (2 or 3))
        {
            throw new DiskImageException($"qcow2 version {version} is not supported (versions 2 and 3 are)");
        }

        if (version == 3 && got < Version3MinLength)
        {
            throw new DiskImageException($"qcow2 version 3 header cut short: the file has {fileLength} bytes, the header needs {Version3MinLength}");
        }

        int clusterBits = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[20..]), int.MaxValue);
        if (clusterBits is < 9 or > MaxClusterBits)
        {
            throw new DiskImageException($"qcow2 cluster_bits {clusterBits} is outside 9..{MaxClusterBits} (512 bytes to 2 MiB clusters)");
        }

        long clusterSize = 1L << clusterBits;
        int headerLength = version == 2 ? Version2Length : (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[100..]), int.MaxValue);
        if (version == 3 && (headerLength < Version3MinLength || headerLength % 8 != 0 || headerLength > clusterSize))
        {
            throw new DiskImageException($"qcow2 header_length {headerLength} is not a multiple of 8 between {Version3MinLength} and the cluster size {clusterSize}");
        }

        ulong incompatible = version == 2 ? 0 : BinaryPrimitives.ReadUInt64BigEndian(h[72..]);
        ulong compatible = version == 2 ? 0 : BinaryPrimitives.ReadUInt64BigEndian(h[80..]);
        ulong autoclear = version == 2 ? 0 : BinaryPrimitives.ReadUInt64BigEndian(h[88..]);
        int refcountOrder = version == 2 ? 4 : (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[96..]), int.MaxValue);
        if (refcountOrder > 6)
        {
            throw new DiskImageException($"qcow2 refcount_order {refcountOrder} is above 6 (64-bit refcounts)");
        }

        // The header cluster holds the extensions and the backing file name; read it whole (or what the file has).
        byte[] first = new byte[Math.Min(clusterSize, fileLength)];
        file.Read(first, 0);
        (string? backingFormat, Dictionary<(int Type, int Bit), string> names, byte compressionType) = ReadExtensions(first, headerLength, version);

        CheckIncompatibleFeatures(incompatible, names, compressionType, forWriting);

        uint cryptMethod = BinaryPrimitives.ReadUInt32BigEndian(h[32..]);
        if (cryptMethod != 0)
        {
            throw new DiskImageException($"encrypted qcow2 images are not supported (crypt_method {cryptMethod}: {(cryptMethod == 1 ? "AES" : cryptMethod == 2 ? "LUKS" : "unknown")})");
        }

        var header = new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            Size = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(h[24..]), "size"),
            L1Size = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[36..]), int.MaxValue),
            L1TableOffset = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(h[40..]), "l1_table_offset"),
            RefcountTableOffset = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(h[48..]), "refcount_table_offset"),
            RefcountTableClusters = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[56..]), int.MaxValue),
            SnapshotCount = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(h[60..]), int.MaxValue),
            IncompatibleFeatures = incompatible,
            CompatibleFeatures = compatible,
            AutoclearFeatures = autoclear,
            RefcountOrder = refcountOrder,
            BackingFormat = backingFormat,
            BackingFile = ReadBackingFileName(h, first, clusterSize, fileLength),
        };
        header.CheckTables(fileLength);
        return header;
    }

    private static long CheckedLong(ulong value, string field) => value <= long.MaxValue
        ? (long)value
        : throw new DiskImageException($"qcow2 {field} 0x{value:x} is out of range");

    private static void CheckIncompatibleFeatures(ulong bits, Dictionary<(int Type, int Bit), string> names, byte compressionType, bool forWriting)
    {
        // "An implementation must fail to open an image if an unknown bit is set" (incompatible_features).
        for (int bit = 0; bit < 64; bit++)
        {
            if ((bits & (1UL << bit)) == 0)
            {
                continue;
            }

            string? why = bit switch
            {
                DirtyBit => "the dirty bit is set (lazy_refcounts left the refcounts stale); repair it with qemu-img check -r all",
                CorruptBit => forWriting ? "QEMU marked it corrupt; repair it with qemu-img check -r all, or attach it with readonly=on" : null,
                ExternalDataFileBit => "unsupported qcow2 feature: external data file",
                CompressionTypeBit when compressionType == 0 => "the compression type bit is set but compression_type is zlib (0)",
                CompressionTypeBit => $"unsupported qcow2 feature: compression type {(compressionType == 1 ? "zstd" : compressionType.ToString())} (only zlib is supported)",
                ExtendedL2Bit => "unsupported qcow2 feature: extended L2 entries (subclusters)",
                _ => $"unsupported qcow2 feature: {(names.TryGetValue((0, bit), out string? name) ? name : "unknown")} (incompatible feature bit {bit})",
            };
            if (why is not null)
            {
                throw new DiskImageException(why);
            }
        }
    }

    private static (string? BackingFormat, Dictionary<(int Type, int Bit), string> Names, byte CompressionType) ReadExtensions(ReadOnlySpan<byte> cluster, int headerLength, int version)
    {
        var names = new Dictionary<(int Type, int Bit), string>();
        byte compressionType = version == 3 && headerLength > 104 && cluster.Length > 104 ? cluster[104] : (byte)0;
        string? backingFormat = null;
        int at = headerLength;
        while (true)
        {
            // The extension area runs to the end of the first cluster; type 0 ends it.
            if (at + 8 > cluster.Length)
            {
                if (version == 3)
                {
                    throw new DiskImageException($"qcow2 header extensions run past the end of the first cluster (at byte {at})");
                }

                break; // version 2 images may end right after the 72-byte header
            }

            uint type = BinaryPrimitives.ReadUInt32BigEndian(cluster[at..]);
            if (type == 0)
            {
                break;
            }

            int length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cluster[(at + 4)..]), int.MaxValue);
            if (length > cluster.Length - at - 8)
            {
                throw new DiskImageException($"qcow2 header extension 0x{type:x8} at byte {at} runs past the end of the first cluster ({length} bytes)");
            }

            ReadOnlySpan<byte> data = cluster.Slice(at + 8, length);
            if (type == BackingFormatExtension)
            {
                backingFormat = Encoding.UTF8.GetString(data);
            }
            else if (type == FeatureNameTableExtension)
            {
                // 48-byte entries: type, bit number, a zero-padded name.
                for (int e = 0; e + 48 <= data.Length; e += 48)
                {
                    ReadOnlySpan<byte> name = data.Slice(e + 2, 46);
                    int end = name.IndexOf((byte)0);
                    names[(data[e], data[e + 1])] = Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
                }
            }

            at += 8 + ((length + 7) & ~7);
        }

        return (backingFormat, names, compressionType);
    }

    private static string? ReadBackingFileName(ReadOnlySpan<byte> h, ReadOnlySpan<byte> first, long clusterSize, long fileLength)
    {
        ulong offset = BinaryPrimitives.ReadUInt64BigEndian(h[8..]);
        if (offset == 0)
        {
            return null;
        }

        uint size = BinaryPrimitives.ReadUInt32BigEndian(h[16..]);
        if (size is 0 or > 1023)
        {
            throw new DiskImageException($"qcow2 backing_file_size {size} is outside 1..1023");
        }

        // The name lives in the first cluster, after the header extensions (qcow2.txt, "Header extensions").
        if (offset + size > (ulong)Math.Min(clusterSize, fileLength))
        {
            throw new DiskImageException($"qcow2 backing file name at byte {offset} ({size} bytes) runs past the first cluster or the end of the file");
        }

        return Encoding.UTF8.GetString(first.Slice((int)offset, (int)size));
    }

    private void CheckTables(long fileLength)
    {
        long cluster = ClusterSize;
        if (Size % 512 != 0)
        {
            throw new DiskImageException($"qcow2 virtual size {Size} is not a multiple of 512 (a disk holds whole sectors)");
        }

        // Every guest cluster needs an L1 entry: size <= l1_size * (clusters an L2 table maps) * cluster size.
        long bytesPerL1Entry = cluster * L2Entries;
        long neededL1 = (Size + bytesPerL1Entry - 1) / bytesPerL1Entry;
        if (L1Size < neededL1)
        {
            throw new DiskImageException($"qcow2 L1 table has {L1Size} entries, too few for a {Size}-byte disk (needs {neededL1})");
        }

        if ((long)L1Size * 8 > MaxL1Bytes)
        {
            throw new DiskImageException($"qcow2 L1 table has {L1Size} entries, above the 32 MiB limit");
        }

        if (L1Size > 0)
        {
            CheckArea("L1 table", L1TableOffset, (long)L1Size * 8, fileLength);
        }

        if (RefcountTableClusters == 0 || (long)RefcountTableClusters * cluster > MaxRefcountTableBytes)
        {
            throw new DiskImageException($"qcow2 refcount table of {RefcountTableClusters} clusters is empty or above the 8 MiB limit");
        }

        CheckArea("refcount table", RefcountTableOffset, RefcountTableClusters * cluster, fileLength);
    }

    /// <summary>Refuses a table that is not cluster-aligned or does not lie wholly inside the file.</summary>
    public void CheckArea(string what, long offset, long length, long fileLength)
    {
        if (offset % ClusterSize != 0)
        {
            throw new DiskImageException($"qcow2 {what} at 0x{offset:x} is not aligned to the {ClusterSize}-byte cluster size");
        }

        if (offset < ClusterSize)
        {
            throw new DiskImageException($"qcow2 {what} at 0x{offset:x} overlaps the header cluster");
        }

        if (offset > fileLength || length > fileLength - offset)
        {
            throw new DiskImageException($"qcow2 {what} at 0x{offset:x} ({length} bytes) runs past the end of the file ({fileLength} bytes)");
        }
    }
}
