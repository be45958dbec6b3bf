using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp;

/// <summary>
/// One client connection: the greeting, capabilities negotiation, then commands and events as JSON
/// texts, one reply per command. A reader thread parses and runs commands (each waits for the
/// machine's thread, so a slow command delays only this client); a writer thread sends. Nothing the
/// machine does waits for a client: events go into a bounded queue, and a client that lets
/// <see cref="MaxQueued"/> messages pile up unread is disconnected.
/// </summary>
internal sealed class QmpSession : IDisposable
{
    /// <summary>Messages waiting for a client before it is considered gone.</summary>
    public const int MaxQueued = 4096;

    /// <summary>How long <see cref="Dispose"/> waits for the session's threads.</summary>
    public static readonly TimeSpan ThreadEndTimeout = TimeSpan.FromSeconds(2);

    // Monitor text holds quotes and '+'; escaping only what JSON requires keeps replies readable.
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Socket _socket;
    private readonly QmpContext _context;
    private readonly Action<QmpSession> _onClosed;
    private readonly BlockingCollection<string> _outbox = new(MaxQueued);
    private readonly QmpMessageSplitter _splitter = new();
    private readonly Thread _reader;
    private readonly Thread _writer;
    private volatile bool _negotiated;
    private volatile bool _closed;
    private int _shut;
    private bool _started;
    // True while the reader runs a command: closing waits for its reply (a quit's {} must reach the client).
    private volatile bool _busy;

