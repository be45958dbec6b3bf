using System.Diagnostics;
using Emulator.Core.Machine;
using Emulator.Fuzzing.Targets;
using Emulator.Machines.Pc;

namespace Emulator.Fuzzing;

/// <summary>
/// A hostile guest for the PC's devices, in process: builds the real <see cref="PcMachine"/>
/// (deterministic time, the given number of vCPUs, virtio-rng and optionally a virtio-blk on a
/// scratch image) and, instead of running guest code, makes the accesses guest code would make:
/// IN/OUT, loads and stores of MMIO and RAM, WRMSR to the APIC MSRs, INTA cycles, and the passing
/// of virtual time, drawn from one seeded generator so that a run is reproducible from its seed.
/// Requests the guest makes of the machine are carried out (a reset resets every device, as the
/// reset line does) or noted (power-off, debug exit). Every exception that leaves a device is
/// recorded with the operation and access that caused it; an operation that does not finish is a
/// hang. Afterwards the machine is reset, as a guest that reboots would, and must run a known
/// program (a system test ROM) to its expected exit status.
/// </summary>
public static class DeviceFuzzer
{
    private const ulong RamBytes = 64UL << 20;

    /// <summary>Runs <paramref name="settings"/> and reports what was found.</summary>
    public static DeviceFuzzReport Run(DeviceFuzzSettings settings)
    {
        var report = new DeviceFuzzReport { Seed = settings.Seed, KnownProgramExpected = settings.KnownProgramExitStatus };
        var serial = new CapturedSerial();
        var config = new PcConfig
        {
            MemoryBytes = RamBytes,
            Cpus = settings.Cpus,
            Firmware = settings.KnownProgram,
            FirmwareName = "known program",
            DeterministicTime = true,
            DebugConsoles = [(0xe9, Stream.Null)],
            Drives = settings.ScratchDisk is null ? [] : [new DriveConfig(settings.ScratchDisk, ReadOnly: false)],
            Translate = false,
        };
        var machine = new PcMachine(config, serial);
        machine.Platform.GuestErrors.Sink = settings.GuestErrorSink;
        bool stuck = false;
        try
        {
            var guest = new FuzzGuest(machine, new Random(settings.Seed)) { RamBytes = RamBytes };
            IFuzzTarget[] targets = Targets(settings.ScratchDisk is null ? [PcPci.RngSlot] : [PcPci.RngSlot, PcPci.FirstDriveSlot]);
            var clock = Stopwatch.StartNew();
            stuck = !Fuzz(guest, targets, settings, report);
            report.Elapsed = clock.Elapsed;
            report.Accesses = guest.Accesses;
            if (!stuck)
            {
                RunKnownProgram(machine, serial, settings, report);
            }

            report.GuestErrors = machine.Platform.GuestErrors.Count;
            report.GuestErrorsByDevice = machine.Platform.GuestErrors.CountsByDevice;
            report.RecentGuestErrors = machine.Platform.GuestErrors.Recent;
        }
        finally
        {
            // A machine whose device never returned cannot be taken apart safely: leave it to the process.
            if (!stuck)
            {
                machine.Dispose();
            }
        }

        return report;
    }

    // Weighted: the devices with the most state to get wrong come up most often.
    private static IFuzzTarget[] Targets(int[] virtioSlots)
    {
        IFuzzTarget virtio = new VirtioTarget(virtioSlots);
        IFuzzTarget lapic = new LocalApicTarget();
        IFuzzTarget pci = new PciConfigTarget();
        return
        [
            new PicTarget(), new PitTarget(), new RtcTarget(), new KeyboardControllerTarget(), new UartTarget(),
            new SystemPortsTarget(), pci, pci, virtio, virtio, virtio, lapic, lapic, new IoApicTarget(), new HpetTarget(),
            new InterruptAckTarget(), new RandomAccessTarget(), new TimeTarget(),
        ];
    }

    // Runs the operations on a thread of their own and watches it; false when an operation hung.
    private static bool Fuzz(FuzzGuest guest, IFuzzTarget[] targets, DeviceFuzzSettings settings, DeviceFuzzReport report)
    {
        long done = 0;
        string current = "none";
        var worker = new Thread(
            () =>
        {
            for (long op = 0; op < settings.Operations; op++)
            {
                IFuzzTarget target = targets[guest.Random.Next(targets.Length)];
                Volatile.Write(ref current, $"op {op} ({target.Name})");
                report.OperationsByTarget[target.Name] = report.OperationsByTarget.GetValueOrDefault(target.Name) + 1;
                try
                {
                    target.Step(guest);
                    CarryOutRequests(guest.Machine, report);
                }
#pragma warning disable CA1031 // Every exception leaving a device is a finding, whatever its type.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    report.Exceptions.Add(new DeviceFuzzFailure(op, target.Name, guest.LastAccess, e.ToString()));
                    guest.Machine.Platform.Control.Clear();
                }

                Volatile.Write(ref done, op + 1);
            }
        },
            16 << 20)
        { IsBackground = true, Name = "emu-fuzz" };
        worker.Start();

        long seen = -1;
        var sinceProgress = Stopwatch.StartNew();
        while (!worker.Join(TimeSpan.FromMilliseconds(200)))
        {
            long now = Volatile.Read(ref done);
            if (now != seen)
            {
                seen = now;
                sinceProgress.Restart();
            }
            else if (sinceProgress.Elapsed > settings.StallLimit)
            {
                report.Operations = now;
                report.Hang = $"{Volatile.Read(ref current)} made no progress for {settings.StallLimit.TotalSeconds:F0} s; last access: {guest.LastAccess}";
                return false;
            }
        }

        report.Operations = Volatile.Read(ref done);
        return true;
    }

    private static void CarryOutRequests(PcMachine machine, DeviceFuzzReport report)
    {
        MachineRequest request = machine.Platform.Control.Request;
        if (request == MachineRequest.None)
        {
            return;
        }

        string name = request.ToString();
        report.Requests[name] = report.Requests.GetValueOrDefault(name) + 1;
        if (request == MachineRequest.Reset)
        {
            machine.Reset();
        }

        machine.Platform.Control.Clear(request);
    }

    // The guest reboots into the known program; time follows the wall clock, driven from here.
    private static void RunKnownProgram(PcMachine machine, CapturedSerial serial, DeviceFuzzSettings settings, DeviceFuzzReport report)
    {
        machine.Platform.Control.Clear();
        machine.Reset();
        MachineOutcome? outcome = null;
        var runner = new Thread(() => outcome = machine.Run()) { IsBackground = true, Name = "emu-fuzz-machine" };
        runner.Start();
        var timers = machine.Platform.Timers;
        var clock = Stopwatch.StartNew();
        while (!runner.Join(1))
        {
            timers.AdvanceTo(timers.Clock.NowNanoseconds + 1_000_000);
            if (clock.Elapsed > settings.KnownProgramTimeLimit)
            {
                machine.Platform.Control.Raise(MachineRequest.Quit);
                runner.Join();
                break;
            }
        }

        report.KnownProgramStatus = outcome is { Reason: var reason } o && reason.StartsWith("guest wrote to the debug-exit port", StringComparison.Ordinal) ? o.Status : null;
        report.KnownProgramOutput = serial.Text;
    }
}
