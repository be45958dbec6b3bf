using Emulator.Core.Devices;

namespace Emulator.Devices.Intc;

/// <summary>
/// The local APIC register page at 0xFEE00000 as the physical address space sees it: one region
/// shared by all processors that sends each access to the local APIC of the processor that made
/// it (Intel SDM Vol. 3A 11.4.1: each processor addresses its own APIC at the same address). The
/// accessing processor is the vCPU of the calling thread (<see cref="ApicBus.Current"/>). Accesses
/// from no vCPU, to a globally disabled APIC, to one in x2APIC mode (whose registers are MSRs only,
/// Intel SDM Vol. 3A 11.12.1.2), or to one whose base was moved read all ones and are dropped, as
/// unclaimed bus cycles.
/// </summary>
public sealed class LocalApicMmio(ApicBus bus) : IBusDevice
{
    /// <inheritdoc/>
    public string Name => "lapic-mmio";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Dword;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (Target() is { } apic)
        {
            apic.Read(offset, data);
        }
        else
        {
            data.Fill(0xFF);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data) => Target()?.Write(offset, data);

    /// <inheritdoc/>
    /// <remarks>Stateless: the local APICs are devices of their own.</remarks>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, 1, []);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != 1)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported (expected 1)");
        }
    }

    // ReadApicBase takes the device lock, which the bus dispatch already holds (Lock is re-entrant).
    private LocalApic? Target() =>
        bus.Current is { GloballyEnabled: true, X2ApicMode: false } apic && (apic.ReadApicBase() & ~0xFFFul & 0xF_FFFF_FFFF) == LocalApic.DefaultBase ? apic : null;
}
