using System.Runtime.InteropServices;
using Emulator.Backends.Block;
using Emulator.Backends.Chardev;
using Emulator.Backends.Display;
using Emulator.Backends.Net;
using Emulator.Core.Chardev;
using Emulator.Control.Gdb;
using Emulator.Control.Instances;
using Emulator.Control.Qmp;
using Emulator.Core.Machine;
using Emulator.Core.Snapshots;
using Emulator.Jit;
using Emulator.Kvm;
using Emulator.Machines;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;
using Emulator.Machines.Pc;
using Emulator.Machines.Smbios;
using Emulator.Machines.Snapshots;

namespace Emulator.Cli.Commands;

/// <summary>`emu run`: turns options into a <see cref="PcConfig"/>, builds the machine and runs it.</summary>
internal static class RunCommand
{
    public static int Execute(RunOptions o)
    {
        if (o.Restore is null)
        {
            RejectUnimplemented(o);
        }
        else
        {
            RejectMachineOptions(o);
        }

        (AcceleratorKind accel, string? choice) = ChooseAccelerator(o.Accel);
        if (accel == AcceleratorKind.Jit)
        {
            SoftCpuWarmup.Start(); // its tables build while the machine is put together
        }

        if (o.SwitchAfter is long n)
        {
            if (n < 1)
            {
                throw new UsageException($"--switch-after {n}: must be at least 1 (a count of port I/O accesses)");
            }

            KvmProbeResult kvm = KvmProbe.Run();
            if (!kvm.Usable)
            {
                throw new UsageException($"--switch-after moves the guest between the software CPU and KVM, but KVM is unusable here: {kvm.Reason}");
            }
        }

        bool translate = o.Translate switch
        {
            "on" => true,
            "off" => false,
            _ => throw new UsageException($"--translate {o.Translate}: expected on or off"),
        };
        KvmIrqchipMode irqchip = o.KvmIrqchip switch
        {
            "user" => KvmIrqchipMode.User,
            "kernel" => KvmIrqchipMode.Kernel,
            _ => throw new UsageException($"--kvm-irqchip {o.KvmIrqchip}: expected user or kernel"),
        };
        List<QmpEndpoint> qmp = [.. o.Qmp.Select(ParseQmp)];
        GdbEndpoint? gdb = ParseGdb(o);
        if (o.Name is { Length: 0 })
        {
            throw new UsageException("--name: empty");
        }

        // A snapshot is checked whole, and its disks against their identities, before anything is built.
        var restoring = System.Diagnostics.Stopwatch.StartNew();
        SnapshotPhases? phases = o.Restore is null ? null : new SnapshotPhases("snapshot restore");
        using SnapshotReader? snapshot = o.Restore is null ? null : OpenSnapshot(o.Restore, irqchip);
        PcConfig shape = snapshot is null ? MachineFromOptions(o) : MachineFromSnapshot(snapshot);
        phases?.Mark("open");
        List<Screendump> dumps = [.. o.ScreendumpOnExit.Select(path => Screendump.Parse(path, shape.Vga))];
        bool curses = TerminalDisplay.Parse(o, shape.Vga);

        var sinks = new List<Stream>();
        PcMachine? running = null;
        ISerialBackend serial;
        try
        {
            serial = SerialBackendSpec.Parse(o.Serial ?? (curses ? "null" : "stdio"), () => running?.Quit("host-ui"));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }

        try
        {
            var debugConsoles = o.DebugCon.Select(spec => ParseDebugCon(spec, sinks)).ToList();
            Action<byte>? post = ParsePostCodes(o.PostCodes, sinks);
            TextWriter? guestErrors = ParseGuestErrors(o.GuestErrors, sinks);
            PcConfig config = shape with
            {
                Accelerator = accel,
                DebugConsoles = debugConsoles,
                PostCodeSink = post,
                NoReboot = o.NoReboot,
                SwitchAfterPortAccesses = o.SwitchAfter,
                KvmIrqchip = irqchip,
                Translate = translate,
                StartPaused = o.StartPaused,
                Notice = line => Console.Error.WriteLine($"emu: {line}"),
            };
            using var machine = new PcMachine(config, serial);
            running = machine;
            if (snapshot is not null)
            {
                phases!.Mark("machine");
                try
                {
                    machine.RestoreSnapshot(snapshot, phases);
                }
                catch (Emulator.Kvm.KvmException e)
                {
                    throw new SnapshotFileException(snapshot.Path, $"cannot be restored under this host's KVM: {e.Message}");
                }
                snapshot.Dispose();
                Console.Error.WriteLine($"emu: restored {snapshot.Path} ({machine.MemoryBytes >> 20} MiB, {machine.VcpuCount} vCPU(s)) in {restoring.Elapsed.TotalSeconds:0.000} s");
            }

            MachineControl control = machine.Platform.Control;
            machine.Platform.GuestErrors.Sink = guestErrors;
            // Declared after the machine, so disposed first: clients get SHUTDOWN and their last replies.
            using QmpServer server = OpenControlSockets(machine, o.Name, qmp);
            using GdbServer? debugger = gdb is null ? null : OpenGdb(machine, gdb, o.Gdb ?? "tcp::1234");
            using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Quit);
            using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Quit);
            if (choice is not null)
            {
                Console.Error.WriteLine(choice);
            }

