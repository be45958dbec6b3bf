namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The 8254 and port 0x61: control words for every counter, mode (including the duplicates 6 and
/// 7), access mode and BCD; read-back commands with any combination of bits; counts of 0, 1 and
/// random halves (odd counts in mode 3, BCD digits above 9); latches and reads in any order; gate 2 toggles.
/// </summary>
internal sealed class PitTarget : IFuzzTarget
{
    public string Name => "pit";

    public void Step(FuzzGuest g)
    {
        int counter = g.Random.Next(3);
        switch (g.Random.Next(6))
        {
            case 0:
                g.Out(0x43, 1, (uint)g.Random.Next(256));
                break;
            case 1:
                g.Out(0x43, 1, (uint)((counter << 6) | (g.Random.Next(1, 4) << 4) | (g.Random.Next(8) << 1) | g.Random.Next(2)));
                int bytes = g.Random.Next(3);
                for (int i = 0; i < bytes; i++)
                {
                    g.Out((ushort)(0x40 + counter), 1, g.OneIn(3) ? (uint)g.Random.Next(3) : (uint)g.Random.Next(256));
                }

                break;
            case 2:
                g.Out(0x43, 1, (uint)(0xc0 | g.Random.Next(64))); // read-back
                int reads = g.Random.Next(4);
                for (int i = 0; i < reads; i++)
                {
                    g.In((ushort)(0x40 + counter), 1);
                }

                break;
            case 3:
                g.Out(0x43, 1, (uint)(counter << 6)); // counter latch
                g.In((ushort)(0x40 + counter), 1);
                break;
            case 4:
                g.Out(0x61, 1, (uint)g.Random.Next(256));
                g.In(0x61, 1);
                break;
            default:
                g.In((ushort)(0x40 + g.Random.Next(4)), g.PortSize());
                break;
        }
    }
}
