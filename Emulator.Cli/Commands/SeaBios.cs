using Emulator.Machines;

namespace Emulator.Cli.Commands;

/// <summary>
/// Debian's SeaBIOS (package seabios), the firmware emu boots disks and CD-ROMs with when the user
/// gives neither --bios nor --kernel. emu ships no firmware binary of another project: it uses the
/// installed one, or says in one line how to install it.
/// </summary>
internal static class SeaBios
{
    /// <summary>The QEMU build of SeaBIOS (256 KiB, with fw_cfg support) as Debian installs it.</summary>
    public const string BiosPath = "/usr/share/seabios/bios-256k.bin";

    /// <summary>The VGA BIOS for the standard VGA (Bochs VBE), from the same package.</summary>
    public const string VgaBiosPath = "/usr/share/seabios/vgabios-stdvga.bin";

    /// <summary>The installed SeaBIOS image, or a <see cref="MachineConfigException"/> naming the package.</summary>
    public static string Require() => Require("booting a --drive or --cdrom", " (or give --bios FILE, or --kernel FILE to boot a kernel directly)");

    /// <summary>The installed SeaBIOS image, or a <see cref="MachineConfigException"/> saying that <paramref name="what"/> needs it and naming the package.</summary>
    public static string Require(string what, string alternative = "") => File.Exists(BiosPath)
        ? BiosPath
        : throw new MachineConfigException($"{what} needs a BIOS: {BiosPath} is missing; install it with 'apt-get install seabios'{alternative}");
}
