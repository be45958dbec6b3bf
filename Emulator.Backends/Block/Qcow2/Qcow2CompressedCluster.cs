using System.IO.Compression;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// Reads compressed clusters (qcow2.txt, "Compressed Clusters Descriptor"). With compression type
/// zlib (0) the data is a raw deflate stream (RFC 1951, no zlib header), which stops once it has
/// produced one cluster; the last sector may be shared with the next compressed cluster. The most
/// recent cluster is kept, since a guest reads one in several pieces.
/// </summary>
internal sealed class Qcow2CompressedCluster
{
    private readonly IImageFile _file;
    private readonly int _clusterBits;
    private readonly byte[] _cluster;
    private ulong _cachedEntry;

    public Qcow2CompressedCluster(IImageFile file, int clusterBits)
    {
        _file = file;
        _clusterBits = clusterBits;
        _cluster = new byte[1 << clusterBits];
    }

    /// <summary>The decompressed cluster that L2 entry <paramref name="entry"/> describes. Throws <see cref="IOException"/> when it does not inflate to a whole cluster.</summary>
    public ReadOnlySpan<byte> Read(ulong entry)
    {
        if (entry == _cachedEntry)
        {
            return _cluster;
        }

        _cachedEntry = 0;
        (long offset, long length) = Qcow2L2Entry.CompressedRange(entry, _clusterBits);
        length = Math.Min(length, _file.Length - offset);
        byte[] compressed = new byte[Math.Max(0, length)];
        int got = _file.Read(compressed, offset);
        int produced;
        try
        {
            using var source = new MemoryStream(compressed, 0, got, writable: false);
            using var inflate = new DeflateStream(source, CompressionMode.Decompress);
            produced = inflate.ReadAtLeast(_cluster, _cluster.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new IOException($"qcow2 compressed cluster at 0x{offset:x} is not valid deflate data: {e.Message}", e);
        }

        if (produced != _cluster.Length)
        {
            throw new IOException($"qcow2 compressed cluster at 0x{offset:x} inflates to {produced} bytes, not a {_cluster.Length}-byte cluster");
        }

        _cachedEntry = entry;
        return _cluster;
    }
}
