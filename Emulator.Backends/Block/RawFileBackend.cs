using Emulator.Core.Block;

namespace Emulator.Backends.Block;

/// <summary>
/// A raw disk image: byte N of the disk is byte N of the file. Reads and writes go straight to the
/// file with <see cref="RandomAccess"/> (no cache in emu), so a <see cref="Flush"/> or closing the
/// file is all durability needs. The caller opens and checks the file; this takes ownership of it.
/// </summary>
public sealed class RawFileBackend : IBlockBackend
{
    private readonly FileStream _image;

    /// <summary>Wraps an open image; <paramref name="readOnly"/> also holds when the stream cannot write.</summary>
    public RawFileBackend(FileStream image, bool readOnly)
    {
        _image = image;
        ReadOnly = readOnly || !image.CanWrite;
        Length = image.Length;
        Name = Path.GetFileName(image.Name);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public long Length { get; }

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <inheritdoc/>
    public void Read(Span<byte> buffer, long offset)
    {
        // A file shortened behind emu's back reads as zeros past its end rather than failing the guest.
        int got = RandomAccess.Read(_image.SafeFileHandle, buffer, offset);
        buffer[got..].Clear();
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data, long offset) => RandomAccess.Write(_image.SafeFileHandle, data, offset);

    /// <inheritdoc/>
    public void Flush()
    {
        if (_image.CanWrite)
        {
            _image.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _image.Dispose();
}
