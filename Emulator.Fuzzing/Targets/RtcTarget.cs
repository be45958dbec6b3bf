namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The MC146818 RTC and CMOS RAM: index writes with and without the NMI mask bit, registers A-D
/// with every divider and rate (including the ones that stop the clock), SET, PIE/AIE/UIE, binary
/// or BCD and 12/24-hour formats, time and alarm fields holding values no clock can hold (BCD
/// digits above 9, hours 0x80+), register C reads, and the rest of the CMOS RAM.
/// </summary>
internal sealed class RtcTarget : IFuzzTarget
{
    public string Name => "rtc";

    public void Step(FuzzGuest g)
    {
        uint nmi = g.OneIn(2) ? 0x80u : 0;
        switch (g.Random.Next(5))
        {
            case 0:
                g.Out(0x70, 1, nmi | (uint)g.Random.Next(0x0a, 0x0e));
                g.Out(0x71, 1, (uint)g.Random.Next(256));
                break;
            case 1:
                g.Out(0x70, 1, nmi | (uint)g.Random.Next(0x0a));
                g.Out(0x71, 1, (uint)g.Random.Next(256));
                break;
            case 2:
                g.Out(0x70, 1, nmi | 0x0c);
                g.In(0x71, 1);
                break;
            case 3:
                g.Out(0x70, 1, (uint)g.Random.Next(256));
                if (g.OneIn(2))
                {
                    g.Out(0x71, g.PortSize(), (uint)g.Value());
                }
                else
                {
                    g.In(0x71, g.PortSize());
                }

                break;
            default:
                g.In((ushort)(0x70 + g.Random.Next(2)), g.PortSize());
                break;
        }
    }
}
