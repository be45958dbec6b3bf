using Emulator.Devices.Acpi;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The odds and ends a guest can reach by port: port 0x92 (fast A20, fast reset), the reset
/// control register 0xCF9, the ACPI PM1 event, control (every SLP_TYP with and without SLP_EN)
/// and timer blocks, POST port 0x80, the debug console 0xE9 and the debug-exit port 0xF4; with
/// every width, also straddling the ends of each block.
/// </summary>
internal sealed class SystemPortsTarget : IFuzzTarget
{
    public string Name => "system-ports";

    public void Step(FuzzGuest g)
    {
        switch (g.Random.Next(8))
        {
            case 0:
                // Bit 0 resets the machine: drawn, but rarely enough that other state builds up.
                g.Out(0x92, 1, (uint)g.Random.Next(256) & (g.OneIn(16) ? 0xffu : 0xfeu));
                g.In(0x92, 1);
                break;
            case 1:
                g.Out(0xcf9, 1, (uint)g.Random.Next(256) & (g.OneIn(16) ? 0xffu : 0xfbu));
                g.In(0xcf9, 1);
                break;
            case 2:
                g.Out((ushort)(AcpiPmPorts.Pm1aEvtBlk + g.Random.Next(4)), g.PortSize(), (uint)g.Value());
                g.In((ushort)(AcpiPmPorts.Pm1aEvtBlk + g.Random.Next(4)), g.PortSize());
                break;
            case 3:
                // SLP_EN with SLP_TYP 5 powers off and with SLP_TYP 1 sleeps (S3): drawn, but rarely.
                uint control = (uint)g.Value() & (g.OneIn(16) ? 0xffffu : 0xdfffu);
                g.Out((ushort)(AcpiPmPorts.Pm1aCntBlk + g.Random.Next(2)), g.PortSize(), control);
                g.In(AcpiPmPorts.Pm1aCntBlk, g.PortSize());
                break;
            case 4:
                g.In((ushort)(AcpiPmPorts.PmTmrBlk + g.Random.Next(4)), g.PortSize());
                g.Out((ushort)(AcpiPmPorts.PmTmrBlk + g.Random.Next(4)), g.PortSize(), (uint)g.Value());
                break;
            case 5:
                g.Out((ushort)(0x80 + g.Random.Next(-1, 2)), g.PortSize(), (uint)g.Value());
                g.Out((ushort)(0xe9 + g.Random.Next(-1, 2)), g.PortSize(), (uint)g.Value());
                g.In(0x80, g.PortSize());
                g.In(0xe9, g.PortSize());
                break;
            case 6:
                // The debug-exit port: the harness notes the request and keeps going.
                if (g.OneIn(8))
                {
                    g.Out(0xf4, g.PortSize(), (uint)g.Value());
                }

                g.In(0xf4, g.PortSize());
                break;
            default:
                g.Out((ushort)(AcpiPmPorts.Base - 2 + g.Random.Next(16)), g.PortSize(), (uint)g.Value());
                break;
        }
    }
}
