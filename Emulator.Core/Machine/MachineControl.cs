namespace Emulator.Core.Machine;

/// <summary>What the guest asked of the machine as a whole.</summary>
public enum MachineRequest
{
    /// <summary>Nothing: keep running.</summary>
    None,
    /// <summary>Power off (ACPI S5): emu exits 0.</summary>
    PowerOff,
    /// <summary>Reset the machine (or exit, with --no-reboot).</summary>
    Reset,
    /// <summary>Exit with <see cref="MachineControl.ExitStatus"/> (debug-exit device).</summary>
    Exit,
    /// <summary>The user asked to quit (Ctrl-A X, a signal).</summary>
    Quit,
}

/// <summary>
/// Collects machine-wide requests raised by devices or the host (power off, reset, exit) and kicks
/// every vCPU out of guest code so the machine loop can act on them. Thread-safe.
/// </summary>
public sealed class MachineControl : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<Action> _kickers = [];
    private readonly ManualResetEventSlim _raised = new(false);
    private MachineRequest _request;

    /// <summary>The first request raised since the last <see cref="Clear"/>.</summary>
    public MachineRequest Request
    {
        get
        {
            lock (_lock)
            {
                return _request;
            }
        }
    }

    /// <summary>The status for <see cref="MachineRequest.Exit"/>.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>Set whenever a request is raised.</summary>
    public WaitHandle Raised => _raised.WaitHandle;

    /// <summary>Registers a callback that kicks one vCPU out of guest code.</summary>
    public void AddKicker(Action kick)
    {
        lock (_lock)
        {
            _kickers.Add(kick);
        }
    }

    /// <summary>Raises a request; the first one wins until cleared, except that any request that ends the machine replaces a pending reset.</summary>
    public void Raise(MachineRequest request, int exitStatus = 0)
    {
        Action[] kickers;
        lock (_lock)
        {
            if (_request != MachineRequest.None && !(_request == MachineRequest.Reset && request != MachineRequest.Reset))
            {
                return;
            }

            _request = request;
            ExitStatus = exitStatus;
            kickers = [.. _kickers];
        }

        _raised.Set();
        foreach (Action kick in kickers)
        {
            kick();
        }
    }

    /// <summary>Forgets a reset request once the reset is done; a request that arrived meanwhile (quit, power off) stays.</summary>
    public void CompleteReset()
    {
        lock (_lock)
        {
            if (_request == MachineRequest.Reset)
            {
                _request = MachineRequest.None;
                _raised.Reset();
            }
        }
    }

    /// <summary>Forgets the request (after a reset has been carried out).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _request = MachineRequest.None;
            _raised.Reset();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _raised.Dispose();
}
