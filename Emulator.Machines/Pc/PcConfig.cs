using Emulator.Backends.Net;
using Emulator.Kvm;
using Emulator.Machines.Loaders;
using Emulator.Machines.Smbios;

namespace Emulator.Machines.Pc;

/// <summary>Which CPU backend runs the guest.</summary>
public enum AcceleratorKind
{
    /// <summary>The software CPU.</summary>
    Jit,
    /// <summary>Linux KVM.</summary>
    Kvm,
}

/// <summary>Everything the user chose for one PC machine.</summary>
public sealed record PcConfig
{
    /// <summary>Guest RAM in bytes.</summary>
    public ulong MemoryBytes { get; init; } = 128UL << 20;

    /// <summary>Number of vCPUs.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>The backend.</summary>
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Jit;

    /// <summary>Firmware image mapped below 4 GiB; null selects the built-in demo ROM.</summary>
    public byte[]? Firmware { get; init; }

    /// <summary>A kernel to boot directly (--kernel, --initrd, --append), or null to start the firmware at the reset vector.</summary>
    public KernelBootConfig? Kernel { get; init; }

    /// <summary>Where the firmware came from, for messages.</summary>
    public string FirmwareName { get; init; } = "built-in demo ROM";

    /// <summary>Port of the debug-exit device.</summary>
    public ushort DebugExitPort { get; init; } = 0xf4;

    /// <summary>Debug console ports and their sinks.</summary>
    public IReadOnlyList<(ushort Port, Stream Sink)> DebugConsoles { get; init; } = [];

    /// <summary>Where POST codes go, or null.</summary>
    public Action<byte>? PostCodeSink { get; init; }

    /// <summary>Exit instead of resetting when the guest reboots or triple-faults.</summary>
    public bool NoReboot { get; init; }

    /// <summary>The RTC's date and time at power-on; null takes the host's UTC time.</summary>
    public DateTime? RtcStart { get; init; }

    /// <summary>
    /// Disk and CD-ROM images: virtio ones each on its own virtio-blk device (consecutive PCI slots
    /// from 03.0), IDE ones on the PIIX3's channels (CD-ROMs from the secondary master, as QEMU's
    /// -cdrom; disks in the free positions from the primary master).
    /// </summary>
    public IReadOnlyList<DriveConfig> Drives { get; init; } = [];

    /// <summary>Network cards, each a virtio-net device (PCI slots after the drives).</summary>
    public IReadOnlyList<NicConfig> Nics { get; init; } = [];

    /// <summary>
    /// Move the running guest to the other backend (KVM to the software CPU or back) right after this
    /// many port I/O accesses, or never when null. Port I/O happens at the same points of the guest's
    /// execution on both backends, so the move happens at the same place in every run.
    /// </summary>
    public long? SwitchAfterPortAccesses { get; init; }

    /// <summary>
    /// Under KVM, whether the interrupt controllers and the PIT are the machine's models or KVM's
    /// own; with <see cref="KvmIrqchipMode.Kernel"/> the guest cannot move to the software CPU.
    /// </summary>
    public KvmIrqchipMode KvmIrqchip { get; init; } = KvmIrqchipMode.User;

    /// <summary>Software CPU: translate hot code to host code (where the host has a translator backend), or interpret only.</summary>
    public bool Translate { get; init; } = true;

    /// <summary>Where one-line notices for the user go (the CLI prints them on stderr), or null.</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>
    /// Boot order for firmware as QEMU's letters: 'c' the disks, 'd' the CD-ROMs, most preferred
    /// first (passed to SeaBIOS as its "bootorder" file). Null means "cd".
    /// </summary>
    public string? BootOrder { get; init; }

    /// <summary>Whether the machine has the standard VGA (PCI 1234:1111 with Bochs VBE), as QEMU's -vga std.</summary>
    public bool Vga { get; init; } = true;

    /// <summary>Whether the machine has an HPET at 0xFED00000 with its ACPI table (<c>--machine hpet=on|off</c>; on by default, as QEMU's <c>pc</c>).</summary>
    public bool Hpet { get; init; } = true;

    /// <summary>Whether the machine has QEMU's <c>pc-testdev</c> (<c>--device pc-testdev</c>), the test device kvm-unit-tests' x86 kernels use.</summary>
    public bool PcTestdev { get; init; }

    /// <summary>The VGA option ROM firmware runs for INT 10h (Debian's vgabios-stdvga.bin), or null for none.</summary>
    public byte[]? VgaBios { get; init; }

    /// <summary>Option ROMs firmware loads from fw_cfg (<c>genroms/NAME</c>, <c>--option-rom</c>) and runs.</summary>
    public IReadOnlyList<OptionRomImage> OptionRoms { get; init; } = [];

    /// <summary>What the user set for the SMBIOS tables (--smbios).</summary>
    public SmbiosSettings Smbios { get; init; } = new();

    /// <summary>Whether firmware shows its boot menu (SeaBIOS: press ESC), through fw_cfg.</summary>
    public bool BootMenu { get; init; }

    /// <summary>Start with the VM stopped (<c>-S</c>): the vCPUs wait for a <c>cont</c> from the control socket or the debugger.</summary>
    public bool StartPaused { get; init; }

    /// <summary>
    /// The machine's RAM, device and CPU state will come from a snapshot (<see cref="PcMachine.RestoreSnapshot"/>):
    /// nothing is loaded at power-on (a directly booted kernel is loaded again only when the guest resets).
    /// </summary>
    public bool Restoring { get; init; }

    /// <summary>Deterministic virtual time (tests).</summary>
    public bool DeterministicTime { get; init; }
}
