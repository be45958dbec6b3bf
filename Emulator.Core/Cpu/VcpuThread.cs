namespace Emulator.Core.Cpu;

/// <summary>The states of a <see cref="VcpuThread"/>.</summary>
public enum VcpuRunState
{
    /// <summary>Created, thread not started.</summary>
    Created,
    /// <summary>Executing guest code (or halted inside the backend).</summary>
    Running,
    /// <summary>Parked outside guest code; state may be read and written.</summary>
    Paused,
    /// <summary>The thread has ended (exited).</summary>
    Stopped,
}

/// <summary>
/// One host thread driving one vCPU: a small state machine (running, paused, stopped) driven by
/// messages, as Firecracker's vCPU loop is. Other threads never touch the vCPU while it runs: they
/// post a message (<see cref="Pause"/>, <see cref="Resume"/>, <see cref="Hold"/>, <see cref="Release"/>,
/// <see cref="Stop"/>, or a call such as <see cref="Call{T}"/>), kick the vCPU out of guest code with
/// <see cref="IVcpu.RequestExit"/>, and wait until its own thread has handled the message between
/// two <see cref="IVcpu.Run"/> calls, or while it is parked.
/// </summary>
/// <remarks>
/// Two independent reasons park the thread: a <em>pause</em> (the machine's own work: an application
/// processor waiting for SIPI, INIT/SIPI changing its state, a reset, a move to another backend) and a
/// <em>hold</em> (the whole VM is stopped: QMP <c>stop</c>, a debugger, <c>-S</c>). The vCPU runs only
/// when neither is set, so the machine's pause/resume pairs never let a stopped VM run. Exits that
/// need the machine (shutdown, errors, a halt nothing can wake, a debug event) go to the handler; a
/// debug exit also holds the vCPU until the VM continues.
/// </remarks>
public sealed class VcpuThread
{
    private readonly object _lock = new();
    private readonly Queue<Message> _inbox = new();
    private readonly Action<IVcpu, VcpuExit> _onExit;
    private readonly Thread _thread;
    private VcpuRunState _state = VcpuRunState.Created;
    private bool _started;
    // Owned by the vCPU thread once started (changed only while handling messages); before the
    // start they are set directly by whoever configures the thread.
    private bool _paused;
    private bool _held;
    // Halted with nothing to wake it, or stopped on an internal error: wait for a message.
    private bool _stalled;

