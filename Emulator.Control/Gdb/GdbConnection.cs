using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Emulator.Control.Gdb;

/// <summary>
/// The packet layer of gdb's remote serial protocol over one socket (gdb manual, "Overview" of the
/// remote protocol): <c>$data#cs</c> packets with a modulo-256 checksum, <c>+</c>/<c>-</c>
/// acknowledgements until QStartNoAckMode, a lone 0x03 byte for an interrupt (Ctrl-C), and the
/// <c>}</c> escape for binary data. Reads happen on one thread; sends may come from any thread.
/// </summary>
internal sealed class GdbConnection(Socket socket) : IDisposable
{
    // A packet longer than this is refused (gdb sends at most what PacketSize allows, plus escapes).
    public const int MaxPacket = 0x20000;

    private readonly Lock _sendLock = new();
    private readonly byte[] _buffer = new byte[16384];
    private int _start;
    private int _end;
    private string _lastSent = string.Empty;

    /// <summary>What the reader found next.</summary>
    public enum Kind
    {
        /// <summary>A packet with a good checksum.</summary>
        Packet,
        /// <summary>The interrupt byte (Ctrl-C).</summary>
        Interrupt,
        /// <summary>The connection closed.</summary>
        Closed,
    }

    /// <summary>True once both sides dropped acknowledgements.</summary>
    public bool NoAck { get; set; }

    /// <summary>Reads up to the next packet or interrupt; bad checksums are answered with <c>-</c> and skipped.</summary>
    public (Kind Kind, byte[] Data) Receive()
    {
        while (true)
        {
            int c = NextByte();
            switch (c)
            {
                case < 0:
                    return (Kind.Closed, []);
                case 0x03:
                    return (Kind.Interrupt, []);
                case '+':
                    continue;
                case '-':
                    // gdb did not get our last packet intact: send it again.
                    lock (_sendLock)
                    {
                        SendRaw(_lastSent);
                    }

                    continue;
                case '$':
                    if (ReadPacketBody() is { } data)
                    {
                        return (Kind.Packet, data);
                    }

                    continue;
                default:
                    continue; // noise between packets
            }
        }
    }

    /// <summary>Sends a packet (ASCII text; binary must already be escaped with <see cref="Escape"/>).</summary>
    public void Send(string data)
    {
        byte sum = 0;
        foreach (char ch in data)
        {
            sum += (byte)ch;
        }

        string packet = $"${data}#{sum:x2}";
        lock (_sendLock)
        {
            _lastSent = packet;
            SendRaw(packet);
        }
    }

    /// <summary>
    /// Before the stub closes the connection after its last reply (detach, kill), waits up to
    /// <paramref name="timeout"/> for gdb's acknowledgement of it, resending on <c>-</c>, so gdb's
    /// <c>+</c> does not meet a closed socket; returns at once in no-ack mode or when gdb closes.
    /// </summary>
    public void AwaitLastAcknowledgement(TimeSpan timeout)
    {
        if (NoAck)
        {
            return;
        }

        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            if (_start == _end)
            {
                long left = deadline - Environment.TickCount64;
                try
                {
                    if (left <= 0 || !socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectRead))
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }

            switch (NextByte())
            {
                case < 0 or '+':
                    return;
                case '-':
                    lock (_sendLock)
                    {
                        SendRaw(_lastSent);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>Escapes bytes for a binary reply (qXfer): <c>#</c>, <c>$</c>, <c>}</c> and <c>*</c> become <c>}</c> and the byte XOR 0x20.</summary>
    public static string Escape(ReadOnlySpan<byte> data)
    {
        var b = new StringBuilder(data.Length);
        foreach (byte x in data)
        {
            if (x is (byte)'#' or (byte)'$' or (byte)'}' or (byte)'*')
            {
                b.Append('}').Append((char)(x ^ 0x20));
            }
            else
            {
                b.Append((char)x);
            }
        }

        return b.ToString();
    }

    /// <summary>Undoes <see cref="Escape"/> (X packets carry escaped binary).</summary>
    public static byte[] Unescape(ReadOnlySpan<byte> data)
    {
        var bytes = new List<byte>(data.Length);
        for (int i = 0; i < data.Length; i++)
        {
            bytes.Add(data[i] == '}' && i + 1 < data.Length ? (byte)(data[++i] ^ 0x20) : data[i]);
        }

        return [.. bytes];
    }

    /// <inheritdoc/>
    public void Dispose() => socket.Dispose();

    private byte[]? ReadPacketBody()
    {
        var body = new List<byte>();
        while (true)
        {
            int c = NextByte();
            if (c < 0)
            {
                return null;
            }

            if (c == '#')
            {
                break;
            }

            if (body.Count >= MaxPacket)
            {
                return null;
            }

            body.Add((byte)c);
        }

        int hi = NextByte();
        int lo = NextByte();
        byte sum = 0;
        foreach (byte x in body)
        {
            sum += x;
        }

        bool good = hi >= 0 && lo >= 0
            && byte.TryParse($"{(char)hi}{(char)lo}", NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte expected)
            && expected == sum;
        if (!NoAck)
        {
            lock (_sendLock)
            {
                SendRaw(good ? "+" : "-");
            }
        }

        return good ? [.. body] : null;
    }

    private int NextByte()
    {
        if (_start == _end)
        {
            try
            {
                _end = socket.Receive(_buffer);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return -1;
            }

            _start = 0;
            if (_end <= 0)
            {
                _end = 0;
                return -1;
            }
        }

        return _buffer[_start++];
    }

    private void SendRaw(string text)
    {
        try
        {
            socket.Send(Encoding.Latin1.GetBytes(text));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The debugger went away; the reader sees it next.
        }
    }
}
