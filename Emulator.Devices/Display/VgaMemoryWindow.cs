using Emulator.Core.Devices;

namespace Emulator.Devices.Display;

/// <summary>The legacy VGA memory window 0xA0000-0xBFFFF as an MMIO device: every byte goes through the <see cref="Vga"/>'s memory logic.</summary>
public sealed class VgaMemoryWindow : IBusDevice
{
    /// <summary>Where the window starts.</summary>
    public const ulong Base = 0xa_0000;

    /// <summary>Its size.</summary>
    public const ulong Size = 0x2_0000;

    private readonly Vga _vga;

    /// <summary>Creates the window of <paramref name="vga"/>.</summary>
    public VgaMemoryWindow(Vga vga) => _vga = vga;

    /// <inheritdoc/>
    public string Name => "vga-window";

    /// <summary>Any width: each byte is a separate VGA memory cycle.</summary>
    public AccessSizes SupportedSizes => AccessSizes.All;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = _vga.ReadWindow((int)offset + i);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            _vga.WriteWindow((int)offset + i, data[i]);
        }
    }

    /// <summary>Stateless: the VGA holds everything.</summary>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, 1, []);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
    }
}
