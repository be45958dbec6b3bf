using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>A line with nothing on the other end: output is discarded and no input ever arrives.</summary>
public sealed class NullSerialBackend : ISerialBackend
{
    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data)
    {
    }

    /// <inheritdoc/>
    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
