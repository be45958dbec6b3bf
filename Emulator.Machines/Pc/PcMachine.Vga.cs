using Emulator.Core.Display;
using Emulator.Core.Memory;
using Emulator.Devices.Display;

namespace Emulator.Machines.Pc;

/// <summary>The standard VGA: its ports, the legacy memory window, the Bochs VBE ports and the PCI function; its option ROM through fw_cfg.</summary>
public sealed partial class PcMachine
{
    /// <summary>The VGA, or null when the machine has none.</summary>
    public Vga? Vga { get; private set; }

    /// <summary>The VGA's text screen for a text display backend (the terminal), or null when the machine has no VGA.</summary>
    public ITextScreenSource? TextScreen => Vga is null ? null : new VgaTextSource(Vga, Platform.DeviceLock);

    private VgaPci? AddVga()
    {
        if (!_config.Vga)
        {
            return null;
        }

        Vga = new Vga();
        AddPort(Vga.PortBase, Vga.PortCount, Vga);
        Platform.Io.Register(BochsDispi.IndexPort, 2, Vga.Dispi);
        Platform.Memory.AddMmio("vga-window", new GuestPhysicalAddress(VgaMemoryWindow.Base), VgaMemoryWindow.Size, new VgaMemoryWindow(Vga));
        if (_config.VgaBios is { } rom)
        {
            FwCfg.AddFile(VgaPci.OptionRomFile, rom);
        }

        return new VgaPci(Vga);
    }
}
