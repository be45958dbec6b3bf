namespace Emulator.Fuzzing.Targets;

/// <summary>
/// Accesses with no plan: any port with any width, and loads and stores anywhere in the physical
/// address space (RAM, the firmware ROM, the PCI hole, the APIC pages, past the end of RAM, at the
/// top of the 64-bit space so the access wraps), with any width including ones no register has.
/// </summary>
internal sealed class RandomAccessTarget : IFuzzTarget
{
    public string Name => "random";

    public void Step(FuzzGuest g)
    {
        switch (g.Random.Next(4))
        {
            case 0:
                g.Out((ushort)g.Random.Next(0x10000), g.PortSize(), (uint)g.Value());
                break;
            case 1:
                g.In((ushort)g.Random.Next(0x10000), g.PortSize());
                break;
            case 2:
                g.Store(g.Address(), g.MemorySize(), g.Value());
                break;
            default:
                g.Load(g.Address(), g.MemorySize());
                break;
        }
    }
}
