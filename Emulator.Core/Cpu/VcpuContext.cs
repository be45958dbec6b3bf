namespace Emulator.Core.Cpu;

/// <summary>
/// Which vCPU the current host thread runs. Devices that exist once per processor but share one
/// physical address (the local APIC page at 0xFEE00000, Intel SDM Vol. 3A 11.4.1) use it to find
/// the accessing processor's copy: every bus access a vCPU makes runs on that vCPU's own thread,
/// so a thread-static index is exact and costs nothing on the hot path. <see cref="VcpuThread"/>
/// sets it; threads that are no vCPU (timers, host input, tests) see <see cref="None"/>.
/// </summary>
public static class VcpuContext
{
    /// <summary>The value on a thread that runs no vCPU.</summary>
    public const int None = -1;

    [ThreadStatic]
    private static int t_indexPlusOne;

    /// <summary>The index of the vCPU running on this thread, or <see cref="None"/>.</summary>
    public static int CurrentIndex => t_indexPlusOne - 1;

    /// <summary>Marks this thread as running vCPU <paramref name="index"/> until the returned scope is disposed.</summary>
    public static Scope Enter(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        int previous = t_indexPlusOne;
        t_indexPlusOne = index + 1;
        return new Scope(previous);
    }

    /// <summary>Restores the previous vCPU index of the thread when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int _previous;

        internal Scope(int previous) => _previous = previous;

        /// <inheritdoc/>
        public void Dispose() => t_indexPlusOne = _previous;
    }
}
