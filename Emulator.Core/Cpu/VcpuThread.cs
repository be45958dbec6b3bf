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
    /// <summary>The thread has ended.</summary>
    Stopped,
}

/// <summary>
/// One host thread driving one vCPU: a small state machine (running, paused, stopped) steered from
/// other threads. Pause and stop kick the vCPU out of guest code with <see cref="IVcpu.RequestExit"/>.
/// Exits that need the machine (shutdown, errors, a halt nothing can wake) go to the machine's handler.
/// </summary>
public sealed class VcpuThread
{
    private readonly object _lock = new();
    private readonly Action<IVcpu, VcpuExit> _onExit;
    private readonly Thread _thread;
    private VcpuRunState _desired = VcpuRunState.Running;
    private VcpuRunState _state = VcpuRunState.Created;

    /// <summary>Wraps <paramref name="vcpu"/>; <paramref name="onExit"/> runs on the vCPU thread for every exit other than a kick.</summary>
    public VcpuThread(IVcpu vcpu, Action<IVcpu, VcpuExit> onExit)
    {
        Vcpu = vcpu;
        _onExit = onExit;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"emu-vcpu{vcpu.Index}" };
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

    /// <summary>True when called on this vCPU's own thread, e.g. from a device access the vCPU is making.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>Starts running guest code.</summary>
    public void Start() => _thread.Start();

    /// <summary>
    /// Starts the thread parked, as an application processor waiting for a startup IPI
    /// (Intel SDM Vol. 3A 9.4.2); <see cref="Resume"/> lets it run.
    /// </summary>
    public void StartPaused()
    {
        lock (_lock)
        {
            _desired = VcpuRunState.Paused;
        }

        _thread.Start();
    }

    /// <summary>Kicks the vCPU out of guest code and waits until it is parked.</summary>
    public void Pause() => MoveTo(VcpuRunState.Paused);

    /// <summary>Continues after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        lock (_lock)
        {
            if (_desired == VcpuRunState.Paused)
            {
                _desired = VcpuRunState.Running;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>Kicks the vCPU out of guest code and ends its thread.</summary>
    public void Stop()
    {
        if (_thread.ThreadState.HasFlag(ThreadState.Unstarted))
        {
            lock (_lock)
            {
                _state = VcpuRunState.Stopped;
            }

            return;
        }

        MoveTo(VcpuRunState.Stopped);
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void MoveTo(VcpuRunState target)
    {
        lock (_lock)
        {
            if (_state == VcpuRunState.Stopped)
            {
                return;
            }

            _desired = target;
            Monitor.PulseAll(_lock);
            if (_state == VcpuRunState.Created && target == VcpuRunState.Paused)
            {
                // Not started: it runs no guest code, so its state may be written now, and when it
                // starts it parks (the loop reads _desired first). INIT and SIPI sent to a vCPU
                // before its machine runs (a harness driving the devices) take this path.
                return;
            }
        }

        Vcpu.RequestExit();
        if (Thread.CurrentThread == _thread)
        {
            return;
        }

        lock (_lock)
        {
            while (_state != target && _state != VcpuRunState.Stopped)
            {
                Monitor.Wait(_lock);
            }
        }
    }

    private void Loop()
    {
        using VcpuContext.Scope context = VcpuContext.Enter(Vcpu.Index);
        while (true)
        {
            lock (_lock)
            {
                while (_desired == VcpuRunState.Paused)
                {
                    SetState(VcpuRunState.Paused);
                    Monitor.Wait(_lock);
                }

                if (_desired == VcpuRunState.Stopped)
                {
                    SetState(VcpuRunState.Stopped);
                    return;
                }

                SetState(VcpuRunState.Running);
                // Cleared under the lock: a Pause or Stop after this point sets _desired first and
                // then requests the exit, so Run returns at once.
                Vcpu.ClearExitRequest();
            }

            VcpuExit exit = Vcpu.Run();
            if (exit.Reason == VcpuExitReason.ExitRequested)
            {
                continue;
            }

            _onExit(Vcpu, exit);
            if (exit.Reason is VcpuExitReason.Halted or VcpuExitReason.InternalError)
            {
                // Nothing will make this vCPU progress: park it until the machine pauses or stops it.
                lock (_lock)
                {
                    while (_desired == VcpuRunState.Running)
                    {
                        Monitor.Wait(_lock);
                    }
                }
            }
        }
    }

    private void SetState(VcpuRunState state)
    {
        _state = state;
        Monitor.PulseAll(_lock);
    }
}
