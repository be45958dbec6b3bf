using System.Runtime.InteropServices;
using Emulator.Backends.Chardev;
using Emulator.Core.Chardev;
using Emulator.Core.Machine;
using Emulator.Kvm;
using Emulator.Machines;
using Emulator.Machines.Loaders;
using Emulator.Machines.Pc;

namespace Emulator.Cli.Commands;

/// <summary>`emu run`: turns options into a <see cref="PcConfig"/>, builds the machine and runs it.</summary>
internal static class RunCommand
{
    public static int Execute(RunOptions o)
    {
        RejectUnimplemented(o);
        ulong memory = ValueParsers.ParseMemorySize("--memory", o.Memory);
        if (o.Smp is < 1 or > 255)
        {
            throw new UsageException($"--smp {o.Smp}: must be between 1 and 255");
        }

        ushort debugExit = ValueParsers.ParsePort("--debug-exit", o.DebugExit);
        List<DriveConfig> drives = [.. o.Drive.Select(ParseDrive)];
        (AcceleratorKind accel, string? choice) = ChooseAccelerator(o.Accel);
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
        byte[]? firmware = o.Bios is null ? null : FirmwareImage.Load(o.Bios);

        var sinks = new List<Stream>();
        MachineControl? control = null;
        ISerialBackend serial;
        try
        {
            serial = SerialBackendSpec.Parse(o.Serial, () => control?.Raise(MachineRequest.Quit));
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
            var config = new PcConfig
            {
                MemoryBytes = memory,
                Cpus = o.Smp,
                Accelerator = accel,
                Firmware = firmware,
                Kernel = KernelBoot(o),
                FirmwareName = o.Bios ?? "built-in demo ROM",
                DebugExitPort = debugExit,
                DebugConsoles = debugConsoles,
                PostCodeSink = post,
                NoReboot = o.NoReboot,
                Drives = drives,
                SwitchAfterPortAccesses = o.SwitchAfter,
                KvmIrqchip = irqchip,
                Translate = translate,
                Notice = line => Console.Error.WriteLine($"emu: {line}"),
            };
            using var machine = new PcMachine(config, serial);
            control = machine.Platform.Control;
            machine.Platform.GuestErrors.Sink = guestErrors;
            using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Quit);
            using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Quit);
            if (choice is not null)
            {
                Console.Error.WriteLine(choice);
            }

            MachineOutcome outcome = machine.Run();
            if (outcome.Status == PcMachine.InternalErrorStatus)
            {
                Console.Error.WriteLine($"emu: {outcome.Reason}");
            }

            return outcome.Status;

            void Quit(PosixSignalContext context)
            {
                context.Cancel = true;
                control.Raise(MachineRequest.Quit);
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

    /// <summary>Parses <c>file=PATH[,readonly=on|off][,format=raw]</c>; the file itself is checked when the machine opens it.</summary>
    private static DriveConfig ParseDrive(string spec)
    {
        string? file = null;
        bool readOnly = false;
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
                case "readonly" when value is "on" or "off":
                    readOnly = value == "on";
                    break;
                case "format" when value == "raw":
                    break;
                case "format":
                    throw new UsageException($"--drive {spec}: format={value} is not supported (only raw images)");
                default:
                    throw new UsageException($"--drive {spec}: bad setting '{part}' (expected file=PATH, readonly=on|off, format=raw)");
            }
        }

        return file is null
            ? throw new UsageException($"--drive {spec}: missing file=PATH")
            : new DriveConfig(file, readOnly);
    }

    private static KernelBootConfig? KernelBoot(RunOptions o) => o.Kernel is null
        ? null
        : new KernelBootConfig
        {
            KernelPath = o.Kernel,
            InitrdPaths = [.. o.Initrd],
            CommandLine = o.Append ?? string.Empty,
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
