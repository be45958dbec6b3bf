namespace Emulator.Core.Block;

/// <summary>
/// The host end of a disk: a disk image format (raw today) as a block device model sees it, a
/// byte-addressed array of <see cref="Length"/> bytes. The model checks every guest request against
/// <see cref="Length"/> before it calls; the backend does no caching of its own.
/// </summary>
public interface IBlockBackend : IDisposable
{
    /// <summary>A short name for the disk (the image's file name), for serial numbers and messages.</summary>
    string Name { get; }

    /// <summary>The disk's size in bytes as the guest sees it.</summary>
    long Length { get; }

    /// <summary>True when the image cannot be written.</summary>
    bool ReadOnly { get; }

    /// <summary>Fills <paramref name="buffer"/> from byte <paramref name="offset"/> of the disk. Throws <see cref="IOException"/> when the host fails.</summary>
    void Read(Span<byte> buffer, long offset);

    /// <summary>Writes <paramref name="data"/> at byte <paramref name="offset"/> of the disk. Throws <see cref="IOException"/> when the host fails.</summary>
    void Write(ReadOnlySpan<byte> data, long offset);

    /// <summary>Makes every earlier write durable (fsync). Throws <see cref="IOException"/> when the host fails.</summary>
    void Flush();
}
