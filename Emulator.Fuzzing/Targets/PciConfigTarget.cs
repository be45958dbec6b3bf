namespace Emulator.Fuzzing.Targets;

/// <summary>
/// PCI configuration space through mechanism #1: CONFIG_ADDRESS with and without the enable bit, any
/// bus, device, function and register, narrow and unaligned data accesses at 0xCFC-0xCFF; the BAR
/// sizing protocol; BARs moved over RAM, over the local APIC and IOAPIC, over each other, to the
/// top of the 32-bit space, or to ports 0; command register bits toggled while BARs move;
/// status write-one-to-clear; capability lists walked and written, including the virtio
/// PCI_CFG window with any BAR, offset and length; PIIX3 PIRQ routing to any IRQ (0, 2, 13, 15,
/// disabled) and the i440FX's PAM/SMRAM bytes.
/// </summary>
internal sealed class PciConfigTarget : IFuzzTarget
{
    private static readonly uint[] BarTargets = [0, 0x1000, 0x9f000, 0xa0000, 0xfee0_0000, 0xfec0_0000, 0xffff_f000, 0xffff_ffff, 0xc000_0000, 0xc000_4000, 0xfebf_c000];

    public string Name => "pci-config";

    public void Step(FuzzGuest g)
    {
        int device = g.OneIn(8) ? g.Random.Next(32) : g.Random.Next(4);
        int function = g.OneIn(8) ? g.Random.Next(8) : 0;
        switch (g.Random.Next(9))
        {
            case 0:
                g.Out(0xcf8, 4, (uint)g.Value());
                g.In((ushort)(0xcfc + g.Random.Next(4)), g.PortSize());
                break;
            case 1:
                g.Out(0xcf8, 4, (uint)g.Value());
                g.Out((ushort)(0xcfc + g.Random.Next(4)), g.PortSize(), (uint)g.Value());
                break;
            case 2:
                // BAR sizing, then a new address.
                int bar = 0x10 + (4 * g.Random.Next(7));
                g.ConfigWrite(device, function, bar, 4, 0xffff_ffff);
                g.ConfigRead(device, function, bar, 4);
                uint target = g.OneIn(3) ? (uint)g.Value() : BarTargets[g.Random.Next(BarTargets.Length)];
                g.ConfigWrite(device, function, bar, 4, target);
                break;
            case 3:
                // Command register: I/O, memory, bus master, interrupt disable and everything else.
                g.ConfigWrite(device, function, 0x04, g.OneIn(2) ? 2 : 4, (uint)g.Value());
                break;
            case 4:
                // Walk the capability list as a driver does, writing into what it finds.
                uint next = g.ConfigRead(device, function, 0x34, 1) & 0xfc;
                for (int hops = 0; hops < 8 && next >= 0x40; hops++)
                {
                    if (g.OneIn(3))
                    {
                        g.ConfigWrite(device, function, (int)next + g.Random.Next(20), g.PortSize(), (uint)g.Value());
                    }

                    next = g.ConfigRead(device, function, (int)next + 1, 1) & 0xfc;
                }

                break;
            case 5:
                // The virtio PCI_CFG window: bar, offset, length, then data (Virtio 1.1 §4.1.4.7).
                int cap = FindLastVendorCapability(g, device, function);
                if (cap != 0)
                {
                    g.ConfigWrite(device, function, cap + 4, 1, g.OneIn(4) ? (uint)g.Random.Next(256) : 0);
                    g.ConfigWrite(device, function, cap + 8, 4, g.OneIn(3) ? (uint)g.Value() : (uint)g.Random.Next(0x4000));
                    g.ConfigWrite(device, function, cap + 12, 4, g.OneIn(3) ? (uint)g.Value() : (uint)(1 << g.Random.Next(3)));
                    if (g.OneIn(2))
                    {
                        g.ConfigWrite(device, function, cap + 16, g.PortSize(), (uint)g.Value());
                    }
                    else
                    {
                        g.ConfigRead(device, function, cap + 16 + g.Random.Next(4), g.PortSize());
                    }
                }

                break;
            case 6:
                // PIIX3 PIRQ route control and the rest of the bridges' device-specific space.
                g.ConfigWrite(g.Random.Next(2), 0, 0x40 + g.Random.Next(0xc0), g.PortSize(), (uint)g.Value());
                break;
            case 7:
                g.ConfigWrite(device, function, g.Random.Next(256), g.PortSize(), (uint)g.Value());
                break;
            default:
                g.ConfigRead(device, function, g.Random.Next(256), g.PortSize());
                break;
        }
    }

    private static int FindLastVendorCapability(FuzzGuest g, int device, int function)
    {
        int found = 0;
        uint next = g.ConfigRead(device, function, 0x34, 1) & 0xfc;
        for (int hops = 0; hops < 16 && next >= 0x40; hops++)
        {
            if (g.ConfigRead(device, function, (int)next, 1) == 0x09)
            {
                found = (int)next;
            }

            next = g.ConfigRead(device, function, (int)next + 1, 1) & 0xfc;
        }

        return found;
    }
}
