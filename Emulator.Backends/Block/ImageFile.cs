namespace Emulator.Backends.Block;

/// <summary>
/// The host file under an image format: positioned reads and writes and a durability barrier.
/// Image formats with metadata (qcow2) write through this so that tests can stop the writes at any
/// step and look at what a crash would have left.
/// </summary>
internal interface IImageFile : IDisposable
{
    /// <summary>The file's path, for messages and for finding a backing file next to it.</summary>
    string Path { get; }

    /// <summary>The file's current length in bytes.</summary>
    long Length { get; }

    /// <summary>True when the file was opened for writing.</summary>
    bool CanWrite { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; returns fewer only at the end of the file.</summary>
    int Read(Span<byte> buffer, long offset);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>, growing the file when it ends past it.</summary>
    void Write(ReadOnlySpan<byte> data, long offset);

    /// <summary>Grows the file to <paramref name="length"/> bytes (the new part reads as zeros); never shrinks it.</summary>
    void Extend(long length);

    /// <summary>Makes every earlier write durable (fdatasync): the ordering barrier between metadata steps.</summary>
    void Sync();
}

/// <summary>An <see cref="IImageFile"/> over an open <see cref="FileStream"/> (which it owns), with no cache in emu.</summary>
internal sealed class HostImageFile : IImageFile
{
    private readonly FileStream _stream;
    private long _length;

    public HostImageFile(FileStream stream)
    {
        _stream = stream;
        _length = RandomAccess.GetLength(stream.SafeFileHandle);
    }

    public string Path => _stream.Name;

    public long Length => _length;

    public bool CanWrite => _stream.CanWrite;

    public int Read(Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int got = RandomAccess.Read(_stream.SafeFileHandle, buffer[total..], offset + total);
            if (got == 0)
            {
                break;
            }

            total += got;
        }

        return total;
    }

    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        RandomAccess.Write(_stream.SafeFileHandle, data, offset);
        _length = Math.Max(_length, offset + data.Length);
    }

    public void Extend(long length)
    {
        if (length > _length)
        {
            RandomAccess.SetLength(_stream.SafeFileHandle, length);
            _length = length;
        }
    }

    public void Sync() => _stream.Flush(flushToDisk: true);

    public void Dispose() => _stream.Dispose();
}
