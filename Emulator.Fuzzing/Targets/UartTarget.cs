using Emulator.Machines.Pc;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// COM1's 16550A: LCR with and without DLAB (divisor latch of 0), IER, FCR with every trigger level
/// and FIFO reset, MCR with loopback (the transmitter feeds the receiver, so its FIFO overruns), MSR
/// and LSR reads, scratch, bursts of transmitted bytes, and reads of RBR/IIR in any mode.
/// </summary>
internal sealed class UartTarget : IFuzzTarget
{
    private const ushort Base = PcMachine.Com1Port;

    public string Name => "uart";

    public void Step(FuzzGuest g)
    {
        switch (g.Random.Next(6))
        {
            case 0:
                g.Out((ushort)(Base + g.Random.Next(8)), 1, (uint)g.Random.Next(256));
                break;
            case 1:
                int n = g.Random.Next(1, 40);
                for (int i = 0; i < n; i++)
                {
                    g.Out(Base, 1, (uint)g.Random.Next(256));
                }

                break;
            case 2:
                int reads = g.Random.Next(1, 20);
                for (int i = 0; i < reads; i++)
                {
                    g.In((ushort)(Base + (g.OneIn(2) ? 0 : 5)), 1);
                }

                break;
            case 3:
                g.Out(Base + 3, 1, 0x80 | (uint)g.Random.Next(128)); // DLAB
                g.Out(Base, 1, (uint)g.Random.Next(3));
                g.Out(Base + 1, 1, (uint)g.Random.Next(3));
                g.Out(Base + 3, 1, (uint)g.Random.Next(128));
                break;
            case 4:
                g.Out(Base + 4, 1, (uint)(0x10 | g.Random.Next(16))); // loopback
                g.Out(Base + 2, 1, (uint)g.Random.Next(256));
                g.Out(Base + 1, 1, (uint)g.Random.Next(16));
                break;
            default:
                g.In((ushort)(Base + g.Random.Next(8)), g.PortSize());
                break;
        }
    }
}
