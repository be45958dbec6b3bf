using System.Collections.Concurrent;
using System.Net.Sockets;
using Emulator.Backends.Chardev;
using Emulator.Devices.Char;
using Xunit;

namespace Emulator.Tests.Serial;

public sealed class SerialBackendTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("emu-serial-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void FileBackendCreatesTheFile()
    {
        string path = Path.Combine(_directory, "console.log");
        using (var backend = new FileSerialBackend(path))
        {
            backend.Write("boot\r\n"u8);
        }

        Assert.Equal("boot\r\n"u8.ToArray(), File.ReadAllBytes(path));
    }

    [Fact]
    public void FileBackendAppendsToAnExistingFile()
    {
        string path = Path.Combine(_directory, "console.log");
        File.WriteAllText(path, "old\n");
        using (var backend = new FileSerialBackend(path))
        {
            backend.Write("new\n"u8);
        }

        Assert.Equal("old\nnew\n", File.ReadAllText(path));
    }

    [Fact]
    public void UnixSocketBackendCarriesBothDirections()
    {
        string path = Path.Combine(_directory, "s");
        var received = new BlockingCollection<byte>();
        using var backend = new UnixSocketSerialBackend(path);
        backend.Start(data =>
        {
            foreach (byte b in data)
            {
                received.Add(b);
            }
        });

        using var client = Connect(path);
        client.Send("hi"u8);
        Assert.Equal("hi"u8.ToArray(), Take(received, 2));

        backend.Write("out"u8);
        Assert.Equal("out"u8.ToArray(), ReceiveExactly(client, 3));
    }

    [Fact]
    public void UnixSocketBackendDropsOutputWithoutAClientAndAcceptsTheNextOne()
    {
        string path = Path.Combine(_directory, "s");
        var received = new BlockingCollection<byte>();
        using var backend = new UnixSocketSerialBackend(path);
        backend.Start(data =>
        {
            foreach (byte b in data)
            {
                received.Add(b);
            }
        });

        backend.Write("lost"u8);
        using (var first = Connect(path))
        {
            first.Send("1"u8);
            Take(received, 1);
        }

        Assert.True(SpinWait.SpinUntil(() => !backend.HasClient, TimeSpan.FromSeconds(10)));
        backend.Write("lost too"u8);

        using var second = Connect(path);
        second.Send("2"u8);
        Assert.Equal("2"u8.ToArray(), Take(received, 1));
        backend.Write("kept"u8);
        Assert.Equal("kept"u8.ToArray(), ReceiveExactly(second, 4));
    }

    [Fact]
    public void UnixSocketBackendReplacesAStaleSocketAndRemovesItsOwn()
    {
        string path = Path.Combine(_directory, "s");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the path a socket was bound to when it is disposed; a crashed emulator
            // would not, so move the socket file out of its reach.
            string bound = Path.Combine(_directory, "t");
            stale.Bind(new UnixDomainSocketEndPoint(bound));
            File.Move(bound, path);
        }

        Assert.True(File.Exists(path));
        using (var backend = new UnixSocketSerialBackend(path))
        {
            backend.Start(_ => { });
            using var client = Connect(path);
        }

        Assert.False(File.Exists(path));
    }

    [Fact]
    public void UnixSocketBackendRefusesToReplaceARegularFile()
    {
        string path = Path.Combine(_directory, "not-a-socket");
        File.WriteAllText(path, "keep me");

        Assert.Throws<IOException>(() => new UnixSocketSerialBackend(path));
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    [Fact]
    public void UartOutputReachesAUnixSocketClient()
    {
        string path = Path.Combine(_directory, "s");
        using var backend = new UnixSocketSerialBackend(path);
        var deviceLock = new Lock();
        var uart = new Uart16550("uart16550@0x3f8", deviceLock, new RecordingLine(), backend);
        backend.Start(uart.Receive);

        using var client = Connect(path);
        client.Send("k"u8);
        Assert.True(SpinWait.SpinUntil(() => Read(uart, deviceLock, 5) == 0x61, TimeSpan.FromSeconds(10)));
        Assert.Equal((byte)'k', Read(uart, deviceLock, 0));

        Write(uart, deviceLock, 0, (byte)'!');
        Assert.Equal("!"u8.ToArray(), ReceiveExactly(client, 1));
    }

    [Fact]
    public void StdioEscapesAreInterpreted()
    {
        int quits = 0;
        using var backend = new StdioSerialBackend(() => quits++);
        byte[] output = new byte[16];

        int n = backend.FilterEscapes("a\u0001\u0001b\u0001qc"u8, output);
        Assert.Equal("a\u0001bc"u8.ToArray(), output[..n]);
        Assert.Equal(0, quits);

        // A command split across two reads still counts.
        Assert.Equal(0, backend.FilterEscapes("\u0001"u8, output));
        Assert.Equal(0, backend.FilterEscapes("x"u8, output));
        Assert.Equal(1, quits);
    }

    private static Socket Connect(string path)
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        client.Connect(new UnixDomainSocketEndPoint(path));
        return client;
    }

    private static byte[] Take(BlockingCollection<byte> source, int count)
    {
        byte[] result = new byte[count];
        for (int i = 0; i < count; i++)
        {
            Assert.True(source.TryTake(out result[i], TimeSpan.FromSeconds(10)));
        }

        return result;
    }

    private static byte[] ReceiveExactly(Socket socket, int count)
    {
        byte[] result = new byte[count];
        int done = 0;
        while (done < count)
        {
            int n = socket.Receive(result.AsSpan(done));
            Assert.NotEqual(0, n);
            done += n;
        }

        return result;
    }

    private static byte Read(Uart16550 uart, Lock deviceLock, ulong offset)
    {
        Span<byte> b = stackalloc byte[1];
        lock (deviceLock)
        {
            uart.Read(offset, b);
        }

        return b[0];
    }

    private static void Write(Uart16550 uart, Lock deviceLock, ulong offset, byte value)
    {
        lock (deviceLock)
        {
            uart.Write(offset, [value]);
        }
    }
}
