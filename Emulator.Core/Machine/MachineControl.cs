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
    /// <summary>The host asked to move the running guest to the other CPU backend (<c>--switch-after</c>).</summary>
    SwitchAccelerator,
    /// <summary>Sleep in ACPI S3 (suspend to RAM) until a wake event.</summary>
    Suspend,
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

    /// <summary>The first request raised since the last <see cref="Clear()"/>.</summary>
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

    /// <summary>
    /// Raises a request; the first one wins until cleared, except that a pending reset, move to the
    /// other backend or sleep is superseded by anything else the guest or the user asks for (but a
    /// move or a sleep), so a power-off or quit that lands while the machine is being reset, moved or
    /// put to sleep is never swallowed.
    /// </summary>
    public void Raise(MachineRequest request, int exitStatus = 0)
    {
        Action[] kickers;
        lock (_lock)
        {
            bool pendingIsTransient = _request is MachineRequest.Reset or MachineRequest.SwitchAccelerator or MachineRequest.Suspend;
            bool supersedes = pendingIsTransient && request != _request && request is not (MachineRequest.SwitchAccelerator or MachineRequest.Suspend);
            if (_request != MachineRequest.None && !supersedes)
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

    /// <summary>Forgets the request if it is still <paramref name="handled"/> (another may have superseded it).</summary>
    public void Clear(MachineRequest handled)
    {
        lock (_lock)
        {
            if (_request == handled)
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
