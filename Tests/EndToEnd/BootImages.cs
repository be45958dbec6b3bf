using System.Diagnostics;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The bootable images of the Linux test guest that scripts/boot-images.sh builds from Debian
/// packages (a syslinux MBR/FAT disk and an isolinux ISO with a payload file), made once per test
/// run in a temporary directory, and Debian's SeaBIOS; or why they cannot be had here.
/// </summary>
internal static class BootImages
{
    /// <summary>Debian's SeaBIOS and VGA BIOS (package seabios).</summary>
    public const string SeaBios = "/usr/share/seabios/bios-256k.bin", VgaBios = "/usr/share/seabios/vgabios-stdvga.bin";

    private static readonly Lazy<(string? Directory, string? Problem)> Built = new(Build);

    /// <summary>Why the firmware boot tests cannot run here, or null.</summary>
    public static string? Missing => !File.Exists(SeaBios) || !File.Exists(VgaBios)
        ? $"{SeaBios} or {VgaBios} is missing (apt-get install seabios; .ci/run does)"
        : GuestConsole.MissingImages ?? Built.Value.Problem;

    /// <summary>The syslinux disk image.</summary>
    public static string Disk => Path.Combine(Built.Value.Directory!, "disk.img");

    /// <summary>The isolinux ISO.</summary>
    public static string Iso => Path.Combine(Built.Value.Directory!, "boot.iso");

    /// <summary>The SHA-256 (hex) of /payload.bin on the ISO, computed on the host when it was made.</summary>
    public static string PayloadSha256 => File.ReadAllText(Path.Combine(Built.Value.Directory!, "payload.sha256")).Trim();

    private static (string?, string?) Build()
    {
        string dir = Directory.CreateTempSubdirectory("emu-boot-images").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        string script = Path.Combine(DemoGuestTests.RepositoryRoot(), "scripts", "boot-images.sh");
        var psi = new ProcessStartInfo("bash", [script, dir]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["EMU_GUEST_CACHE"] = GuestConsole.Cache;
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? (dir, null) : (null, $"scripts/boot-images.sh failed: {output.Trim()}");
    }
}
