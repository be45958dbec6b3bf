using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Jit.Decoding;
using Emulator.Jit.State;
using Emulator.Jit.Translation;

namespace Emulator.Jit;

/// <summary>
/// A vCPU of the software CPU. Between blocks it checks, in order: an exit request, an NMI, an
/// external interrupt (when IF is set and no STI/MOV SS shadow is active), and HLT.
/// </summary>
public sealed partial class SoftVcpu : IVcpu
{
    // Blocks run between two looks at interrupts and exit requests (see CpuCore.ExecuteBlocks).
    private const int BlocksPerSlice = 32;

    private readonly CpuCore _core;
    private readonly A20Gate _a20;
    private readonly AutoResetEvent _wake = new(false);
    // EMU_JIT_STATS: HLTs entered and the host time spent halted.
    private long _halts, _haltedTicks;
    private bool _wasHaltedLast;
    private volatile bool _exitRequested;
    // NMIs received and not yet delivered: at most two while NMIs are not blocked (one about to be
    // delivered and one latched behind it), at most one while a handler runs (NmiBlocked until
    // IRET); more are lost (Intel SDM Vol. 3A 6.7.1). Changed under _nmiLock.
    private volatile int _nmisPending;
    private readonly Lock _nmiLock = new();
    // An event another backend had begun delivering when its state was read (CpuState.PendingException,
    // PendingInterrupt): delivered before the next instruction, as that backend would have.
    private (int Vector, bool IsException, uint? ErrorCode)? _inFlight;

    internal SoftVcpu(int index, MachinePlatform platform, BlockCache code, bool translate = false)
    {
        Index = index;
        _a20 = platform.A20;
        _memory = platform.Memory;
        _core = new CpuCore(index, platform.Memory, platform.Io, code) { ProcessorCount = platform.ProcessorCount };
        if (translate)
        {
            _core.Translator = new Translation.TranslationCache(_core, TranslatorSettings.CacheBytes, TranslatorSettings.Threshold, TranslatorSettings.Background);
        }

        _core.LoadState(CpuState.AtReset());
    }

    /// <summary>The translator's statistics (EMU_JIT_STATS), or null when this vCPU only interprets.</summary>
    public string? TranslationStatistics => _core.Translator?.Statistics.ToString();

    /// <inheritdoc/>
    public int Index { get; }

    /// <inheritdoc/>
    public IInterruptSource? InterruptSource { get; set; }

    /// <summary>MSRs owned by devices of this processor (its local APIC), seen by RDMSR and WRMSR.</summary>
    public IMsrDevice? PlatformMsrs
    {
        get => _core.PlatformMsrs;
        set => _core.PlatformMsrs = value;
    }

    /// <summary>Guest instructions this vCPU has completed.</summary>
    public long InstructionsRetired => _core.InstructionsRetired;

    /// <inheritdoc/>
    public VcpuExit Run()
    {
        CpuCore core = _core;
        if (_inFlight is { } e && !_exitRequested)
        {
            _inFlight = null;
            if (e.IsException)
            {
                core.RaiseException(e.Vector, (int?)e.ErrorCode);
            }
            else
            {
                core.RaiseInterrupt(e.Vector);
            }
        }

        while (!_exitRequested)
        {
            // Cleared before interrupts and requests are looked at (the fence orders the two): one
            // that arrives after the look stops the blocks run below.
            core.StopRequested = false;
            Interlocked.MemoryBarrier();
            // A debugger's single step takes no interrupt (QEMU's default), unless the CPU sleeps in HLT.
            bool stepping = _debug.SingleStep && !core.Halted;
            bool wasHalted = core.Halted;

            // The A20 gate may have been switched by this or another vCPU's port write; that OUT ended its block.
            if (_a20.Enabled != core.A20Enabled)
            {
                core.SetA20(_a20.Enabled);
            }

            // A task switch's T-flag trap comes before interrupts (Intel SDM Vol. 3A Table 6-2).
            core.TakeTaskSwitchTrap();

            if (core.InterruptShadow)
            {
                // STI or MOV SS blocks interrupts for one instruction only (Intel SDM Vol. 2B STI,
                // Vol. 3A 6.8.3): run just that one (ExecuteBlock stops after an instruction with
                // EndBlock set), so a pending interrupt is taken right after it, as in sti; nop; cli.
                core.InterruptShadow = false;
                core.EndBlock = true;
            }
            else if (!stepping && _nmisPending > 0 && !core.NmiBlocked)
            {
                lock (_nmiLock)
                {
                    _nmisPending--;
                    core.NmiBlocked = true;
                }

                core.RaiseInterrupt(Execution.Vectors.NMI);
            }
            else if (!stepping && core.InterruptsEnabled && InterruptSource is { } source)
            {
                // Cleared before the look (the fence orders the two), so a notification after it keeps it set.
                core.InterruptPending = false;
                Interlocked.MemoryBarrier();
                if (source.HasInterrupt)
                {
                    core.InterruptPending = true;
                    core.RaiseInterrupt(source.Acknowledge());
                }
            }

            if (core.TripleFault)
            {
                core.TripleFault = false;
                return new VcpuExit(VcpuExitReason.Shutdown, "triple fault");
            }

            if (core.Halted)
            {
                long haltedSince = TranslatorSettings.PrintStatistics ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                if (!_wasHaltedLast)
                {
                    _halts++;
                }

                _wasHaltedLast = true;

                WaitWhileHalted(core);
                if (haltedSince != 0)
                {
                    _haltedTicks += System.Diagnostics.Stopwatch.GetTimestamp() - haltedSince;
                }

                continue;
            }

            _wasHaltedLast = false;
            VcpuExit? debugStop = null;
            if (_debug.IsEmpty)
            {
                core.ExecuteBlocks(BlocksPerSlice);
            }
            else
            {
                debugStop = wasHalted && _debug.SingleStep
                    ? new VcpuExit(VcpuExitReason.Debug, Debug: new VcpuDebugEvent(VcpuDebugEventKind.Step))
                    : ExecuteForDebugger();
            }

            if (core.InternalError is { } error)
            {
                core.InternalError = null;
                return new VcpuExit(VcpuExitReason.InternalError, $"{error} at {core.Seg[(int)Seg.Cs].Selector:x4}:{core.Rip:x}");
            }

            if (core.TripleFault)
            {
                core.TripleFault = false;
                return new VcpuExit(VcpuExitReason.Shutdown, "triple fault");
            }

            if (debugStop is { } stop)
            {
                return stop;
            }
        }

        return new VcpuExit(VcpuExitReason.ExitRequested);
    }

