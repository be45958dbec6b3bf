using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Backends.Block;
using Emulator.Backends.Net;
using Emulator.Machines.Loaders;
using Emulator.Machines.Pc;
using Emulator.Machines.Smbios;

namespace Emulator.Machines.Snapshots;

/// <summary>
/// The shape of the machine a snapshot was taken of (its "machine" section, JSON): RAM, CPUs, the
/// firmware and kernel it booted, its disks with their identities, network cards, VGA, SMBIOS settings. A restore
/// builds the same machine from it; what belongs to the host (the serial console, control sockets,
/// the CPU backend) comes from the restoring command line instead. The firmware image and the VGA
/// BIOS travel in sections of their own, so a restore needs no firmware file.
/// </summary>
public sealed record SnapshotMachineConfig
{
    /// <summary>The version of this section's JSON (2 added "smbios"; version 1 is read as a machine without --smbios).</summary>
    public const int Version = 2;

    /// <summary>Guest RAM in bytes.</summary>
    public required ulong MemoryBytes { get; init; }

    /// <summary>vCPUs.</summary>
    public required int Cpus { get; init; }

    /// <summary>The backend that ran the guest when it was saved (for information: a restore may pick either).</summary>
    public required string Accelerator { get; init; }

    /// <summary>Where the firmware came from, for messages.</summary>
    public required string FirmwareName { get; init; }

    /// <summary>True when the "firmware" section holds the image (else the built-in demo ROM).</summary>
    public bool HasFirmware { get; init; }

    /// <summary>True when the "vga-bios" section holds the VGA option ROM.</summary>
    public bool HasVgaBios { get; init; }

    /// <summary>The directly booted kernel (needed again when the guest reboots), or null.</summary>
    public KernelBootConfig? Kernel { get; init; }

    /// <summary>Port of the debug-exit device.</summary>
    public ushort DebugExitPort { get; init; } = 0xf4;

    /// <summary>The firmware boot order, or null.</summary>
    public string? BootOrder { get; init; }

    /// <summary>Whether firmware shows its boot menu.</summary>
    public bool BootMenu { get; init; }

    /// <summary>Whether the machine has the standard VGA.</summary>
    public bool Vga { get; init; } = true;

    /// <summary>Whether the machine has the HPET (snapshots from before it existed have none).</summary>
    public bool Hpet { get; init; } = true;

    /// <summary>Whether the machine has QEMU's pc-testdev (snapshots from before it existed have none).</summary>
    public bool PcTestdev { get; init; }

    /// <summary>The disks in machine order, each with the identity of its image at the snapshot.</summary>
    public IReadOnlyList<(DriveConfig Drive, DiskIdentity Identity)> Drives { get; init; } = [];

    /// <summary>The network cards as given with --nic.</summary>
    public IReadOnlyList<string> Nics { get; init; } = [];

    /// <summary>The SMBIOS settings as --smbios values (<see cref="SmbiosOption.Specs"/>): the guest gets the same tables after a restore.</summary>
    public IReadOnlyList<string> Smbios { get; init; } = [];

    /// <summary>The description of <paramref name="config"/>'s machine, with the identities of its disks as they are now.</summary>
    public static SnapshotMachineConfig Of(PcConfig config, string accelerator) => new()
    {
        MemoryBytes = config.MemoryBytes,
        Cpus = config.Cpus,
        Accelerator = accelerator,
        FirmwareName = config.FirmwareName,
        HasFirmware = config.Firmware is not null,
        HasVgaBios = config.VgaBios is not null,
        Kernel = config.Kernel is { } k ? k with { KernelPath = Path.GetFullPath(k.KernelPath), InitrdPaths = [.. k.InitrdPaths.Select(Path.GetFullPath)] } : null,
        DebugExitPort = config.DebugExitPort,
        BootOrder = config.BootOrder,
        BootMenu = config.BootMenu,
        Vga = config.Vga,
        Hpet = config.Hpet,
        PcTestdev = config.PcTestdev,
        Drives = [.. config.Drives.Select(d => d with { Path = Path.GetFullPath(d.Path) }).Select(d => (d, DiskIdentity.Of(d.Path)))],
        Nics = [.. config.Nics.Select(n => n.Spec)],
        Smbios = SmbiosOption.Specs(config.Smbios),
    };

