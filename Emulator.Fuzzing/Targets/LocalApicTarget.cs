using Emulator.Devices.Intc;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The local APICs at 0xFEE00000, each reached from its own vCPU (and the page from a vCPU index
/// that has no APIC): every register offset with every width, aligned or not; the ICR with every
/// delivery mode (fixed, lowest priority, SMI, NMI, INIT assert and de-assert, SIPI, ExtINT and the
/// reserved ones), every shorthand, physical and logical destinations (broadcast, flat and cluster
/// models) and vectors below 16; LVT entries with illegal vectors (the error entry too), every
/// timer mode, initial counts and divide values; SVR enable and disable; EOIs with nothing in
/// service; ESR write-then-read; and the APIC MSRs: IA32_APIC_BASE with reserved bits, disabled,
/// re-enabled and switched to x2APIC mode (legal and illegal transitions), IA32_TSC_DEADLINE, and
/// the x2APIC MSRs 800H-8FFH (every index, read and written, the 64-bit ICR with 32-bit
/// destinations, SELF IPI), whichever mode the APIC is in.
/// </summary>
internal sealed class LocalApicTarget : IFuzzTarget
{
    private const ulong Base = LocalApic.DefaultBase;

    public string Name => "local-apic";

    public void Step(FuzzGuest g)
    {
        int cpus = g.Machine.LocalApics.Count;
        g.Cpu = g.OneIn(16) ? cpus : g.Random.Next(cpus);
        switch (g.Random.Next(10))
        {
            case 0:
            case 1:
                // An IPI: destination first, then the low half sends it.
                uint destination = g.Random.Next(4) switch { 0 => 0xffu, 1 => (uint)g.Random.Next(cpus + 1), 2 => 1u << g.Random.Next(8), _ => (uint)g.Random.Next(256) };
                Write(g, 0x310, destination << 24);
                uint mode = (uint)g.Random.Next(8);
                if (mode is 5 or 6 && g.OneIn(2))
                {
                    // INIT and SIPI are the disruptive ones: most are sent the way MP start-up does.
                    mode = (uint)g.Random.Next(5);
                }

                uint vector = g.OneIn(8) ? (uint)g.Random.Next(16) : (uint)g.Random.Next(256);
                uint icr = vector | (mode << 8) | ((uint)g.Random.Next(2) << 11) | ((uint)g.Random.Next(4) << 14) | ((uint)g.Random.Next(4) << 18);
                Write(g, 0x300, g.OneIn(16) ? (uint)g.Value() : icr);
                break;
            case 2:
                // LVT entries: timer, thermal, performance, LINT0, LINT1, error.
                Write(g, 0x320 + (0x10 * (ulong)g.Random.Next(6)), g.OneIn(4) ? (uint)g.Value() : (uint)g.Random.Next(0x80000));
                break;
            case 3:
                Write(g, 0x380, g.OneIn(2) ? (uint)g.Random.Next(1, 100000) : (uint)g.Value()); // initial count
                Write(g, 0x3e0, (uint)g.Random.Next(16)); // divide configuration
                g.Load(Base + 0x390, 4);
                break;
            case 4:
                Write(g, 0x0f0, (uint)g.Random.Next(0x400)); // SVR
                Write(g, 0x080, (uint)g.Random.Next(256)); // TPR
                break;
            case 5:
                Write(g, 0x0b0, 0); // EOI
                Write(g, 0x280, 0); // ESR
                g.Load(Base + 0x280, 4);
                break;
            case 6:
                // The MSRs the APIC owns, as RDMSR/WRMSR reach them.
                if (g.Cpu < cpus)
                {
                    LocalApic apic = g.Machine.LocalApics[g.Cpu];
                    ulong baseValue = g.Random.Next(5) switch { 0 => g.Value(), 1 => Base | 0x800 | (g.Cpu == 0 ? 0x100UL : 0), 2 => Base, 3 => Base | 0xc00, _ => Base | 0x800 | (ulong)g.Random.Next(0x1000) };
                    apic.WriteMsr(g.OneIn(2) ? LocalApic.ApicBaseMsr : LocalApic.TscDeadlineMsr, g.OneIn(3) ? (ulong)g.Random.NextInt64(1, 1_000_000_000) : baseValue, (ulong)g.Random.NextInt64());
                    apic.TryReadMsr(LocalApic.TscDeadlineMsr, 0, out _);
                }

                break;
            case 7:
                g.Load(Base + (ulong)g.Random.Next(0x1000), g.MemorySize());
                break;
            case 8:
                // The x2APIC registers as MSRs: most of the time the ones that exist, with plausible values.
                if (g.Cpu < cpus)
                {
                    LocalApic apic = g.Machine.LocalApics[g.Cpu];
                    uint msr = g.OneIn(4) ? LocalApic.X2ApicMsrFirst + (uint)g.Random.Next(0x100) : g.Random.Next(6) switch
                    {
                        0 => 0x830u, 1 => 0x83fu, 2 => 0x80bu, 3 => 0x808u, 4 => 0x832u + (uint)g.Random.Next(6), _ => 0x838u,
                    };
                    ulong value = g.Random.Next(3) switch
                    {
                        0 => g.Value(),
                        1 => ((ulong)(g.OneIn(2) ? 0xffff_ffffu : (uint)g.Random.Next(cpus + 1)) << 32) | (uint)g.Random.Next(0x100000),
                        _ => (ulong)g.Random.Next(256),
                    };
                    apic.WriteMsr(msr, value, (ulong)g.Random.NextInt64());
                    apic.TryReadMsr(LocalApic.X2ApicMsrFirst + (uint)g.Random.Next(0x100), 0, out _);
                }

                break;
            default:
                g.Store(Base + (ulong)g.Random.Next(0x1000), g.MemorySize(), g.Value());
                break;
        }
    }

    private static void Write(FuzzGuest g, ulong register, uint value) => g.Store(Base + register, 4, value);
}
