using Emulator.Core.Devices;

namespace Emulator.Devices.Intc;

/// <summary>
/// The PIIX3's edge/level control registers ELCR1 (offset 0, port 0x4D0: IRQ 0-7) and ELCR2
/// (offset 1, port 0x4D1: IRQ 8-15): a set bit makes that IRQ level-sensitive. The bits are held by
/// the two <see cref="Pic8259"/>s they control, which also clear them at reset, so this device
/// is a window onto them and has no state of its own.
/// </summary>
public sealed class Elcr : IBusDevice
{
    /// <summary>ELCR1's port.</summary>
    public const ushort Port = 0x4D0;

    private const int StateVersion = 1;

    private readonly CascadedPic8259 _pic;

    /// <summary>Creates the window onto <paramref name="pic"/>'s ELCR bits.</summary>
    public Elcr(CascadedPic8259 pic) => _pic = pic;

    /// <inheritdoc/>
    public string Name => "elcr";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data[0] = offset switch
    {
        0 => _pic.Master.Elcr,
        1 => _pic.Slave.Elcr,
        _ => 0xFF,
    };

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == 0)
        {
            _pic.Master.Elcr = data[0];
        }
        else if (offset == 1)
        {
            _pic.Slave.Elcr = data[0];
        }
    }

    /// <summary>Nothing to do: the chips clear their ELCR bits on their own reset.</summary>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, []);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version}");
        }
    }
}