    /// <summary>
    /// <paramref name="host"/> (the restoring command line's host-side settings) with this machine's
    /// shape, ready to build the machine a snapshot is restored into. <paramref name="firmware"/> and
    /// <paramref name="vgaBios"/> are the images from the snapshot's sections.
    /// </summary>
    public PcConfig Apply(PcConfig host, byte[]? firmware, byte[]? vgaBios)
    {
        List<NicConfig> nics = [.. Nics.Select(n => NicConfig.Parse(n) ?? throw new FormatException($"network card '{n}'"))];
        SmbiosSettings smbios = Smbios.Aggregate(new SmbiosSettings(), (settings, spec) =>
        {
            try
            {
                return SmbiosOption.Apply(settings, spec);
            }
            catch (FormatException e)
            {
                throw new FormatException($"SMBIOS setting '{spec}' ({e.Message})", e);
            }
        });
        var shape = new MachineShape(MemoryBytes, Cpus, Kernel, firmware, FirmwareName, Vga, vgaBios, DebugExitPort, [.. Drives.Select(d => d.Drive)], nics, BootOrder, BootMenu, smbios, Hpet, PcTestdev);
        return shape.ApplyTo(host) with { Restoring = true };
    }

    /// <summary>
    /// How the machine <paramref name="running"/> describes differs in shape from this one (RAM, CPUs,
    /// firmware, kernel, disks, cards, VGA, SMBIOS settings), or null when a snapshot of this machine can be loaded
    /// into it. The backend and the disks' identities are not compared here (see <see cref="ChangedDisk"/>).
    /// </summary>
    public string? ShapeDifference(SnapshotMachineConfig running)
    {
        static string Describe(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "none";
        static string Disk((DriveConfig Drive, DiskIdentity Identity) d) =>
            $"{d.Drive.Path} ({d.Drive.Interface}{(d.Drive.IsCdrom ? " cdrom" : string.Empty)}{(d.Drive.ReadOnly ? " read-only" : string.Empty)}{(d.Drive.Format is { } f ? " " + f : string.Empty)})";
        static string Boot(KernelBootConfig? k) => k is null ? "no kernel" : $"kernel {k.KernelPath} initrd [{string.Join(", ", k.InitrdPaths)}] append \"{k.CommandLine}\"";

        (string What, string Saved, string Now)[] facts =
        [
            ("RAM", $"{MemoryBytes >> 20} MiB", $"{running.MemoryBytes >> 20} MiB"),
            ("vCPUs", Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), running.Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("firmware", HasFirmware ? FirmwareName : "the built-in ROM", running.HasFirmware ? running.FirmwareName : "the built-in ROM"),
            ("VGA", Vga ? (HasVgaBios ? "std with its BIOS" : "std") : "none", running.Vga ? (running.HasVgaBios ? "std with its BIOS" : "std") : "none"),
            ("HPET", Hpet ? "on" : "off", running.Hpet ? "on" : "off"),
            ("pc-testdev", PcTestdev ? "on" : "off", running.PcTestdev ? "on" : "off"),
            ("boot", Boot(Kernel), Boot(running.Kernel)),
            ("boot order", $"{BootOrder ?? "default"}{(BootMenu ? " with menu" : string.Empty)}", $"{running.BootOrder ?? "default"}{(running.BootMenu ? " with menu" : string.Empty)}"),
            ("debug-exit port", $"0x{DebugExitPort:x}", $"0x{running.DebugExitPort:x}"),
            ("disks", Describe(Drives.Select(Disk)), Describe(running.Drives.Select(Disk))),
            ("network cards", Describe(Nics), Describe(running.Nics)),
            ("SMBIOS settings", Describe(Smbios), Describe(running.Smbios)),
        ];
        return facts.FirstOrDefault(f => f.Saved != f.Now) is { What: not null } d
            ? $"the snapshot's machine has {d.What} {d.Saved}, this one {d.Now}"
            : null;
    }

    /// <summary>The first disk that is not the one the snapshot was taken with, and why, or null when all are.</summary>
    public (DriveConfig Drive, string Why)? ChangedDisk()
    {
        foreach ((DriveConfig drive, DiskIdentity saved) in Drives)
        {
            DiskIdentity now;
            try
            {
                now = DiskIdentity.Of(drive.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (drive, $"cannot be read: {e.Message}");
            }

            if (saved.Difference(now) is { } why)
            {
                return (drive, why);
            }
        }

        return null;
    }

    /// <summary>The JSON of this section.</summary>
    public byte[] ToJson()
    {
        var json = new JsonObject
        {
            ["memory"] = MemoryBytes,
            ["cpus"] = Cpus,
            ["accelerator"] = Accelerator,
            ["firmware-name"] = FirmwareName,
            ["firmware"] = HasFirmware,
            ["vga-bios"] = HasVgaBios,
            ["debug-exit-port"] = DebugExitPort,
            ["boot-order"] = BootOrder,
            ["boot-menu"] = BootMenu,
            ["vga"] = Vga,
            ["hpet"] = Hpet,
            ["pc-testdev"] = PcTestdev,
            ["kernel"] = Kernel is null ? null : new JsonObject
            {
                ["path"] = Kernel.KernelPath,
                ["initrd"] = new JsonArray([.. Kernel.InitrdPaths.Select(p => (JsonNode)p)]),
                ["cmdline"] = Kernel.CommandLine,
                ["long-mode-entry"] = Kernel.LinuxLongModeEntry,
                ["real-mode-entry"] = Kernel.RealModeEntry,
            },
            ["drives"] = new JsonArray([.. Drives.Select(d => (JsonNode)new JsonObject
            {
                ["path"] = d.Drive.Path,
                ["read-only"] = d.Drive.ReadOnly,
                ["format"] = d.Drive.Format?.ToString(),
                ["interface"] = d.Drive.Interface.ToString(),
                ["cdrom"] = d.Drive.IsCdrom,
                ["option"] = d.Drive.Option,
                ["size"] = d.Identity.Size,
                ["modified-ticks"] = d.Identity.ModifiedTicks,
                ["head-sha256"] = d.Identity.HeadSha256,
            })]),
            ["nics"] = new JsonArray([.. Nics.Select(n => (JsonNode)n)]),
            ["smbios"] = new JsonArray([.. Smbios.Select(n => (JsonNode)n)]),
        };
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>Reads the JSON of a "machine" section; throws <see cref="InvalidDataException"/> for one that is malformed or of an unknown version.</summary>
    public static SnapshotMachineConfig Parse(ReadOnlySpan<byte> utf8, int version)
    {
        if (version is not (1 or Version))
        {
            throw new InvalidDataException($"machine description version {version} is not supported (this emu reads versions 1 to {Version})");
        }

        try
        {
            JsonObject json = JsonNode.Parse(utf8)?.AsObject() ?? throw new InvalidDataException("machine description is not a JSON object");
            return new SnapshotMachineConfig
            {
                MemoryBytes = json["memory"]!.GetValue<ulong>(),
                Cpus = json["cpus"]!.GetValue<int>(),
                Accelerator = json["accelerator"]!.GetValue<string>(),
                FirmwareName = json["firmware-name"]!.GetValue<string>(),
                HasFirmware = json["firmware"]!.GetValue<bool>(),
                HasVgaBios = json["vga-bios"]!.GetValue<bool>(),
                DebugExitPort = json["debug-exit-port"]!.GetValue<ushort>(),
                BootOrder = json["boot-order"]?.GetValue<string>(),
                BootMenu = json["boot-menu"]!.GetValue<bool>(),
                Vga = json["vga"]!.GetValue<bool>(),
                Hpet = json["hpet"]?.GetValue<bool>() ?? false,
                PcTestdev = json["pc-testdev"]?.GetValue<bool>() ?? false,
                Kernel = json["kernel"] is JsonObject k ? new KernelBootConfig
                {
                    KernelPath = k["path"]!.GetValue<string>(),
                    InitrdPaths = [.. k["initrd"]!.AsArray().Select(p => p!.GetValue<string>())],
                    CommandLine = k["cmdline"]!.GetValue<string>(),
                    LinuxLongModeEntry = k["long-mode-entry"]!.GetValue<bool>(),
                    RealModeEntry = k["real-mode-entry"]?.GetValue<bool>() ?? false,
                } : null,
                Drives = [.. json["drives"]!.AsArray().Select(d => ReadDrive(d!.AsObject()))],
                Nics = [.. json["nics"]!.AsArray().Select(n => n!.GetValue<string>())],
                Smbios = version == 1 ? [] : [.. json["smbios"]!.AsArray().Select(n => n!.GetValue<string>())],
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"machine description is malformed: {e.Message}", e);
        }
    }

    private static (DriveConfig, DiskIdentity) ReadDrive(JsonObject d)
    {
        string path = d["path"]!.GetValue<string>();
        DiskImageFormat? format = d["format"]?.GetValue<string>() is { } f ? Enum.Parse<DiskImageFormat>(f) : null;
        var drive = new DriveConfig(path, d["read-only"]!.GetValue<bool>(), format)
        {
            Interface = Enum.Parse<DriveInterface>(d["interface"]!.GetValue<string>()),
            IsCdrom = d["cdrom"]!.GetValue<bool>(),
            Option = d["option"]!.GetValue<string>(),
        };
        var identity = new DiskIdentity(path, d["size"]!.GetValue<long>(), d["modified-ticks"]!.GetValue<long>(), d["head-sha256"]!.GetValue<string>());
        return (drive, identity);
    }
}
