namespace Emulator.Devices.Intc;

/// <summary>
/// The processor core behind one local APIC, as the APIC drives it: the INTR, NMI and INIT signals
/// and the startup IPI. The machine implements it over a vCPU; the APIC never sees CPU state.
/// Called with the device lock held, so implementations must not wait for a vCPU to stop.
/// </summary>
public interface IApicProcessor
{
    /// <summary>The APIC (or the 8259A behind LINT0) may now present an interrupt: wake a halted processor.</summary>
    void InterruptPending();

    /// <summary>An NMI was delivered.</summary>
    void Nmi();

    /// <summary>
    /// INIT was delivered: the processor resets (Intel SDM Vol. 3A 9.1). When
    /// <paramref name="waitForStartup"/> is set (an application processor) it then waits for a
    /// startup IPI; otherwise (the bootstrap processor) it restarts at the reset vector.
    /// </summary>
    void Init(bool waitForStartup);

    /// <summary>A startup IPI reached a processor waiting for one: it starts in real mode at CS = <paramref name="vector"/>00, IP = 0.</summary>
    void Startup(byte vector);
}

/// <summary>A processor that ignores everything (tests, and machines without the wiring).</summary>
public sealed class DetachedApicProcessor : IApicProcessor
{
    /// <summary>The shared instance.</summary>
    public static readonly DetachedApicProcessor Instance = new();

    /// <inheritdoc/>
    public void InterruptPending()
    {
    }

    /// <inheritdoc/>
    public void Nmi()
    {
    }

    /// <inheritdoc/>
    public void Init(bool waitForStartup)
    {
    }

    /// <inheritdoc/>
    public void Startup(byte vector)
    {
    }
}
