using Emulator.Core.Cpu;

namespace Emulator.Control.Gdb;

/// <summary>
/// The breakpoints and watchpoints gdb has inserted (Z0-Z4), shared by every vCPU (gdb's are
/// process-wide), turned into each vCPU's <see cref="VcpuDebugSettings"/> when the guest resumes.
/// Software (Z0) and hardware (Z1) breakpoints are the same thing here: no backend writes INT3 into
/// guest memory.
/// </summary>
internal sealed class GdbBreakpoints
{
    private readonly List<ulong> _breakpoints = [];
    private readonly List<Watchpoint> _watchpoints = [];

    /// <summary>True when nothing is inserted.</summary>
    public bool IsEmpty => _breakpoints.Count == 0 && _watchpoints.Count == 0;

    /// <summary>Inserts a breakpoint; false when <paramref name="support"/> has no room for it.</summary>
    public bool AddBreakpoint(ulong address, VcpuDebugSupport support)
    {
        if (_breakpoints.Contains(address))
        {
            return true;
        }

        if (!Fits(support, breakpoints: 1, watchpoints: 0))
        {
            return false;
        }

        _breakpoints.Add(address);
        return true;
    }

    /// <summary>Removes a breakpoint (removing one that is not there is not an error, as in gdb's protocol).</summary>
    public void RemoveBreakpoint(ulong address) => _breakpoints.Remove(address);

    /// <summary>Inserts a watchpoint; false when the backend cannot watch it.</summary>
    public bool AddWatchpoint(Watchpoint w, VcpuDebugSupport support)
    {
        if (!support.WatchKinds.Contains(w.Kind) || !Fits(support, breakpoints: 0, watchpoints: 1))
        {
            return false;
        }

        _watchpoints.Add(w);
        return true;
    }

    /// <summary>Removes the watchpoint of that address, length and kind.</summary>
    public void RemoveWatchpoint(ulong address, int length, WatchKind kind) =>
        _watchpoints.RemoveAll(w => w.Address == address && w.Length == length && w.Kind == kind);

    /// <summary>The kind of the watchpoint at <paramref name="address"/> (for the stop reply), or null.</summary>
    public WatchKind? KindAt(ulong address)
    {
        foreach (Watchpoint w in _watchpoints)
        {
            if (w.Address == address)
            {
                return w.Kind;
            }
        }

        return null;
    }

    /// <summary>Forgets everything (detach).</summary>
    public void Clear()
    {
        _breakpoints.Clear();
        _watchpoints.Clear();
    }

    /// <summary>The settings for one vCPU.</summary>
    public VcpuDebugSettings SettingsFor(bool singleStep) => new()
    {
        SingleStep = singleStep,
        Breakpoints = [.. _breakpoints],
        Watchpoints = [.. _watchpoints],
    };

    // The debug registers are shared between breakpoints and watchpoints on KVM (DR0-DR3).
    private bool Fits(VcpuDebugSupport support, int breakpoints, int watchpoints)
    {
        bool shared = support.MaxBreakpoints == support.MaxWatchpoints && support.MaxBreakpoints < int.MaxValue;
        return shared
            ? _breakpoints.Count + _watchpoints.Count + breakpoints + watchpoints <= support.MaxBreakpoints
            : _breakpoints.Count + breakpoints <= support.MaxBreakpoints && _watchpoints.Count + watchpoints <= support.MaxWatchpoints;
    }
}