    // HLT: sleeps until an interrupt (or NMI) can wake the CPU, at most a few milliseconds at a
    // time so that exit requests and A20 changes are seen.
    private void WaitWhileHalted(CpuCore core)
    {
        if (!core.InterruptsEnabled && _nmisPending == 0 && InterruptSource is null)
        {
            // Nothing can wake this CPU but an NMI or the machine; wait for either.
            _wake.WaitOne(50);
            return;
        }

        if (_nmisPending == 0 && !(core.InterruptsEnabled && InterruptSource is { HasInterrupt: true }))
        {
            _wake.WaitOne(10);
        }
    }

    /// <summary>
    /// Executes exactly one instruction (after delivering an event in flight, as <see cref="Run"/>
    /// would), without polling interrupts. Returns null, or why the software CPU could not.
    /// </summary>
    public string? Step()
    {
        CpuCore core = _core;
        if (_inFlight is { } e)
        {
            _inFlight = null;
            if (e.IsException)
            {
                core.RaiseException(e.Vector, (int?)e.ErrorCode);
            }
            else
            {
                core.RaiseInterrupt(e.Vector);
            }
        }

        core.ExecuteOneInstruction();
        if (core.InternalError is { } error)
        {
            core.InternalError = null;
            return $"{error} at {core.Seg[(int)Seg.Cs].Selector:x4}:{core.Rip:x}";
        }

        if (core.TripleFault)
        {
            core.TripleFault = false;
            return "triple fault";
        }

        return null;
    }

    /// <inheritdoc/>
    public CpuState GetState()
    {
        CpuState s = _core.SaveState();
        s.NmiPending = _nmisPending > 0;
        if (_inFlight is { } e)
        {
            if (e.IsException)
            {
                s.PendingException = e.Vector;
                s.PendingExceptionErrorCode = e.ErrorCode;
            }
            else
            {
                s.PendingInterrupt = e.Vector;
            }
        }

        return s;
    }

    /// <inheritdoc/>
    public void SetState(CpuState state)
    {
        _core.LoadState(state);
        _nmisPending = state.NmiPending ? 1 : 0;
        _inFlight = state.PendingException >= 0 ? (state.PendingException, true, state.PendingExceptionErrorCode)
            : state.PendingInterrupt >= 0 ? (state.PendingInterrupt, false, null)
            : null;
    }

    /// <inheritdoc/>
    public void RequestExit()
    {
        _exitRequested = true;
        _core.RequestStop();
        Wake();
    }

    /// <inheritdoc/>
    public void ClearExitRequest() => _exitRequested = false;

    /// <inheritdoc/>
    public void NotifyInterrupt()
    {
        _core.InterruptPending = true;
        _core.RequestStop();
        Wake();
    }

    /// <inheritdoc/>
    public void RaiseNmi()
    {
        lock (_nmiLock)
        {
            if (_nmisPending < (_core.NmiBlocked ? 1 : 2))
            {
                _nmisPending++;
            }
        }

        _core.RequestStop();
        Wake();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_core.Translator is { } t && TranslatorSettings.PrintStatistics)
        {
            Console.Error.WriteLine($"emu: vCPU {Index} translator: {t.Statistics}; block fetches that missed the recent-block table {_core.RecentBlockMisses}, blocks decoded {_core.BlocksDecoded}; {_core.InstructionsRetired} instructions retired; {_halts} HLTs, {System.Diagnostics.Stopwatch.GetElapsedTime(0, _haltedTicks).TotalMilliseconds:F0} ms halted");
            if (TranslatorSettings.Profile)
            {
                Console.Error.WriteLine(t.Statistics.Profile());
            }
        }

        _core.Translator?.Dispose();
        _core.Translator = null;
        _wake.Dispose();
    }

    // Devices and timers may still signal a vCPU that a backend move or shutdown has just disposed;
    // the signal has nobody to wake then.
    private void Wake()
    {
        try
        {
            _wake.Set();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
