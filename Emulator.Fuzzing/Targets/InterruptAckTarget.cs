namespace Emulator.Fuzzing.Targets;

/// <summary>
/// What a vCPU with interrupts enabled does: when its interrupt source (its local APIC, with the
/// 8259A behind the bootstrap processor's LINT0) has something, it runs the INTA cycle; the
/// handler's EOI to the APIC or the PIC comes later, or never, as the other targets draw it.
/// </summary>
internal sealed class InterruptAckTarget : IFuzzTarget
{
    public string Name => "inta";

    public void Step(FuzzGuest g)
    {
        int cpu = g.Random.Next(g.Machine.LocalApics.Count);
        var apic = g.Machine.LocalApics[cpu];
        if (apic.HasInterrupt)
        {
            lock (g.Machine.Platform.DeviceLock)
            {
                apic.Acknowledge();
            }
        }
    }
}
