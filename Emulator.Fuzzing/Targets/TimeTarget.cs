namespace Emulator.Fuzzing.Targets;

/// <summary>
/// Lets virtual time pass (nanoseconds to a fifth of a second), so the PIT, RTC, ACPI PM timer and the APIC
/// timers fire whatever the other targets programmed them to, in deadline order.
/// </summary>
internal sealed class TimeTarget : IFuzzTarget
{
    public string Name => "time";

    public void Step(FuzzGuest g)
    {
        long step = g.Random.Next(4) switch
        {
            0 => g.Random.Next(1000),
            1 => g.Random.Next(1_000_000),
            2 => g.Random.Next(50_000_000),
            _ => g.Random.Next(200_000_000),
        };
        var timers = g.Machine.Platform.Timers;
        timers.AdvanceTo(timers.Clock.NowNanoseconds + step);
    }
}
