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

    /// <summary>GRUB's rescue ISO (grub-mkrescue), made when GRUB's BIOS tools are installed.</summary>
    public static string GrubIso => Path.Combine(Built.Value.Directory!, "grub.iso");

    /// <summary>Why the GRUB image cannot be had here, or null.</summary>
    public static string? GrubMissing => Missing ?? (File.Exists(GrubIso) ? null : "grub-mkrescue or GRUB's i386-pc modules are missing (apt-get install grub-pc-bin; .ci/run does)");

    /// <summary>The SHA-256 (hex) of /payload.bin on the ISO, computed on the host when it was made.</summary>
    public static string PayloadSha256 => File.ReadAllText(Path.Combine(Built.Value.Directory!, "payload.sha256")).Trim();

    // The guest is rebuilt by this checkout's scripts/guest-images.sh into a cache of its own next to
    // the shared one (reusing its downloaded packages), so that the initramfs surely has the IDE,
    // CD-ROM and ISO 9660 modules these tests need, whatever version of the script made the shared cache.
    private static (string?, string?) Build()
    {
        string cache = GuestConsole.Cache + "-firmware";
        Directory.CreateDirectory(Path.Combine(cache, "debs"));
        foreach (string deb in Directory.EnumerateFiles(Path.Combine(GuestConsole.Cache, "debs"), "*.deb"))
        {
            string copy = Path.Combine(cache, "debs", Path.GetFileName(deb));
            if (!File.Exists(copy))
            {
                File.Copy(deb, copy);
            }
        }

        string dir = Directory.CreateTempSubdirectory("emu-boot-images").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        string scripts = Path.Combine(DemoGuestTests.RepositoryRoot(), "scripts");
        string? problem = Run(cache, Path.Combine(scripts, "guest-images.sh")) ?? Run(cache, Path.Combine(scripts, "boot-images.sh"), dir);
        return problem is null ? (dir, null) : (null, problem);
    }

    private static string? Run(string cache, string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["EMU_GUEST_CACHE"] = cache;
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : $"{Path.GetFileName(script)} failed: {(stdout.Result + stderr).Trim()}";
    }
}