    /// <summary>Wraps <paramref name="vcpu"/>; <paramref name="onExit"/> runs on the vCPU thread for every exit other than a kick.</summary>
    public VcpuThread(IVcpu vcpu, Action<IVcpu, VcpuExit> onExit)
    {
        Vcpu = vcpu;
        _onExit = onExit;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"emu-vcpu{vcpu.Index}" };
    }

    private enum Kind
    {
        Pause,
        Resume,
        Hold,
        Release,
        Stop,
        Call,
    }

    /// <summary>The vCPU this thread drives.</summary>
    public IVcpu Vcpu { get; }

    /// <summary>The current state.</summary>
    public VcpuRunState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>True while the VM-wide hold (<see cref="Hold"/>) keeps this vCPU parked.</summary>
    public bool IsHeld
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>True while the machine's own pause keeps this vCPU parked (e.g. an AP waiting for SIPI).</summary>
    public bool IsPaused
    {
        get
        {
            lock (_lock)
            {
                return _paused;
            }
        }
    }

    /// <summary>True after an exit that nothing in the guest can end (a halt with interrupts off, an error), until a message arrives.</summary>
    public bool IsStalled
    {
        get
        {
            lock (_lock)
            {
                return _stalled;
            }
        }
    }

    /// <summary>The host thread's managed id, for tools that list threads (QMP's <c>thread-id</c> is the OS id, see <see cref="OsThreadId"/>).</summary>
    public int ManagedThreadId => _thread.ManagedThreadId;

    /// <summary>The host (Linux) thread id of the vCPU thread once it runs, else 0.</summary>
    public int OsThreadId { get; private set; }

    /// <summary>True when called on this vCPU's own thread, e.g. from a device access the vCPU is making.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>Starts running guest code (unless held).</summary>
    public void Start()
    {
        lock (_lock)
        {
            _started = true;
        }

        _thread.Start();
    }

    /// <summary>
    /// Starts the thread parked, as an application processor waiting for a startup IPI
    /// (Intel SDM Vol. 3A 9.4.2); <see cref="Resume"/> lets it run.
    /// </summary>
    public void StartPaused()
    {
        lock (_lock)
        {
            _paused = true;
        }

        Start();
    }

    /// <summary>Kicks the vCPU out of guest code and waits until it is parked (the machine's own pause).</summary>
    public void Pause() => Send(new Message(Kind.Pause));

    /// <summary>Ends a <see cref="Pause"/>; the vCPU runs again unless held.</summary>
    public void Resume() => Send(new Message(Kind.Resume));

    /// <summary>Parks the vCPU because the whole VM is stopped, and waits until it is parked.</summary>
    public void Hold() => Send(new Message(Kind.Hold));

    /// <summary>Ends a <see cref="Hold"/>; the vCPU runs again unless paused.</summary>
    public void Release() => Send(new Message(Kind.Release));

    /// <summary>Kicks the vCPU out of guest code and ends its thread.</summary>
    public void Stop()
    {
        bool started;
        lock (_lock)
        {
            started = _started;
            if (!started)
            {
                _state = VcpuRunState.Stopped;
                return;
            }
        }

        Send(new Message(Kind.Stop));
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the vCPU's own thread while it is outside guest code, and
    /// waits for it: a running vCPU is kicked out of <see cref="IVcpu.Run"/> and continues afterwards;
    /// a parked one wakes for the call and parks again. Before the thread starts, after it stopped,
    /// or on the vCPU thread itself, the action runs at once on the calling thread (the vCPU is not
    /// running then). Exceptions thrown by the action are rethrown here.
    /// </summary>
    public void Execute(Action<IVcpu> action)
    {
        var m = new Message(Kind.Call, action);
        Send(m);
        if (m.Failure is { } failure)
        {
            throw new InvalidOperationException($"vCPU {Vcpu.Index}: {failure.Message}", failure);
        }
    }

    /// <summary>
    /// Like <see cref="Execute"/>, but returns at once: <paramref name="action"/> runs on the vCPU's
    /// thread at its next exit from <see cref="IVcpu.Run"/> (or while it is parked), exactly once,
    /// also when the thread stops first (then, as before it starts or on the vCPU thread itself, it
    /// runs at once on the calling thread, as <see cref="Execute"/> does). For a caller that must
    /// not wait on the vCPU, such as a sampling profiler: a vCPU running guest code answers later
    /// than a halted one on a busy host, and a caller that waited would look at running vCPUs less
    /// often. Exceptions from the action are dropped, so it handles its own.
    /// </summary>
    public void Post(Action<IVcpu> action) => Send(new Message(Kind.Call, action), wait: false);

    /// <summary>Like <see cref="Execute"/>, returning the function's value (e.g. <c>v =&gt; v.GetState()</c>).</summary>
    public T Call<T>(Func<IVcpu, T> function)
    {
        T result = default!;
        Execute(v => result = function(v));
        return result;
    }

    private void Send(Message m, bool wait = true)
    {
        bool runHere = false;
        lock (_lock)
        {
            if (!_started || _state == VcpuRunState.Stopped || Thread.CurrentThread == _thread && m.Kind == Kind.Call)
            {
                // Nobody runs the vCPU: apply the message here.
                if (m.Kind == Kind.Call)
                {
                    runHere = true;
                }
                else
                {
                    Apply(m);
                    return;
                }
            }
            else
            {
                _inbox.Enqueue(m);
                Monitor.PulseAll(_lock);
            }
        }

        if (runHere)
        {
            RunCall(m);
            return;
        }

        Vcpu.RequestExit();
        if (!wait || Thread.CurrentThread == _thread)
        {
            // Posted, or the vCPU's own thread (a device access it makes): the message is handled as soon as its Run returns.
            return;
        }

        lock (_lock)
        {
            while (!m.Done)
            {
                Monitor.Wait(_lock);
            }
        }
    }

    // Under _lock, for messages the thread handles itself and for an unstarted or stopped thread.
    private void Apply(Message m)
    {
        switch (m.Kind)
        {
            case Kind.Pause:
                _paused = true;
                _stalled = false;
                break;
            case Kind.Resume:
                _paused = false;
                break;
            case Kind.Hold:
                _held = true;
                _stalled = false;
                break;
            case Kind.Release:
                _held = false;
                break;
            case Kind.Stop:
                SetState(VcpuRunState.Stopped);
                break;
            case Kind.Call:
                break;
        }

        if (_started && m.Kind is Kind.Pause or Kind.Hold && _state != VcpuRunState.Stopped)
        {
            // The thread is outside Run while it handles messages: it is parked from here on.
            SetState(VcpuRunState.Paused);
        }

        m.Done = true;
        Monitor.PulseAll(_lock);
    }

    // Runs a call with the vCPU not inside Run: on its own thread, or anywhere while no thread runs it.
    private void RunCall(Message m)
    {
        try
        {
            m.Action!(Vcpu);
        }
        catch (Exception e)
        {
            m.Failure = e;
        }
    }

    private void Loop()
    {
        using VcpuContext.Scope context = VcpuContext.Enter(Vcpu.Index);
        OsThreadId = NativeThreadId.Current();
        while (HandleMessages())
        {
            VcpuExit exit = Vcpu.Run();
            if (exit.Reason == VcpuExitReason.ExitRequested)
            {
                continue;
            }

            _onExit(Vcpu, exit);
            lock (_lock)
            {
                if (exit.Reason is VcpuExitReason.Halted or VcpuExitReason.InternalError)
                {
                    // Nothing will make this vCPU progress: wait for the machine's next message.
                    _stalled = true;
                }
                else if (exit.Reason == VcpuExitReason.Debug)
                {
                    // A breakpoint or single step: this vCPU stays where it stopped until the VM continues.
                    _held = true;
                }
            }
        }
    }

    // Handles every message in the inbox, parking while paused, held or stalled. Returns true when
    // the vCPU should run guest code, false when the thread must end.
    private bool HandleMessages()
    {
        lock (_lock)
        {
            while (true)
            {
                while (_inbox.TryDequeue(out Message? m))
                {
                    if (m.Kind == Kind.Call)
                    {
                        // Calls run outside the lock (they may take a device lock or a while); the vCPU is
                        // not inside Run, so the action may use it freely.
                        Monitor.Exit(_lock);
                        try
                        {
                            RunCall(m);
                        }
                        finally
                        {
                            Monitor.Enter(_lock);
                        }
                    }

                    Apply(m);
                    if (m.Kind == Kind.Stop)
                    {
                        FailPending();
                        return false;
                    }
                }

                if (!_paused && !_held && !_stalled)
                {
                    SetState(VcpuRunState.Running);
                    // Cleared under the lock: a message posted after this point is queued first and then
                    // requests the exit, so Run returns at once and the message is seen.
                    Vcpu.ClearExitRequest();
                    return true;
                }

                // A stalled vCPU is still "running" as far as the machine is concerned: only the guest is stuck.
                SetState(_paused || _held ? VcpuRunState.Paused : VcpuRunState.Running);
                Monitor.Wait(_lock);
            }
        }
    }

    // Under _lock, after Stop: messages that arrived behind it complete without effect.
    private void FailPending()
    {
        while (_inbox.TryDequeue(out Message? rest))
        {
            if (rest.Kind == Kind.Call)
            {
                // The thread no longer runs the vCPU, so the call may still use it.
                RunCall(rest);
            }

            rest.Done = true;
        }

        Monitor.PulseAll(_lock);
    }

    private void SetState(VcpuRunState state)
    {
        _state = state;
        Monitor.PulseAll(_lock);
    }

    private sealed class Message(Kind kind, Action<IVcpu>? action = null)
    {
        public Kind Kind { get; } = kind;

        public Action<IVcpu>? Action { get; } = action;

        public bool Done { get; set; }

        public Exception? Failure { get; set; }
    }
}
