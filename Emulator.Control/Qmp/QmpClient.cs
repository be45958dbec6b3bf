using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp;

/// <summary>
/// A small synchronous QMP client for emu's own tools (<c>emu list</c>, <c>emu perf</c>): connects,
/// reads the greeting, negotiates capabilities, then runs commands one at a time, skipping events.
/// </summary>
public sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[65536];
    private readonly StringBuilder _pending = new();
    // Keeps a UTF-8 sequence split across two reads whole.
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly char[] _chars = new char[65536];

    private QmpClient(Socket socket) => _socket = socket;

    /// <summary>The greeting the server sent.</summary>
    public JsonObject Greeting { get; private set; } = [];

    /// <summary>Connects to <paramref name="path"/> and negotiates; throws <see cref="SocketException"/> when nothing listens, <see cref="IOException"/> when the server does not answer in time.</summary>
    public static QmpClient Connect(string path, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            var client = new QmpClient(socket);
            client.Greeting = client.ReadMessage();
            client.Execute("qmp_capabilities");
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command and returns its <c>return</c> value; a QMP error becomes a <see cref="QmpException"/>.</summary>
    public JsonNode Execute(string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = arguments;
        }

        byte[] bytes = Encoding.UTF8.GetBytes(request.ToJsonString() + "\n");
        _socket.Send(bytes);
        while (true)
        {
            JsonObject reply = ReadMessage();
            if (reply["event"] is not null)
            {
                continue;
            }

            if (reply["error"] is JsonObject error)
            {
                throw new QmpException(error["class"]?.GetValue<string>() ?? QmpException.GenericError, error["desc"]?.GetValue<string>() ?? "error");
            }

            return reply["return"] ?? new JsonObject();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();

    // The server sends one JSON text per line.
    private JsonObject ReadMessage()
    {
        while (true)
        {
            string text = _pending.ToString();
            int newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0)
            {
                _pending.Remove(0, newline + 1);
                if (JsonNode.Parse(text[..newline]) is JsonObject message)
                {
                    return message;
                }

                continue;
            }

            int n;
            try
            {
                n = _socket.Receive(_buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                throw new IOException("the control socket did not answer in time", e);
            }

            if (n == 0)
            {
                throw new IOException("the control socket closed the connection");
            }

            int count = _utf8.GetChars(_buffer, 0, n, _chars, 0);
            _pending.Append(_chars, 0, count);
        }
    }
}