    public QmpSession(Socket socket, QmpContext context, Action<QmpSession> onClosed)
    {
        _socket = socket;
        _context = context;
        _onClosed = onClosed;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "emu-qmp-read" };
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "emu-qmp-write" };
    }

    /// <summary>Sends the greeting and starts serving.</summary>
    public void Start()
    {
        _started = true;
        Send(Greeting(_context.Instance));
        _writer.Start();
        _reader.Start();
    }

    /// <summary>Queues an event; clients get events only after capabilities negotiation, as in QEMU.</summary>
    public void PostEvent(JsonObject e)
    {
        if (_negotiated)
        {
            Send(e);
        }
    }

    /// <summary>Stops reading, sends what is queued (for at most <paramref name="timeout"/>), then closes.</summary>
    public void Close(TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (_busy && !_closed && watch.Elapsed < timeout)
        {
            Thread.Sleep(5);
        }

        _outbox.CompleteAdding();
        if (Thread.CurrentThread != _writer && _writer.IsAlive)
        {
            _writer.Join(timeout);
        }

        Shut();
    }

    /// <summary>
    /// Closes the connection and waits (at most <see cref="ThreadEndTimeout"/>) for the reader and
    /// writer to end. The outbox is theirs until then: it is disposed only once neither can touch it.
    /// </summary>
    /// <remarks>
    /// The race this closes (seen as exit status 134 after <c>quit</c> on a loaded host): the server
    /// closed a session and disposed its outbox at once, while the session's reader, woken by the
    /// closed socket, had not yet run; it then completed the disposed outbox, and the
    /// ObjectDisposedException ended the process. A reader still busy after the timeout (a command
    /// that takes long) keeps the outbox, which holds no operating-system resource, to the GC.
    /// </remarks>
    public void Dispose()
    {
        Shut();
        bool ended = !_started || (EndOf(_reader) & EndOf(_writer));
        if (ended)
        {
            _outbox.Dispose();
        }
    }

    // True when the thread has ended (or is the calling one, which is on its way out: the reader
    // disposes its own session last thing, through the server's Forget).
    private static bool EndOf(Thread thread) => Thread.CurrentThread == thread || thread.Join(ThreadEndTimeout);

    /// <summary>QEMU's greeting: the version and the capabilities the client may enable (none here).</summary>
    public static JsonObject Greeting(InstanceFacts instance) => new()
    {
        ["QMP"] = new JsonObject
        {
            ["version"] = Commands.InfoCommands.Version(instance),
            ["capabilities"] = new JsonArray(),
        },
    };

    private void ReadLoop()
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (!_closed)
            {
                int n = _socket.Receive(buffer);
                if (n == 0)
                {
                    break;
                }

                foreach (QmpMessageSplitter.Piece piece in _splitter.Feed(buffer.AsSpan(0, n)))
                {
                    _busy = true;
                    try
                    {
                        Send(piece.Text is { } text ? Handle(text) : Error(null, QmpException.GenericError, piece.Error!));
                    }
                    finally
                    {
                        _busy = false;
                    }
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away, or the session is closing.
        }

        // Dispose waits for this thread before it disposes the outbox, so completing it here is safe.
        _outbox.CompleteAdding();
        _onClosed(this);
    }

    private JsonObject Handle(string text)
    {
        JsonNode? input;
        try
        {
            input = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            return Error(null, QmpException.GenericError, $"JSON parse error, {FirstSentence(e.Message)}");
        }

        if (input is not JsonObject request)
        {
            return Error(null, QmpException.GenericError, "QMP input must be a JSON object");
        }

        JsonNode? id = request["id"]?.DeepClone();
        try
        {
            (string name, JsonObject arguments) = Validate(request);
            return Reply(id, Execute(name, arguments));
        }
        catch (QmpException e)
        {
            return Error(id, e.ErrorClass, e.Message);
        }
        catch (MachineStoppedException e)
        {
            return Error(id, QmpException.GenericError, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or NotSupportedException)
        {
            // A command that failed in a way nobody foresaw (a vCPU call that threw, a host file):
            // the client gets an error, the user one line, and neither this connection nor the
            // reader thread (whose exception would end emu) goes down with it.
            string name = request["execute"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "?";
            Console.Error.WriteLine($"emu: QMP command {name} failed: {e.GetType().Name}: {e.Message}");
            return Error(id, QmpException.GenericError, e.Message);
        }
    }

    // The members of a command (QEMU's qmp-dispatch.c rules): execute (a string), arguments (an
    // object), id (anything); nothing else.
    private static (string Name, JsonObject Arguments) Validate(JsonObject request)
    {
        foreach ((string key, _) in request)
        {
            if (key is not ("execute" or "arguments" or "id"))
            {
                throw new QmpException($"QMP input member '{key}' is unexpected");
            }
        }

        JsonNode execute = request["execute"] ?? throw new QmpException("QMP input lacks member 'execute'");
        if (execute is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            throw new QmpException("QMP input member 'execute' must be a string");
        }

        JsonNode? arguments = request["arguments"];
        if (arguments is not (null or JsonObject))
        {
            throw new QmpException("QMP input member 'arguments' must be an object");
        }

        return (v.GetValue<string>(), (JsonObject?)arguments?.DeepClone() ?? []);
    }

    private JsonNode Execute(string name, JsonObject arguments)
    {
        if (name == "qmp_capabilities")
        {
            if (_negotiated)
            {
                throw new QmpException(QmpException.CommandNotFound, "Capabilities negotiation is already complete, command ignored");
            }

            CheckCapabilities(arguments);
            _negotiated = true;
            return new JsonObject();
        }

        if (!_negotiated)
        {
            throw new QmpException(QmpException.CommandNotFound, "Expecting capabilities negotiation with 'qmp_capabilities'");
        }

        return _context.Commands.Execute(_context, name, arguments);
    }

    // qmp_capabilities may ask to enable capabilities; emu offers none (out-of-band execution is QEMU's).
    private static void CheckCapabilities(JsonObject arguments)
    {
        foreach ((string key, JsonNode? value) in arguments)
        {
            if (key != "enable")
            {
                throw new QmpException($"Parameter '{key}' is unexpected");
            }

            if (value is not JsonArray list)
            {
                throw new QmpException("Invalid parameter type for 'enable', expected: array");
            }

            if (list.Count > 0)
            {
                throw new QmpException($"Capability '{list[0]}' not available");
            }
        }
    }

    private static JsonObject Reply(JsonNode? id, JsonNode value)
    {
        var reply = new JsonObject { ["return"] = value };
        if (id is not null)
        {
            reply["id"] = id;
        }

        return reply;
    }

    private static JsonObject Error(JsonNode? id, string errorClass, string description)
    {
        var reply = new JsonObject();
        if (id is not null)
        {
            reply["id"] = id;
        }

        reply["error"] = new JsonObject { ["class"] = errorClass, ["desc"] = description };
        return reply;
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }

    private void Send(JsonObject message)
    {
        if (_closed || _outbox.IsAddingCompleted)
        {
            return;
        }

        try
        {
            if (!_outbox.TryAdd(message.ToJsonString(Output) + "\r\n"))
            {
                // The client reads nothing: drop it rather than let its messages grow without bound.
                Shut();
            }
        }
        catch (InvalidOperationException)
        {
            // Completed meanwhile: the session is closing.
        }
    }

    private void WriteLoop()
    {
        try
        {
            foreach (string text in _outbox.GetConsumingEnumerable())
            {
                byte[] bytes = Encoding.UTF8.GetBytes(text);
                int sent = 0;
                while (sent < bytes.Length)
                {
                    sent += _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Shut();
        }
    }

    // Any thread: the reader or writer on a broken connection, the machine's thread dropping a client
    // that reads nothing, the server closing. Only the first closes the socket.
    private void Shut()
    {
        _closed = true;
        if (Interlocked.Exchange(ref _shut, 1) == 1)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _socket.Close();
    }
}
