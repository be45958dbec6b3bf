using Emulator.Devices.Timers;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The HPET at 0xFED00000: the general configuration (enable, legacy replacement route, reserved
/// bits), timer configurations with every type, periodic, 32-bit mode, value-set and route (offered
/// or not), comparators near the counter, far from it, zero periods, the counter written while
/// running, status clears, and accesses of every width anywhere in its 1 KiB (narrow, misaligned,
/// reserved and absent timers' registers).
/// </summary>
internal sealed class HpetTarget : IFuzzTarget
{
    private const ulong Base = Hpet.DefaultBase;

    public string Name => "hpet";

    public void Step(FuzzGuest g)
    {
        ulong timer = Base + Hpet.TimerBase + (Hpet.TimerStride * (ulong)g.Random.Next(Hpet.TimerCount));
        switch (g.Random.Next(8))
        {
            case 0:
                g.Store(Base + Hpet.ConfigurationOffset, g.OneIn(2) ? 4 : 8, g.OneIn(4) ? g.Value() : (ulong)g.Random.Next(4));
                break;
            case 1:
                ulong config = (ulong)g.Random.Next(0x8000) & 0x7F4E;
                g.Store(timer, g.OneIn(2) ? 4 : 8, g.OneIn(4) ? g.Value() : config);
                break;
            case 2:
                // A comparator a few ticks to a few milliseconds ahead of the counter, or anything.
                ulong counter = g.Load(Base + Hpet.MainCounterOffset, 8);
                ulong ahead = g.OneIn(3) ? (ulong)g.Random.Next(16) : (ulong)g.Random.Next(1_000_000);
                g.Store(timer + 8, g.OneIn(2) ? 4 : 8, g.OneIn(4) ? g.Value() : counter + ahead);
                break;
            case 3:
                g.Store(Base + Hpet.MainCounterOffset + (g.OneIn(4) ? 4ul : 0), g.OneIn(2) ? 4 : 8, g.Value());
                break;
            case 4:
                g.Store(Base + Hpet.InterruptStatusOffset, 4, (ulong)g.Random.Next(8));
                break;
            case 5:
                g.Load(Base + Hpet.MainCounterOffset, g.OneIn(2) ? 4 : 8);
                g.Load(Base + Hpet.InterruptStatusOffset, 4);
                break;
            case 6:
                g.Load(Base + (ulong)g.Random.Next((int)Hpet.WindowSize), g.MemorySize());
                break;
            default:
                g.Store(Base + (ulong)g.Random.Next((int)Hpet.WindowSize), g.MemorySize(), g.Value());
                break;
        }
    }
}
