using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// A test's own QMP connection: raw JSON text over a Unix socket, nothing of emu's code. Sends a
/// text, collects the events that arrive, and returns the first reply (an object with "return" or
/// "error").
/// </summary>
internal sealed class RawQmp : IDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _pending = new();
    private readonly byte[] _buffer = new byte[1 << 16];

    private RawQmp(Socket socket) => _socket = socket;

    /// <summary>The greeting.</summary>
    public JsonObject Greeting { get; private set; } = [];

    /// <summary>Every event received so far, in order.</summary>
    public List<JsonObject> Events { get; } = [];

    /// <summary>Connects as soon as the socket accepts (the emulator may still be starting) and reads the greeting.</summary>
    public static RawQmp Connect(string path, TimeSpan timeout, Func<bool>? gaveUp = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 20_000 };
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                var qmp = new RawQmp(socket);
                qmp.Greeting = qmp.Read() ?? throw new IOException("no greeting");
                return qmp;
            }
            catch (SocketException) when (watch.Elapsed < timeout && gaveUp?.Invoke() != true)
            {
                socket.Dispose();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Sends <paramref name="raw"/> (a newline is added) and returns the reply, collecting events before it.</summary>
    public JsonObject Send(string raw)
    {
        SendRaw(raw + "\n");
        return NextReply();
    }

    /// <summary>Sends bytes as they are.</summary>
    public void SendRaw(string raw) => _socket.Send(Encoding.UTF8.GetBytes(raw));

    /// <summary>Reads messages up to the next reply, keeping events.</summary>
    public JsonObject NextReply()
    {
        while (true)
        {
            JsonObject message = Read() ?? throw new IOException("the connection closed before a reply");
            if (message["event"] is null)
            {
                return message;
            }

            Events.Add(message);
        }
    }

    /// <summary>Reads (keeping events) until an event that <paramref name="match"/> accepts has come; throws when the connection closes first.</summary>
    public void WaitForEvent(Func<JsonObject, bool> match)
    {
        while (!Events.Any(match))
        {
            JsonObject message = Read() ?? throw new IOException("the connection closed before the event");
            Assert.True(message["event"] is not null, $"a reply nobody asked for: {message.ToJsonString()}");
            Events.Add(message);
        }
    }

    /// <summary>Reads until the server closes the connection (or the timeout), keeping events.</summary>
    public void ReadUntilClosed()
    {
        try
        {
            while (Read() is { } message)
            {
                if (message["event"] is not null)
                {
                    Events.Add(message);
                }
            }
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();

    private JsonObject? Read()
    {
        while (true)
        {
            string text = _pending.ToString();
            int newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0)
            {
                _pending.Remove(0, newline + 1);
                if (text[..newline].Trim().Length == 0)
                {
                    continue;
                }

                return (JsonObject)JsonNode.Parse(text[..newline])!;
            }

            int n = _socket.Receive(_buffer);
            if (n == 0)
            {
                return null;
            }

            _pending.Append(Encoding.UTF8.GetString(_buffer, 0, n));
        }
    }
}
