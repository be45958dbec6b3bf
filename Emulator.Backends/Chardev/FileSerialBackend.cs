using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>Appends guest output to a file, creating it if needed; the guest receives no input.</summary>
public sealed class FileSerialBackend : ISerialBackend
{
    private readonly FileStream _file;
    private bool _failed;

    /// <summary>Opens <paramref name="path"/> for appending.</summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public FileSerialBackend(string path)
    {
        // Unbuffered, so the file can be followed while the guest runs (tail -f).
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (_failed)
        {
            return;
        }

        try
        {
            _file.Write(data);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A full disk or a closed file must not stop the guest; its console output is lost from here on.
            _failed = true;
        }
    }

    /// <inheritdoc/>
    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
