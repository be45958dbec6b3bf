using Emulator.Core.Devices;

namespace Emulator.Devices.Display;

/// <summary>The VGA's memory as one linear range: the linear framebuffer BAR of <see cref="VgaPci"/>.</summary>
public sealed class VgaLinearFramebuffer : IBusDevice
{
    private readonly Vga _vga;

    /// <summary>Creates the framebuffer view of <paramref name="vga"/>.</summary>
    public VgaLinearFramebuffer(Vga vga) => _vga = vga;

    /// <inheritdoc/>
    public string Name => "vga-lfb";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.All;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (offset + (ulong)data.Length <= Vga.VramSize)
        {
            _vga.Vram.AsSpan((int)offset, data.Length).CopyTo(data);
        }
        else
        {
            data.Fill(0xff);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset + (ulong)data.Length <= Vga.VramSize)
        {
            data.CopyTo(_vga.Vram.AsSpan((int)offset));
            _vga.NoteWritten((int)offset + data.Length);
        }
    }

    /// <summary>Stateless: the VGA holds the memory.</summary>
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
