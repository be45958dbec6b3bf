using Emulator.Devices.Intc;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The IOAPIC at 0xFEC00000: IOREGSEL with any index (past the 24 redirection entries too), IOWIN
/// writes of redirection entries with every delivery mode, trigger, polarity, mask and destination
/// (INIT, NMI and ExtINT included), narrow and misaligned accesses anywhere in its page, and the
/// ID and version registers.
/// </summary>
internal sealed class IoApicTarget : IFuzzTarget
{
    private const ulong Base = IoApic.DefaultBase;

    public string Name => "ioapic";

    public void Step(FuzzGuest g)
    {
        switch (g.Random.Next(5))
        {
            case 0:
            case 1:
                uint index = g.OneIn(4) ? (uint)g.Random.Next(256) : 0x10 + (uint)g.Random.Next(48);
                g.Store(Base, 4, index);
                uint low = (uint)g.Random.Next(256) | ((uint)g.Random.Next(8) << 8) | ((uint)g.Random.Next(2) << 11) | ((uint)g.Random.Next(2) << 13) | ((uint)g.Random.Next(2) << 15) | ((uint)g.Random.Next(2) << 16);
                g.Store(Base + 0x10, 4, g.OneIn(4) ? (uint)g.Value() : (index & 1) == 0 ? low : (uint)g.Random.Next(256) << 24);
                break;
            case 2:
                g.Store(Base, g.MemorySize(), g.Value());
                g.Load(Base + 0x10, g.MemorySize());
                break;
            case 3:
                g.Load(Base + (ulong)g.Random.Next(0x1000), g.MemorySize());
                break;
            default:
                g.Store(Base + (ulong)g.Random.Next(0x1000), g.MemorySize(), g.Value());
                break;
        }
    }
}
