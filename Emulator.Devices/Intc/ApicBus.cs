using Emulator.Core.Cpu;

namespace Emulator.Devices.Intc;

/// <summary>
/// The interrupt message path between the local APICs and the IOAPIC (the APIC bus of the P6, the
/// system bus of later processors; Intel SDM Vol. 3A 11.6). It routes IPIs from an ICR and
/// redirected IOAPIC inputs to the local APICs that their destination selects, picks the target of
/// lowest-priority delivery, and carries EOIs of level-triggered vectors back to the IOAPIC.
/// Used with the device lock held.
/// </summary>
public sealed class ApicBus
{
    private readonly List<LocalApic> _apics = [];
    private readonly List<Action<byte>> _eoiListeners = [];

    /// <summary>The local APICs, indexed by vCPU number.</summary>
    public IReadOnlyList<LocalApic> LocalApics => _apics;

    /// <summary>The local APIC of the vCPU running on the calling thread, or null (see <see cref="VcpuContext"/>).</summary>
    public LocalApic? Current
    {
        get
        {
            int index = VcpuContext.CurrentIndex;
            return (uint)index < (uint)_apics.Count ? _apics[index] : null;
        }
    }

    /// <summary>Registers a receiver of EOI broadcasts (the IOAPIC clears Remote IRR on them).</summary>
    public void AddEoiListener(Action<byte> listener) => _eoiListeners.Add(listener);

    internal int Attach(LocalApic apic)
    {
        _apics.Add(apic);
        return _apics.Count - 1;
    }

    /// <summary>Sends <paramref name="message"/> to the local APICs it selects.</summary>
    public void Deliver(in ApicMessage message)
    {
        if (message.Mode == ApicDeliveryMode.LowestPriority && message.Shorthand is ApicShorthand.None)
        {
            LowestPriorityTarget(message)?.Accept(message);
            return;
        }

        foreach (LocalApic apic in _apics)
        {
            if (Selects(message, apic))
            {
                apic.Accept(message);
            }
        }
    }

    /// <summary>An EOI for a level-triggered <paramref name="vector"/> (Intel SDM Vol. 3A 11.8.5).</summary>
    public void BroadcastEoi(byte vector)
    {
        foreach (Action<byte> listener in _eoiListeners)
        {
            listener(vector);
        }
    }

    private static bool Selects(in ApicMessage m, LocalApic apic)
    {
        if (!apic.GloballyEnabled)
        {
            return false;
        }

        return m.Shorthand switch
        {
            ApicShorthand.Self => apic.Index == m.Source,
            ApicShorthand.AllIncludingSelf => true,
            ApicShorthand.AllExcludingSelf => apic.Index != m.Source,
            _ => m.Logical ? apic.MatchesLogical(m.Destination, m.X2ApicFormat) : apic.MatchesPhysical(m.Destination, m.X2ApicFormat),
        };
    }

    // Intel SDM Vol. 3A 11.6.2.4: the processor with the lowest priority among those the destination
    // selects gets the interrupt; a processor already holding the vector in IRR or ISR (the focus
    // processor, 11.9.1) wins. Ties go to the lowest APIC index, standing in for bus arbitration.
    private LocalApic? LowestPriorityTarget(in ApicMessage m)
    {
        LocalApic? best = null;
        foreach (LocalApic apic in _apics)
        {
            if (!Selects(m, apic) || !apic.SoftwareEnabled)
            {
                continue;
            }

            if (apic.HoldsVector(m.Vector))
            {
                return apic;
            }

            if (best is null || apic.ArbitrationPriority < best.ArbitrationPriority)
            {
                best = apic;
            }
        }

        return best;
    }
}
