using Emulator.Core.Block;

namespace Emulator.Machines.Pc;

/// <summary>One drive and where it sits: a virtio-blk PCI slot, or a position on the IDE channels.</summary>
/// <param name="Config">What the user asked for.</param>
/// <param name="Image">The opened image.</param>
/// <param name="VirtioSlot">PCI slot of its virtio-blk device, or -1.</param>
/// <param name="IdePosition">0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave, or -1.</param>
public sealed record PlacedDrive(DriveConfig Config, IBlockBackend Image, int VirtioSlot, int IdePosition)
{
    /// <summary>
    /// The drive's firmware device path, the form SeaBIOS matches its "bootorder" entries against
    /// (src/boot.c: build_pci_path, build_ata_path; QEMU writes the same): the IDE function is PCI 01.1.
    /// </summary>
    public string FirmwarePath => IdePosition >= 0
        ? $"/pci@i0cf8/ide@1,1/drive@{IdePosition / 2}/disk@{IdePosition % 2}"
        : $"/pci@i0cf8/scsi@{VirtioSlot:x}/disk@0,0";
}

/// <summary>
/// Places the drives as QEMU does: virtio disks on consecutive PCI slots from
/// <see cref="PcPci.FirstDriveSlot"/>; on IDE, CD-ROMs first take the secondary master (QEMU's
/// -cdrom is index 2), then every other IDE drive the first free position from the primary master.
/// </summary>
public static class PcDriveLayout
{
    /// <summary>Positions on the two IDE channels.</summary>
    public const int IdePositions = 4;

    /// <summary>Places <paramref name="configs"/>, whose images are <paramref name="images"/> (same order).</summary>
    public static List<PlacedDrive> Place(IReadOnlyList<DriveConfig> configs, IReadOnlyList<IBlockBackend> images)
    {
        var taken = new bool[IdePositions];
        var ide = new int[configs.Count];
        Array.Fill(ide, -1);
        foreach (int i in Enumerable.Range(0, configs.Count).Where(i => configs[i].Interface == DriveInterface.Ide)
            .OrderBy(i => configs[i].IsCdrom ? 0 : 1))
        {
            int preferred = configs[i].IsCdrom ? 2 : 0;
            int position = Enumerable.Range(0, IdePositions).Select(p => (preferred + p) % IdePositions).FirstOrDefault(p => !taken[p], -1);
            if (position < 0)
            {
                throw new MachineConfigException($"{configs[i].Option} {configs[i].Path}: the IDE controller holds {IdePositions} drives (CD-ROMs included), all taken");
            }

            taken[position] = true;
            ide[i] = position;
        }

        var placed = new List<PlacedDrive>();
        int slot = PcPci.FirstDriveSlot;
        for (int i = 0; i < configs.Count; i++)
        {
            placed.Add(ide[i] >= 0 ? new PlacedDrive(configs[i], images[i], -1, ide[i]) : new PlacedDrive(configs[i], images[i], slot++, -1));
        }

        return placed;
    }

    /// <summary>
    /// The "bootorder" lines for QEMU's boot letters (<paramref name="letters"/>, default "cd"): 'c'
    /// adds the disks in the order given, 'd' the CD-ROMs. Firmware tries devices not listed after these.
    /// </summary>
    public static List<string> BootOrder(IEnumerable<PlacedDrive> drives, string? letters)
    {
        var paths = new List<string>();
        foreach (char letter in letters ?? "cd")
        {
            bool cdrom = letter == 'd';
            paths.AddRange(drives.Where(d => d.Config.IsCdrom == cdrom).Select(d => d.FirmwarePath).Where(p => !paths.Contains(p)));
        }

        return paths;
    }
}
