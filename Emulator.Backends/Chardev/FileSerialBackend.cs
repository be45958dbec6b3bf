using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>Appends guest output to a file, creating it if needed; the guest receives no input.</summary>
public sealed class FileSerialBackend : ISerialBackend
{
    private readonly FileStream _file;
    private readonly OutputQueue _output;

    /// <summary>Opens <paramref name="path"/> for appending.</summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public FileSerialBackend(string path)
    {
        // Unbuffered, so the file can be followed while the guest runs (tail -f).
        // Written from a thread of its own (OutputQueue), so the vCPU does not wait for each byte.
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        _output = new OutputQueue(Append, "emu-serial-file");
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data) => _output.Write(data);

    /// <inheritdoc/>
    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _output.Dispose();
        _file.Dispose();
    }

    private bool Append(ReadOnlyMemory<byte> data)
    {
        try
        {
            _file.Write(data.Span);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A full disk or a closed file must not stop the guest; its console output is lost from here on.
            return false;
        }
    }
}
