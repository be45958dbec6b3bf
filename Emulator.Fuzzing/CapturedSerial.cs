using System.Text;
using Emulator.Core.Chardev;

namespace Emulator.Fuzzing;

/// <summary>COM1's output kept in memory (the known program's PASS/FAIL lines); no host input.</summary>
internal sealed class CapturedSerial : ISerialBackend
{
    private readonly Lock _lock = new();
    private readonly StringBuilder _text = new();

    /// <summary>Everything the guest sent, as Latin-1 text.</summary>
    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            // A guest can send without end: keep the first megabyte, which holds any report.
            if (_text.Length < (1 << 20))
            {
                _text.Append(Encoding.Latin1.GetString(data));
            }
        }
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
