using Emulator.Devices.Pci;

namespace Emulator.Devices.Display;

/// <summary>
/// The VGA as a PCI function with the identity of QEMU's and Bochs' standard VGA (1234:1111, class
/// 03.00.00), which Debian's vgabios-stdvga looks for: BAR 0 is the linear framebuffer (the whole
/// display memory, 32-bit, non-prefetchable here); firmware loads the option ROM from fw_cfg
/// ("pci1234,1111.rom"), so there is no expansion ROM BAR.
/// </summary>
public sealed class VgaPci : PciFunction
{
    /// <summary>Vendor and device ID of the Bochs/QEMU standard VGA.</summary>
    public const ushort BochsVendorId = 0x1234, StdVgaDeviceId = 0x1111;

    /// <summary>Creates the function for <paramref name="vga"/>.</summary>
    public VgaPci(Vga vga)
        : base("vga-pci", BochsVendorId, StdVgaDeviceId, revision: 0x02, classCode: 0x03_00_00)
    {
        Vga = vga;
        AddBar(new PciBar(0, PciBarKind.Memory32, Vga.VramSize, new VgaLinearFramebuffer(vga)));
        Reset();
    }

    /// <summary>The VGA behind the function.</summary>
    public Vga Vga { get; }

    /// <summary>The fw_cfg file name under which SeaBIOS looks for this function's option ROM (src/optionroms.c).</summary>
    public static string OptionRomFile => $"pci{BochsVendorId:x4},{StdVgaDeviceId:x4}.rom";
}
