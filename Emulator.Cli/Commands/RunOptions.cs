using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu run`.</summary>
[Verb("run", HelpText = "Boot a machine. Without --kernel or --bios it boots the built-in demo guest.")]
internal sealed class RunOptions
{
    [Option("accel", Default = "auto", HelpText = "CPU backend: auto (KVM when usable and fast, else the software CPU), jit (software CPU) or kvm.")]
    public string Accel { get; set; } = "auto";

    [Option('m', "memory", HelpText = "Guest RAM: a number with an optional K, M, G or T suffix (no suffix means MiB), e.g. 512M, 2G. Default 128M.")]
    public string? Memory { get; set; }

    [Option("smp", HelpText = "Number of vCPUs. Default 1.")]
    public int? Smp { get; set; }

    [Option("kernel", HelpText = "Kernel to boot (a Linux bzImage or a multiboot kernel).")]
    public string? Kernel { get; set; }

    [Option("initrd", HelpText = "Initial ramdisk (or multiboot module); may be given more than once.")]
    public IEnumerable<string> Initrd { get; set; } = [];

    [Option("append", HelpText = "Kernel command line.")]
    public string? Append { get; set; }

    [Option("bios", HelpText = "Firmware image mapped below 4 GiB (its last 256 KiB also below 1 MiB); the CPU starts at its reset vector. Without --bios and --kernel, a --drive or --cdrom boots through SeaBIOS (Debian's seabios package).")]
    public string? Bios { get; set; }

    [Option("option-rom", HelpText = "An option ROM for the firmware to run (QEMU's -option-rom): FILE goes into fw_cfg as genroms/NAME, and SeaBIOS copies it into the option-ROM area and calls its init entry. Whole 512-byte blocks, 55 AA, a checksum of 0; may be given more than once.")]
    public IEnumerable<string> OptionRom { get; set; } = [];

    [Option("smbios", HelpText = "SMBIOS fields the guest finds (QEMU's -smbios): type=0,vendor=STR,version=STR,date=MM/DD/YYYY,release=M.N or type=1,manufacturer=STR,product=STR,version=STR,serial=STR,uuid=UUID,sku=STR,family=STR (a comma in a value is written twice); may be given more than once.")]
    public IEnumerable<string> Smbios { get; set; } = [];

    [Option("drive", HelpText = "Disk image (raw or qcow2, from its header): file=PATH[,if=virtio|ide][,readonly=on][,format=raw|qcow2]; may be given more than once. if=virtio (default): its own virtio-blk device (PCI slots 03.0, 04.0, ...); if=ide: an ATA disk on the IDE controller.")]
    public IEnumerable<string> Drive { get; set; } = [];

    [Option("nic", HelpText = "Network card (virtio-net): user[,hostfwd=[tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT][,restrict=on][,mac=MAC][,mtu=N][,model=virtio] (user-mode networking, needs libslirp0), tap[,ifname=NAME][,mac=MAC][,mtu=N] (needs CAP_NET_ADMIN), or none; may be given more than once.")]
    public IEnumerable<string> Nic { get; set; } = [];

    [Option("cdrom", HelpText = "CD-ROM image (an ISO file), read-only, in an ATAPI drive on the IDE controller (secondary master).")]
    public string? Cdrom { get; set; }

    [Option("boot", HelpText = "Firmware boot order as QEMU's letters: c (the disks) and d (the CD-ROM), most preferred first, e.g. d or dc; add ,menu=on for SeaBIOS's boot menu. Default: c then d.")]
    public string? Boot { get; set; }

    [Option("vga", HelpText = "Display adapter: std (the default: standard VGA with Bochs VBE, PCI 1234:1111; SeaBIOS runs Debian's vgabios-stdvga.bin for it) or none.")]
    public string? Vga { get; set; }

    [Option("machine", HelpText = "Machine properties as QEMU's -machine: hpet=on (the default: an HPET at 0xFED00000 with its ACPI table) or hpet=off; a leading pc, is accepted.")]
    public string? Machine { get; set; }

    [Option("device", HelpText = "An extra device, as QEMU's -device: pc-testdev (QEMU's ISA test device: a scratch register at ports 0xe0-0xeb, ISA interrupt lines at ports 0x2000-0x2017, 64 KiB of MMIO bytes at 0xff000000), for kvm-unit-tests' x86 kernels; may be given more than once.")]
    public IEnumerable<string> Device { get; set; } = [];

    [Option("screendump-on-exit", HelpText = "When emu exits, save the VGA screen to FILE: a PNG image (FILE.png), or the text screen as UTF-8 text (FILE.txt); may be given more than once.")]
    public IEnumerable<string> ScreendumpOnExit { get; set; } = [];

    [Option("display", HelpText = "How the VGA screen is shown: none (the default) or curses (QEMU's -display curses: the text screen drawn on this terminal, its keys typed on the PS/2 keyboard, Ctrl-A X quits; COM1 then defaults to null, and stdio is refused for --serial and --debugcon).")]
    public string? Display { get; set; }

    [Option("serial", HelpText = "COM1 backend: stdio (the default; Ctrl-A X quits), file:PATH, unix:PATH or null (the default with --display curses).")]
    public string? Serial { get; set; }

    [Option("debug-exit", HelpText = "Port of the debug-exit device (default 0xf4): a write of v exits emu with status (v << 1) | 1.")]
    public string? DebugExit { get; set; }

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

    [Option("name", HelpText = "A name for this guest: QMP's query-name, `emu list`, `emu perf NAME`.")]
    public string? Name { get; set; }

    [Option("qmp", HelpText = "A QMP control socket (QEMU's protocol): unix:PATH,server[,wait=off]; may be given more than once. wait=on (the default) starts the guest when the first client connects.")]
    public IEnumerable<string> Qmp { get; set; } = [];

    [Option("gdb", HelpText = "A gdbstub (gdb's remote protocol): tcp:HOST:PORT (an empty HOST is 127.0.0.1) or unix:PATH. gdb attaching stops the guest; `target remote :PORT`.")]
    public string? Gdb { get; set; }

    [Option('s', HelpText = "Shorthand for --gdb tcp::1234.")]
    public bool GdbDefault { get; set; }

    [Option('S', HelpText = "Start with the guest stopped (QMP status prelaunch) until a QMP cont or a debugger continues it.")]
    public bool StartPaused { get; set; }

    [Option("restore", HelpText = "Continue the guest saved in a snapshot (a FILE, or a NAME saved by `emu snapshot save`): the machine (RAM, CPUs, disks, firmware, kernel, network cards) is the snapshot's; the CPU backend, serial console, control sockets and debugger options come from this command line, so a guest saved under KVM continues on the software CPU and back.")]
    public string? Restore { get; set; }

    [Option("no-reboot", HelpText = "Exit instead of resetting when the guest reboots or triple-faults.")]
    public bool NoReboot { get; set; }
}
