using System.Net.Sockets;
using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>Turns a <c>--serial</c> value (<c>stdio</c>, <c>file:PATH</c>, <c>unix:PATH</c>, <c>null</c>) into a backend.</summary>
public static class SerialBackendSpec
{
    private const string Expected = "expected stdio, file:PATH, unix:PATH or null";

    /// <summary>Creates the backend that <paramref name="value"/> names.</summary>
    /// <param name="value">The option value.</param>
    /// <param name="quit">Called when the user asks to quit from the terminal (stdio only).</param>
    /// <param name="option">The option's name, for messages.</param>
    /// <exception cref="ArgumentException">The value is malformed, or its file or socket cannot be opened; the message says which.</exception>
    public static ISerialBackend Parse(string value, Action quit, string option = "--serial")
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new ArgumentException($"{option}: empty value ({Expected})");
        }

        switch (value)
        {
            case "stdio":
                return new StdioSerialBackend(quit);
            case "null":
                return new NullSerialBackend();
            default:
                break;
        }

        int colon = value.IndexOf(':', StringComparison.Ordinal);
        string kind = colon < 0 ? value : value[..colon];
        string path = colon < 0 ? "" : value[(colon + 1)..];
        if (kind is not ("file" or "unix"))
        {
            throw new ArgumentException($"{option}: unknown backend '{value}' ({Expected})");
        }

        if (path.Length == 0)
        {
            throw new ArgumentException($"{option}: '{value}' has no path (expected {kind}:PATH)");
        }

        try
        {
            return kind == "file" ? new FileSerialBackend(path) : new UnixSocketSerialBackend(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
        {
            throw new ArgumentException($"{option}: cannot open '{value}': {e.Message}", e);
        }
    }
}