            if (qmp.Any(q => q.Wait))
            {
                // QEMU's wait=on: the guest starts once a client is connected (a signal still quits).
                WaitHandle.WaitAny([server.ClientConnected, control.Raised]);
            }

            using CursesDisplay? display = curses ? TerminalDisplay.Start(machine) : null;
            MachineOutcome outcome = machine.Run();
            display?.Dispose(); // the terminal is back before the last messages
            foreach (Screendump dump in dumps)
            {
                dump.Save(machine.Vga!);
            }

            if (outcome.Status == PcMachine.InternalErrorStatus)
            {
                Console.Error.WriteLine($"emu: {outcome.Reason}");
            }

            return outcome.Status;

            void Quit(PosixSignalContext context)
            {
                context.Cancel = true;
                machine.Quit("host-signal");
            }
        }
        finally
        {
            serial.Dispose();
            foreach (Stream s in sinks)
            {
                s.Dispose();
            }
        }
    }

    // The machine's shape from the command line: RAM, CPUs, firmware or kernel, disks, cards, VGA.
    private static PcConfig MachineFromOptions(RunOptions o)
    {
        ulong memory = ValueParsers.ParseMemorySize("--memory", o.Memory ?? "128M");
        int cpus = o.Smp ?? 1;
        if (cpus is < 1 or > 255)
        {
            throw new UsageException($"--smp {cpus}: must be between 1 and 255");
        }

        ushort debugExit = ValueParsers.ParsePort("--debug-exit", o.DebugExit ?? "0xf4");
        List<DriveConfig> drives = [.. o.Drive.Select(ParseDrive)];
        List<NicConfig> nics = ParseNics(o.Nic);
        if (o.Cdrom is not null)
        {
            drives.Add(new DriveConfig(o.Cdrom, ReadOnly: true) { Interface = DriveInterface.Ide, IsCdrom = true, Option = "--cdrom" });
        }

        (string? bootOrder, bool bootMenu) = ParseBoot(o.Boot);
        KernelBootConfig? kernel = KernelBoot(o);
        string? bios = o.Bios ?? (kernel is { RealModeEntry: true }
            ? SeaBios.Require($"--kernel {kernel.KernelPath} (no protected-mode entry: code32_start is 0, so it starts in real mode on a BIOS)")
            : kernel is null && drives.Count > 0 ? SeaBios.Require() : null);
        byte[]? firmware = bios is null ? null : FirmwareImage.Load(bios);
        bool vga = (o.Vga ?? "std") switch
        {
            "std" => true,
            "none" => false,
            _ => throw new UsageException($"--vga {o.Vga}: expected std or none"),
        };
        byte[]? vgaBios = vga && firmware is not null && File.Exists(SeaBios.VgaBiosPath) ? File.ReadAllBytes(SeaBios.VgaBiosPath) : null;
        if (o.OptionRom.Any() && firmware is null)
        {
            throw new UsageException("--option-rom: firmware runs option ROMs; give --bios FILE, or a --drive or --cdrom that boots through SeaBIOS (not --kernel)");
        }

        IReadOnlyList<OptionRomImage> optionRoms = OptionRomImage.LoadAll(o.OptionRom, vgaBios?.Length ?? 0);
        SmbiosSettings smbios = ParseSmbios(o);
        var shape = new MachineShape(memory, cpus, kernel, firmware, bios ?? "built-in demo ROM", vga, vgaBios, debugExit, drives, nics, bootOrder, bootMenu, smbios, ParseMachine(o.Machine), ParseDevices(o.Device));
        return shape.ApplyTo(new PcConfig()) with { OptionRoms = optionRoms };
    }

    // A bad --smbios value is a bad machine description (one line), not a misuse of the command line
    // (no usage text). The tables reach the guest through fw_cfg under firmware, or emu places them
    // itself for --kernel.
    private static SmbiosSettings ParseSmbios(RunOptions o)
    {
        var settings = new SmbiosSettings();
        foreach (string spec in o.Smbios)
        {
            try
            {
                settings = SmbiosOption.Apply(settings, spec);
            }
            catch (FormatException e)
            {
                throw new MachineConfigException($"--smbios {spec}: {e.Message}");
            }
        }

        return settings;
    }

    private static SnapshotReader OpenSnapshot(string nameOrFile, KvmIrqchipMode irqchip)
    {
        if (irqchip == KvmIrqchipMode.Kernel)
        {
            throw new UsageException("--restore with --kvm-irqchip kernel: snapshots hold the machine's own interrupt controllers (use --kvm-irqchip user)");
        }

        string path = SnapshotStore.Resolve(nameOrFile);
        SnapshotReader snapshot = SnapshotReader.Open(path);
        try
        {
            SnapshotMachineConfig machine = ReadShape(snapshot);
            if (machine.ChangedDisk() is { } changed)
            {
                throw snapshot.Fail($"the disk {changed.Drive.Path} is not the one the snapshot was taken with: {changed.Why}");
            }

            if (machine.Kernel is { } kernel && kernel.InitrdPaths.Prepend(kernel.KernelPath).FirstOrDefault(p => !File.Exists(p)) is { } missing)
            {
                throw snapshot.Fail($"the guest was booted from {missing}, which is gone (it is loaded again when the guest reboots)");
            }

            return snapshot;
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    private static PcConfig MachineFromSnapshot(SnapshotReader snapshot)
    {
        SnapshotMachineConfig machine = ReadShape(snapshot);
        byte[]? firmware = machine.HasFirmware ? snapshot.Read("firmware") : null;
        byte[]? vgaBios = machine.HasVgaBios ? snapshot.Read("vga-bios") : null;
        try
        {
            return machine.Apply(new PcConfig(), firmware, vgaBios);
        }
        catch (FormatException e)
        {
            throw snapshot.Fail($"its {e.Message} cannot be set up here", e);
        }
    }

    private static SnapshotMachineConfig ReadShape(SnapshotReader snapshot)
    {
        SnapshotSection section = snapshot.Get("machine");
        try
        {
            return SnapshotMachineConfig.Parse(snapshot.Read(section), section.Version);
        }
        catch (InvalidDataException e)
        {
            throw snapshot.Fail(e.Message, e);
        }
    }

    // --machine [pc,]hpet=on|off, QEMU's -machine syntax for the one property emu has; returns whether the HPET is on.
    private static bool ParseMachine(string? value)
    {
        bool hpet = true;
        foreach (string part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            hpet = part switch
            {
                "pc" => hpet,
                "hpet=on" => true,
                "hpet=off" => false,
                _ => throw new UsageException($"--machine {value}: expected hpet=on or hpet=off"),
            };
        }

        return hpet;
    }

    // --device NAME, QEMU's -device for the one extra device emu has; returns whether pc-testdev was named.
    private static bool ParseDevices(IEnumerable<string> values)
    {
        bool pcTestdev = false;
        foreach (string value in values)
        {
            pcTestdev = value switch
            {
                "pc-testdev" => true,
                _ => throw new UsageException($"--device {value}: emu has one such device, pc-testdev"),
            };
        }

        return pcTestdev;
    }

    // With --restore the machine is the snapshot's: options that shape it would be ignored.
    private static void RejectMachineOptions(RunOptions o)
    {
        (string Option, bool Given)[] shaping =
        [
            ("--memory", o.Memory is not null), ("--smp", o.Smp is not null), ("--kernel", o.Kernel is not null),
            ("--initrd", o.Initrd.Any()), ("--append", o.Append is not null), ("--bios", o.Bios is not null),
            ("--drive", o.Drive.Any()), ("--nic", o.Nic.Any()), ("--cdrom", o.Cdrom is not null), ("--boot", o.Boot is not null),
            ("--vga", o.Vga is not null), ("--debug-exit", o.DebugExit is not null), ("--machine", o.Machine is not null),
            ("--device", o.Device.Any()), ("--option-rom", o.OptionRom.Any()), ("--smbios", o.Smbios.Any()),
        ];
        if (shaping.FirstOrDefault(s => s.Given) is { Option: { } option })
        {
            throw new UsageException($"--restore and {option}: the restored machine is the snapshot's (RAM, CPUs, firmware, kernel, disks, cards)");
        }
    }

    private static GdbEndpoint? ParseGdb(RunOptions o)
    {
        if (o.Gdb is not null && o.GdbDefault)
        {
            throw new UsageException("--gdb and -s: choose one (-s is --gdb tcp::1234)");
        }

        try
        {
            return o.Gdb is { } spec ? GdbEndpoint.Parse(spec) : o.GdbDefault ? GdbEndpoint.Parse("tcp::1234") : null;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    private static GdbServer OpenGdb(PcMachine machine, GdbEndpoint endpoint, string spec)
    {
        try
        {
            return new GdbServer(machine, endpoint);
        }
        catch (IOException e)
        {
            throw new MachineConfigException($"--gdb {spec}: {e.Message}", e);
        }
    }

    private static QmpEndpoint ParseQmp(string spec)
    {
        try
        {
            return QmpEndpoint.Parse(spec);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    // Every emu registers a control socket in the per-user runtime directory (emu list finds it), and
    // listens on each --qmp socket. A runtime directory that is not private costs only the listing.
    private static QmpServer OpenControlSockets(PcMachine machine, string? name, List<QmpEndpoint> qmp)
    {
        var facts = new InstanceFacts
        {
            Name = name,
            Version = typeof(RunCommand).Assembly.GetName().Version ?? new Version(0, 0, 0),
            KvmPresent = KvmProbe.Run().Usable,
        };
        var server = new QmpServer(machine, facts);
        try
        {
            foreach (QmpEndpoint endpoint in qmp)
            {
                try
                {
                    server.Listen(endpoint.Path);
                }
                catch (IOException e)
                {
                    throw new MachineConfigException($"--qmp {e.Message}", e);
                }
            }

            try
            {
                string directory = RuntimeDirectory.Ensure();
                server.Listen(RuntimeDirectory.SocketPath(directory, Environment.ProcessId));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"emu: not registered for `emu list`: {e.Message}");
            }

            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private static void RejectUnimplemented(RunOptions o)
    {
        if (o.Kernel is null && o.Initrd.Any())
        {
            throw new UsageException("--initrd: needs --kernel");
        }

        if (o.Kernel is null && o.Append is not null)
        {
            throw new UsageException("--append: needs --kernel");
        }

        if (o.Kernel is not null && o.Bios is not null)
        {
            throw new UsageException("--kernel and --bios: choose one (--kernel boots the kernel directly, without firmware)");
        }
    }

    /// <summary>Parses <c>ORDER[,menu=on|off]</c> or <c>order=ORDER,menu=on|off</c>, ORDER being QEMU's letters c and d.</summary>
    private static (string? Order, bool Menu) ParseBoot(string? spec)
    {
        if (spec is null)
        {
            return (null, false);
        }

        string? order = null;
        bool menu = false;
        foreach (string part in spec.Split(','))
        {
            string value = part.StartsWith("order=", StringComparison.Ordinal) ? part[6..] : part;
            if (part.StartsWith("menu=", StringComparison.Ordinal) && part[5..] is "on" or "off")
            {
                menu = part == "menu=on";
            }
            else if (value.Length > 0 && value.All(c => c is 'c' or 'd') && order is null)
            {
                order = value;
            }
            else
            {
                throw new UsageException($"--boot {spec}: bad setting '{part}' (expected boot letters c (disk) and d (CD-ROM), e.g. d or dc, and optionally menu=on)");
            }
        }

        return (order, menu);
    }

    /// <summary>Parses <c>file=PATH[,if=virtio|ide][,readonly=on|off][,format=raw|qcow2]</c>; the file itself is checked when the machine opens it.</summary>
    private static DriveConfig ParseDrive(string spec)
    {
        string? file = null;
        bool readOnly = false;
        DriveInterface bus = DriveInterface.Virtio;
        DiskImageFormat? format = null;
        foreach (string part in spec.Split(','))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string value = eq < 0 ? string.Empty : part[(eq + 1)..];
            switch (key)
            {
                case "file" when value.Length > 0:
                    file = value;
                    break;
                case "if" when value is "virtio" or "ide":
                    bus = value == "ide" ? DriveInterface.Ide : DriveInterface.Virtio;
                    break;
                case "readonly" when value is "on" or "off":
                    readOnly = value == "on";
                    break;
                case "format" when value is "raw" or "qcow2":
                    format = value == "raw" ? DiskImageFormat.Raw : DiskImageFormat.Qcow2;
                    break;
                case "format":
                    throw new UsageException($"--drive {spec}: format={value} is not supported (raw or qcow2)");
                default:
                    throw new UsageException($"--drive {spec}: bad setting '{part}' (expected file=PATH, if=virtio|ide, readonly=on|off, format=raw|qcow2)");
            }
        }

        return file is null
            ? throw new UsageException($"--drive {spec}: missing file=PATH")
            : new DriveConfig(file, readOnly, format) { Interface = bus };
    }

    /// <summary>Parses every <c>--nic</c>; <c>none</c> stands alone. Backends are created by the machine.</summary>
    private static List<NicConfig> ParseNics(IEnumerable<string> specs)
    {
        var nics = new List<NicConfig>();
        bool none = false;
        foreach (string spec in specs)
        {
            try
            {
                if (NicConfig.Parse(spec) is { } nic)
                {
                    nics.Add(nic);
                }
                else
                {
                    none = true;
                }
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message, e);
            }
        }

        return none && nics.Count > 0
            ? throw new UsageException("--nic none: cannot be combined with other --nic options")
            : nics;
    }

    private static KernelBootConfig? KernelBoot(RunOptions o) => o.Kernel is null
        ? null
        : new KernelBootConfig
        {
            KernelPath = o.Kernel,
            InitrdPaths = [.. o.Initrd],
            CommandLine = o.Append ?? string.Empty,
            RealModeEntry = RealModeKernel.Needed(o.Kernel),
        };

    private static (AcceleratorKind Kind, string? Message) ChooseAccelerator(string accel)
    {
        switch (accel)
        {
            case "jit":
                return (AcceleratorKind.Jit, null);
            case "kvm":
                KvmProbeResult probe = KvmProbe.Run();
                return probe.Usable
                    ? (AcceleratorKind.Kvm, null)
                    : throw new UsageException($"--accel kvm: {probe.Reason}");
            case "auto":
                KvmProbeResult auto = KvmProbe.Run();
                return auto.Usable && auto.Fast
                    ? (AcceleratorKind.Kvm, $"emu: using KVM (kvm): {auto.Reason}")
                    : (AcceleratorKind.Jit, $"emu: using the software CPU (jit): {auto.Reason}");
            default:
                throw new UsageException($"--accel {accel}: unknown accelerator (expected auto, jit or kvm)");
        }
    }

    private static (ushort Port, Stream Sink) ParseDebugCon(string spec, List<Stream> opened)
    {
        string[] parts = spec.Split(',');
        ushort port = 0xe9;
        foreach (string extra in parts.Skip(1))
        {
            port = extra.StartsWith("port=", StringComparison.Ordinal)
                ? ValueParsers.ParsePort("--debugcon port", extra[5..])
                : throw new UsageException($"--debugcon {spec}: unknown setting '{extra}' (expected port=N)");
        }

        return (port, OpenSink("--debugcon", parts[0], spec, opened));
    }

    private static Action<byte>? ParsePostCodes(string? spec, List<Stream> opened)
    {
        if (spec is null)
        {
            return null;
        }

        Stream sink = spec == "stderr" ? Console.OpenStandardError() : OpenSink("--post-codes", spec, spec, opened);
        return code =>
        {
            byte[] line = System.Text.Encoding.ASCII.GetBytes($"POST {code:x2}\n");
            sink.Write(line);
            sink.Flush();
        };
    }

    private static TextWriter? ParseGuestErrors(string? spec, List<Stream> opened)
    {
        if (spec is null)
        {
            return null;
        }

        Stream sink = spec == "stderr" ? Console.OpenStandardError() : OpenSink("--guest-errors", spec, spec, opened);
        return TextWriter.Synchronized(new StreamWriter(sink, leaveOpen: true) { AutoFlush = true });
    }

    private static Stream OpenSink(string option, string target, string spec, List<Stream> opened)
    {
        if (target == "stdio")
        {
            return Console.OpenStandardOutput();
        }

        if (!target.StartsWith("file:", StringComparison.Ordinal) || target.Length == 5)
        {
            throw new UsageException($"{option} {spec}: expected stdio or file:PATH");
        }

        string path = target[5..];
        try
        {
            var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
            opened.Add(stream);
            return stream;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MachineConfigException($"{option} {path}: cannot create the file: {e.Message}");
        }
    }
}
