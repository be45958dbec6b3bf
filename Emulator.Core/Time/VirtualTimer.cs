namespace Emulator.Core.Time;

/// <summary>A one-shot deadline on the virtual clock; a device re-arms it from its callback for periodic behaviour.</summary>
public sealed class VirtualTimer
{
    private readonly TimerService _service;

    internal VirtualTimer(TimerService service, string name, Action callback)
    {
        _service = service;
        Name = name;
        Callback = callback;
    }

    /// <summary>For diagnostics.</summary>
    public string Name { get; }

    internal Action Callback { get; }

    /// <summary>The deadline in virtual nanoseconds, or null when not armed.</summary>
    public long? Deadline { get; internal set; }

    /// <summary>Fires the callback once the clock reaches <paramref name="deadlineNanoseconds"/> (at once if it already has).</summary>
    public void Arm(long deadlineNanoseconds) => _service.Arm(this, deadlineNanoseconds);

    /// <summary>Fires the callback <paramref name="delayNanoseconds"/> from now.</summary>
    public void ArmIn(long delayNanoseconds) => _service.Arm(this, _service.Clock.NowNanoseconds + delayNanoseconds);

    /// <summary>Disarms the timer; a pending callback will not run.</summary>
    public void Cancel() => _service.Cancel(this);
}
