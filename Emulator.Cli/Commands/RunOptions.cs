using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu run`.</summary>
[Verb("run", HelpText = "Boot a machine. Without --kernel or --bios it boots the built-in demo guest.")]
internal sealed class RunOptions
{
    [Option("accel", Default = "auto", HelpText = "CPU backend: auto (KVM when usable and fast, else the software CPU), jit (software CPU) or kvm.")]
    public string Accel { get; set; } = "auto";

    [Option('m', "memory", Default = "128M", HelpText = "Guest RAM: a number with an optional K, M, G or T suffix (no suffix means MiB), e.g. 512M, 2G.")]
    public string Memory { get; set; } = "128M";

    [Option("smp", Default = 1, HelpText = "Number of vCPUs.")]
    public int Smp { get; set; } = 1;

    [Option("kernel", HelpText = "Kernel to boot (a Linux bzImage or a multiboot kernel).")]
    public string? Kernel { get; set; }

    [Option("initrd", HelpText = "Initial ramdisk (or multiboot module); may be given more than once.")]
    public IEnumerable<string> Initrd { get; set; } = [];

    [Option("append", HelpText = "Kernel command line.")]
    public string? Append { get; set; }

    [Option("bios", HelpText = "Firmware image mapped below 4 GiB (its last 128 KiB also below 1 MiB); the CPU starts at its reset vector.")]
    public string? Bios { get; set; }

    [Option("drive", HelpText = "Raw disk image on a virtio-blk device: file=PATH[,readonly=on][,format=raw]; may be given more than once (PCI slots 03.0, 04.0, ...).")]
    public IEnumerable<string> Drive { get; set; } = [];

    [Option("serial", Default = "stdio", HelpText = "COM1 backend: stdio (Ctrl-A X quits), file:PATH, unix:PATH or null.")]
    public string Serial { get; set; } = "stdio";

    [Option("debug-exit", Default = "0xf4", HelpText = "Port of the debug-exit device: a write of v exits emu with status (v << 1) | 1.")]
    public string DebugExit { get; set; } = "0xf4";

    [Option("debugcon", HelpText = "Debug console port: stdio|file:PATH[,port=N] (default port 0xe9); may be given more than once.")]
    public IEnumerable<string> DebugCon { get; set; } = [];

    [Option("post-codes", HelpText = "Print POST codes written to port 0x80: stderr or file:PATH.")]
    public string? PostCodes { get; set; }

    [Option("guest-errors", HelpText = "Log what the guest does wrong to a device (a register that does not exist, a bad DMA address, a virtqueue that loops), one line each: stderr or file:PATH.")]
    public string? GuestErrors { get; set; }

    [Option("kvm-irqchip", Default = "user", HelpText = "Under --accel kvm: user (the machine's PIC, IOAPIC, local APIC and PIT models) or kernel (KVM's in-kernel irqchip and PIT; no --switch-after).")]
    public string KvmIrqchip { get; set; } = "user";

    [Option("translate", Default = "on", HelpText = "Under --accel jit: on (hot guest code is translated to host machine code; x86-64 hosts) or off (the interpreter alone, for debugging and comparison).")]
    public string Translate { get; set; } = "on";

    [Option("switch-after", HelpText = "Move the running guest to the other CPU backend (kvm to jit, jit to kvm) right after N port I/O accesses; the same point on every run.")]
    public long? SwitchAfter { get; set; }

    [Option("no-reboot", HelpText = "Exit instead of resetting when the guest reboots or triple-faults.")]
    public bool NoReboot { get; set; }
}
