using Emulator.Backends.Net;
using Emulator.Machines.Loaders;
using Emulator.Machines.Smbios;

namespace Emulator.Machines.Pc;

/// <summary>
/// The shape of a PC: what <c>emu run</c>'s machine options choose and what a snapshot restores. The
/// rest of a <see cref="PcConfig"/> belongs to the host that runs it (backend, consoles, control).
/// <see cref="ApplyTo"/> is the one place a shape becomes configuration, whichever of the two it came from.
/// </summary>
/// <param name="MemoryBytes">Guest RAM in bytes.</param>
/// <param name="Cpus">vCPUs.</param>
/// <param name="Kernel">The directly booted kernel, or null.</param>
/// <param name="Firmware">The firmware image, or null for the built-in demo ROM.</param>
/// <param name="FirmwareName">Where the firmware came from, for messages.</param>
/// <param name="Vga">Whether the machine has the standard VGA.</param>
/// <param name="VgaBios">The VGA option ROM, or null.</param>
/// <param name="DebugExitPort">Port of the debug-exit device.</param>
/// <param name="Drives">The disks and CD-ROMs in machine order.</param>
/// <param name="Nics">The network cards.</param>
/// <param name="BootOrder">The firmware boot order, or null.</param>
/// <param name="BootMenu">Whether firmware shows its boot menu.</param>
/// <param name="Smbios">What the user set for the SMBIOS tables.</param>
/// <param name="Hpet">Whether the machine has the HPET (<c>--machine hpet=off</c> removes it).</param>
/// <param name="PcTestdev">Whether the machine has QEMU's pc-testdev (<c>--device pc-testdev</c>).</param>
public sealed record MachineShape(
    ulong MemoryBytes,
    int Cpus,
    KernelBootConfig? Kernel,
    byte[]? Firmware,
    string FirmwareName,
    bool Vga,
    byte[]? VgaBios,
    ushort DebugExitPort,
    IReadOnlyList<DriveConfig> Drives,
    IReadOnlyList<NicConfig> Nics,
    string? BootOrder,
    bool BootMenu,
    SmbiosSettings Smbios,
    bool Hpet = true,
    bool PcTestdev = false)
{
    /// <summary><paramref name="host"/>'s settings with this machine's shape.</summary>
    public PcConfig ApplyTo(PcConfig host) => host with
    {
        MemoryBytes = MemoryBytes,
        Cpus = Cpus,
        Kernel = Kernel,
        Firmware = Firmware,
        FirmwareName = FirmwareName,
        Vga = Vga,
        VgaBios = VgaBios,
        DebugExitPort = DebugExitPort,
        Drives = Drives,
        Nics = Nics,
        BootOrder = BootOrder,
        BootMenu = BootMenu,
        Smbios = Smbios,
        Hpet = Hpet,
        PcTestdev = PcTestdev,
    };
}
