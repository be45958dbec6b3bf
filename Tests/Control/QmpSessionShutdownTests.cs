using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Emulator.Control.Qmp;
using Xunit;

namespace Emulator.Tests.Control;

/// <summary>
/// A QMP session closed and disposed at shutdown (what <c>quit</c> leads to) while its reader is
/// still inside a command: the reader must end cleanly afterwards. It used to complete the session's
/// outbox after Dispose had disposed it, and the ObjectDisposedException on that thread ended emu
/// with status 134; on a loaded host the reader, woken by the closed socket, ran after Dispose often
/// enough to fail CI. A command that waits for the test decides the order here.
/// </summary>
public sealed class QmpSessionShutdownTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qmp-session").FullName;
    private readonly ManualResetEventSlim _entered = new();
    private readonly ManualResetEventSlim _release = new();
    private readonly ManualResetEventSlim _readerEnded = new();

    public void Dispose()
    {
        _release.Set();
        _entered.Dispose();
        _readerEnded.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ACommandThatEndsWhileDisposeWaitsLetsTheReaderEndCleanly()
    {
        (QmpSession session, Socket client) = StartHeld();
        using (client)
        {
            session.Close(TimeSpan.FromMilliseconds(50));
            var dispose = new Thread(session.Dispose);
            dispose.Start();
            Thread.Sleep(100);
            _release.Set();
            Assert.True(_readerEnded.Wait(TimeSpan.FromSeconds(30)), "the reader did not end");
            Assert.True(dispose.Join(TimeSpan.FromSeconds(30)), "Dispose did not return");
            AssertClosedAfterCapabilities(client);
        }
    }

    [Fact]
    public void ACommandThatOutlastsDisposeLetsTheReaderEndCleanlyLater()
    {
        (QmpSession session, Socket client) = StartHeld();
        using (client)
        {
            session.Close(TimeSpan.FromMilliseconds(50));
            session.Dispose();
            Assert.False(_readerEnded.IsSet);
            _release.Set();
            Assert.True(_readerEnded.Wait(TimeSpan.FromSeconds(30)), "the reader did not end");
            AssertClosedAfterCapabilities(client);
        }
    }

    // A session whose client negotiated and sent "hold", a command that runs until the test releases it.
    private (QmpSession Session, Socket Client) StartHeld()
    {
        var table = new QmpCommandTable();
        table.Add("hold", [], (_, _) =>
        {
            _entered.Set();
            _release.Wait();
            return new JsonObject();
        });

        // The session touches neither the machine nor its kernel symbols for these two commands.
        var context = new QmpContext(null!, new InstanceFacts(), table, null!, null!);
        string path = Path.Combine(_dir, "s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30_000 };
        client.Connect(new UnixDomainSocketEndPoint(path));
        var session = new QmpSession(listener.Accept(), context, _ => _readerEnded.Set());
        session.Start();
        client.Send(Encoding.UTF8.GetBytes("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"hold\"}\n"));
        Assert.True(_entered.Wait(TimeSpan.FromSeconds(30)), "the held command did not start");
        return (session, client);
    }

    // What the client got: the greeting and the capabilities reply, then the end of the stream (the
    // held command's reply came after the session had closed).
    private static void AssertClosedAfterCapabilities(Socket client)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = client.Receive(buffer)) > 0)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        string[] lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.NotNull(JsonNode.Parse(lines[0])!["QMP"]);
        Assert.Equal("{}", JsonNode.Parse(lines[1])!["return"]!.ToJsonString());
    }
}
