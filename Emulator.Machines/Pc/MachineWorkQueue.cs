namespace Emulator.Machines.Pc;

/// <summary>
/// Work handed to the machine's own thread (the one in <see cref="PcMachine.Run"/>), which is the only
/// thread that changes the machine as a whole: stop, continue, reset, move, read vCPU state. Control
/// connections post their commands here and wait for the result, so commands from several clients
/// and the machine's own requests are carried out one at a time, in order.
/// </summary>
internal sealed class MachineWorkQueue : IDisposable
{
    private readonly Queue<(Action Run, Action Fail)> _items = new();
    private readonly AutoResetEvent _available = new(false);
    private bool _closed;

    /// <summary>Set when work is waiting.</summary>
    public WaitHandle Available => _available;

    /// <summary>Runs <paramref name="work"/> on the machine thread and returns its result; throws <see cref="MachineStoppedException"/> when the machine no longer runs.</summary>
    public T Invoke<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Run()
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }

        lock (_items)
        {
            if (_closed)
            {
                throw new MachineStoppedException();
            }

            _items.Enqueue((Run, () => done.SetException(new MachineStoppedException())));
        }

        _available.Set();
        return done.Task.GetAwaiter().GetResult();
    }

    /// <summary>Queues <paramref name="work"/> without waiting for it (from a vCPU thread, which must not wait for the machine thread); dropped once the machine has stopped.</summary>
    public void Post(Action work)
    {
        lock (_items)
        {
            if (_closed)
            {
                return;
            }

            _items.Enqueue((work, () => { }));
        }

        _available.Set();
    }

    /// <summary>Runs everything queued so far; called on the machine thread.</summary>
    public void RunPending()
    {
        while (true)
        {
            (Action Run, Action Fail) item;
            lock (_items)
            {
                if (!_items.TryDequeue(out item))
                {
                    return;
                }
            }

            item.Run();
        }
    }

    /// <summary>Refuses new work and fails what is still queued (the machine is exiting).</summary>
    public void Close()
    {
        List<(Action Run, Action Fail)> rest;
        lock (_items)
        {
            _closed = true;
            rest = [.. _items];
            _items.Clear();
        }

        foreach ((_, Action fail) in rest)
        {
            fail();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _available.Dispose();
}

/// <summary>The machine has stopped running: control commands can no longer be carried out.</summary>
public sealed class MachineStoppedException : Exception
{
    /// <summary>Creates the exception with its standard message.</summary>
    public MachineStoppedException()
        : base("the machine is shutting down")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MachineStoppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public MachineStoppedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
