namespace Emulator.Backends.Chardev;

/// <summary>
/// Guest output on its way to a host sink (a descriptor, a file), written by a thread of its own.
/// A guest console sends one byte per OUT instruction: written straight from the vCPU, each byte
/// was one write(2), a few microseconds each on a virtualised host and taken under the machine's
/// device lock (a boot log of 23 KB cost the vCPU about 0.1 s). Here the vCPU only copies the byte;
/// the writer wakes once per burst and writes what has gathered meanwhile in one call, in order.
/// The queue is bounded: a sink that does not keep up (a full pipe) holds the guest back, as the
/// direct write did, instead of buffering without limit. Dispose writes what is left.
/// </summary>
internal sealed class OutputQueue : IDisposable
{
    private const int Capacity = 64 * 1024;

    private readonly Func<ReadOnlyMemory<byte>, bool> _sink;
    private readonly object _gate = new();
    private readonly Thread _writer;
    private byte[] _filling = new byte[Capacity];
    private byte[] _draining = new byte[Capacity];
    private int _count;
    private bool _writerWaiting;
    private bool _writing;
    private bool _closed;
    private bool _broken;

    /// <summary>Starts the writer; <paramref name="sink"/> writes all it is given, or returns false when the sink is gone for good.</summary>
    public OutputQueue(Func<ReadOnlyMemory<byte>, bool> sink, string threadName)
    {
        _sink = sink;
        _writer = new Thread(Run) { IsBackground = true, Name = threadName };
        _writer.Start();
    }

    /// <summary>Queues <paramref name="data"/>, waiting while the queue is full.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            while (!data.IsEmpty && !_broken && !_closed)
            {
                int room = Capacity - _count;
                if (room == 0)
                {
                    Monitor.Wait(_gate);
                    continue;
                }

                int n = Math.Min(room, data.Length);
                data[..n].CopyTo(_filling.AsSpan(_count));
                _count += n;
                data = data[n..];
                if (_writerWaiting)
                {
                    Monitor.Pulse(_gate);
                }
            }
        }
    }

    /// <summary>Waits until everything queued so far has reached the sink (or the sink is gone).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            while ((_count > 0 || _writing) && !_broken && _writer.IsAlive)
            {
                Monitor.Wait(_gate, 100);
            }
        }
    }

    /// <summary>Writes what is queued, then stops the writer.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }

        // A sink that does not drain (a pipe nobody reads) must not hold up the exit for long.
        _writer.Join(TimeSpan.FromSeconds(2));
    }

    private void Run()
    {
        while (true)
        {
            int n;
            lock (_gate)
            {
                while (_count == 0 && !_closed)
                {
                    _writerWaiting = true;
                    Monitor.Wait(_gate);
                    _writerWaiting = false;
                }

                if (_count == 0)
                {
                    return;
                }

                (_filling, _draining) = (_draining, _filling);
                n = _count;
                _count = 0;
                _writing = true;
                Monitor.PulseAll(_gate); // room again for a vCPU waiting on a full queue
            }

            bool ok = _sink(_draining.AsMemory(0, n));
            lock (_gate)
            {
                _writing = false;
                _broken |= !ok;
                Monitor.PulseAll(_gate);
                if (_broken)
                {
                    return;
                }
            }
        }
    }
}
