using Emulator.Devices.Ide;

namespace Emulator.Machines.Pc;

/// <summary>The PIIX3 IDE controller: two channels on their legacy ports and ISA IRQs 14 and 15.</summary>
public sealed partial class PcMachine
{
    private readonly List<IIdeDevice> _ideDrives = [];

    /// <summary>The primary and secondary IDE channels.</summary>
    public IdeChannel[] IdeChannels { get; private set; } = [];

    private Piix3Ide AddIde(List<PlacedDrive> drives)
    {
        var units = new IIdeDevice?[PcDriveLayout.IdePositions];
        foreach (PlacedDrive d in drives.Where(d => d.IdePosition >= 0))
        {
            string serial = $"EMU{d.IdePosition:d4}";
            IIdeDevice drive = d.Config.IsCdrom ? new AtapiCdrom(d.Image, serial) : new AtaDisk(d.Image, serial);
            units[d.IdePosition] = drive;
            _ideDrives.Add(drive);
        }

        var primary = new IdeChannel("ide0", IsaIrq(Piix3Ide.PrimaryIrq), units[0], units[1]);
        var secondary = new IdeChannel("ide1", IsaIrq(Piix3Ide.SecondaryIrq), units[2], units[3]);
        AddPort(Piix3Ide.PrimaryCommand, IdeChannel.CommandBlockPorts, primary);
        Platform.Io.Register(Piix3Ide.PrimaryControl, 1, primary, IdeChannel.ControlOffset);
        AddPort(Piix3Ide.SecondaryCommand, IdeChannel.CommandBlockPorts, secondary);
        Platform.Io.Register(Piix3Ide.SecondaryControl, 1, secondary, IdeChannel.ControlOffset);
        IdeChannels = [primary, secondary];
        return new Piix3Ide(primary, secondary, Platform.Memory);
    }

    // Flushes and closes the images behind the IDE drives.
    private void DisposeIde()
    {
        foreach (IIdeDevice d in _ideDrives)
        {
            d.Dispose();
        }

        _ideDrives.Clear();
    }
}
