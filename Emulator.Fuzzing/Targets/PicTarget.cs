namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The 8259A pair and the PIIX3 ELCR: initialization sequences with every ICW1 bit (single, LTIM,
/// ADI, no ICW4), arbitrary ICW2-4, OCW2 rotations and EOIs, OCW3 poll and register selects, masks,
/// and reads that act as INTA (poll).
/// </summary>
internal sealed class PicTarget : IFuzzTarget
{
    private static readonly ushort[] Commands = [0x20, 0xa0];

    public string Name => "pic";

    public void Step(FuzzGuest g)
    {
        ushort command = Commands[g.Random.Next(2)];
        ushort data = (ushort)(command + 1);
        switch (g.Random.Next(7))
        {
            case 0:
                // An initialization sequence, sometimes cut short or with ICWs out of order.
                g.Out(command, 1, (uint)(0x10 | g.Random.Next(16)));
                int words = g.Random.Next(4);
                for (int i = 0; i < words; i++)
                {
                    g.Out(data, 1, (uint)g.Random.Next(256));
                }

                break;
            case 1:
                g.Out(command, 1, (uint)(g.Random.Next(8) << 5) | (uint)g.Random.Next(8)); // OCW2
                break;
            case 2:
                g.Out(command, 1, 0x08 | (uint)(g.Random.Next(256) & 0x67)); // OCW3
                g.In(command, 1);
                break;
            case 3:
                g.Out(data, 1, (uint)g.Random.Next(256)); // OCW1 (mask)
                break;
            case 4:
                g.Out((ushort)(0x4d0 + g.Random.Next(2)), g.Random.Next(2) + 1, (uint)g.Value());
                break;
            case 5:
                g.In((ushort)(g.OneIn(2) ? 0x4d0 : data), g.PortSize());
                break;
            default:
                g.Out(command, g.PortSize(), (uint)g.Value());
                break;
        }
    }
}
