namespace Emulator.Core.Chardev;

/// <summary>The host end of a serial line: where guest output goes and where host input comes from.</summary>
public interface ISerialBackend : IDisposable
{
    /// <summary>Sends guest output to the host. Called under the machine's device lock; must not throw for host I/O errors.</summary>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>Begins delivering host input to <paramref name="onInput"/>, from a thread of the backend's own.</summary>
    void Start(Action<ReadOnlySpan<byte>> onInput);
}
