using Emulator.Core.Devices;

namespace Emulator.Devices.Intc;

/// <summary>
/// A local APIC register page as the physical address space sees it: one region shared by all
/// processors that sends each access to the local APIC of the processor that made it (Intel SDM
/// Vol. 3A 11.4.1: each processor addresses its own APIC at the same address). The accessing
/// processor is the vCPU of the calling thread (<see cref="ApicBus.Current"/>). The page at
/// <paramref name="baseAddress"/> serves the APICs whose IA32_APIC_BASE points there (0xFEE00000
/// unless software relocated it, 11.4.4); accesses from no vCPU, or from one whose APIC is globally
/// disabled, in x2APIC mode (whose registers are MSRs only, 11.12.1.2) or based elsewhere, read all
/// ones and are dropped, as unclaimed bus cycles.
/// </summary>
public sealed class LocalApicMmio(ApicBus bus, ulong baseAddress = LocalApic.DefaultBase) : IBusDevice
{
    /// <inheritdoc/>
    public string Name => "lapic-mmio";

    /// <summary>The physical address of this page.</summary>
    public ulong BaseAddress => baseAddress;

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

    // The bus dispatch holds the device lock, which guards the APIC's base.
    private LocalApic? Target() =>
        bus.Current is { GloballyEnabled: true, X2ApicMode: false } apic && apic.BaseAddress == baseAddress ? apic : null;
}
