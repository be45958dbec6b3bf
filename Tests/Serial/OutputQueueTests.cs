using Emulator.Backends.Chardev;
using Xunit;

namespace Emulator.Tests.Serial;

/// <summary>The writer thread between guest console output and its host sink (OutputQueue).</summary>
public sealed class OutputQueueTests
{
    [Fact]
    public void BytesWrittenOneAtATimeReachTheSinkWholeAndInOrder()
    {
        var received = new List<byte>();
        int calls = 0;
        byte[] expected = [.. Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7))];
        using (var queue = new OutputQueue(chunk => { lock (received) { received.AddRange(chunk.ToArray()); calls++; } return true; }, "test-output"))
        {
            foreach (byte b in expected)
            {
                queue.Write([b]); // as a UART's THR hands them over
            }
        }

        Assert.Equal(expected, received);
        Assert.True(calls < expected.Length, $"{calls} sink calls for {expected.Length} bytes: nothing was gathered");
    }

    [Fact]
    public void FlushWaitsUntilTheSinkHasEverything()
    {
        var received = new List<byte>();
        using var queue = new OutputQueue(chunk => { Thread.Sleep(20); lock (received) { received.AddRange(chunk.ToArray()); } return true; }, "test-output");
        queue.Write("console line\r\n"u8);
        queue.Flush();
        lock (received)
        {
            Assert.Equal("console line\r\n"u8.ToArray(), received);
        }
    }

    [Fact]
    public void ASinkThatDoesNotKeepUpHoldsTheWriterBack()
    {
        using var gate = new ManualResetEventSlim();
        long written = 0;
        var queue = new OutputQueue(chunk => { gate.Wait(); return true; }, "test-output");
        var writer = new Thread(() =>
        {
            byte[] block = new byte[4096];
            for (int i = 0; i < 64; i++)
            {
                queue.Write(block);
                Interlocked.Add(ref written, block.Length);
            }
        });
        writer.Start();

        // 256 KiB offered to a sink that takes nothing: the writer must stop at the queue's bound
        // (what the sink holds plus one buffer) instead of buffering it all.
        Thread.Sleep(300);
        Assert.True(writer.IsAlive, "the writer finished although the sink took nothing");
        Assert.True(Interlocked.Read(ref written) <= 160 * 1024, $"{Interlocked.Read(ref written)} bytes accepted without a sink");

        gate.Set();
        Assert.True(writer.Join(TimeSpan.FromSeconds(10)));
        queue.Dispose();
    }

    [Fact]
    public void ABrokenSinkDropsLaterOutputWithoutBlockingTheGuest()
    {
        int calls = 0;
        using var queue = new OutputQueue(_ => { Interlocked.Increment(ref calls); return false; }, "test-output");
        queue.Write("first"u8);
        queue.Flush();
        for (int i = 0; i < 100_000; i++)
        {
            queue.Write("more output nobody reads\n"u8); // 2.4 MB: would block at the bound if still queued
        }

        Assert.Equal(1, Volatile.Read(ref calls));
    }
}
