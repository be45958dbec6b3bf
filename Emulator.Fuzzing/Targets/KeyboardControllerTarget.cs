namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The i8042 and the PS/2 keyboard behind it: every controller command byte (RAM reads and writes,
/// self-tests, output-port writes that move A20 or pulse reset, writes to the auxiliary port that has
/// no mouse, pulse commands) followed by arbitrary argument bytes; keyboard commands with and
/// without their argument (scancode set, LEDs, typematic, echo, resend, reset); status and data reads.
/// </summary>
internal sealed class KeyboardControllerTarget : IFuzzTarget
{
    private static readonly byte[] KeyboardCommands = [0xed, 0xee, 0xf0, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

    public string Name => "i8042";

    public void Step(FuzzGuest g)
    {
        switch (g.Random.Next(5))
        {
            case 0:
                uint command = (uint)g.Random.Next(256);
                if (command == 0xfe || (command & 0xf0) == 0xf0 && (command & 1) == 0)
                {
                    // Reset pulses are drawn but less often than other commands, so other state builds up.
                    command = g.OneIn(8) ? command : 0xaa;
                }

                g.Out(0x64, 1, command);
                if (g.OneIn(2))
                {
                    g.Out(0x60, 1, (uint)g.Random.Next(256));
                }

                break;
            case 1:
                g.Out(0x60, 1, KeyboardCommands[g.Random.Next(KeyboardCommands.Length)]);
                if (g.OneIn(2))
                {
                    g.Out(0x60, 1, (uint)g.Random.Next(256));
                }

                break;
            case 2:
                g.Out(0x60, g.PortSize(), (uint)g.Value());
                break;
            case 3:
                g.In(0x64, 1);
                g.In(0x60, 1);
                break;
            default:
                g.In((ushort)(g.OneIn(2) ? 0x60 : 0x64), g.PortSize());
                break;
        }
    }
}
