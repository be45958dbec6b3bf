using Emulator.Backends.Net;
using Emulator.Core.Block;
using Emulator.Core.Chardev;
using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Core.Net;
using Emulator.Devices.Acpi;
using Emulator.Devices.Char;
using Emulator.Devices.Chipset;
using Emulator.Devices.Diagnostics;
using Emulator.Devices.Display;
using Emulator.Devices.FwCfg;
using Emulator.Devices.Ide;
using Emulator.Devices.Input;
using Emulator.Devices.Intc;
using Emulator.Devices.Timers;
using Emulator.Devices.Virtio;
using Emulator.Jit;
using Emulator.Kvm;
using Emulator.Machines.Loaders;

namespace Emulator.Machines.Pc;

/// <summary>How a machine run ended.</summary>
/// <param name="Status">The process exit status emu should return.</param>
/// <param name="Reason">One line for the user.</param>
public sealed record MachineOutcome(int Status, string Reason);

/// <summary>
/// The PC: RAM, firmware, the legacy devices on their usual ports and the vCPUs, assembled in
/// one place. Devices are shared by both backends; only the accelerator differs.
/// </summary>
public sealed partial class PcMachine : IDisposable
{
    /// <summary>COM1's base port.</summary>
    public const ushort Com1Port = 0x3f8;

    /// <summary>Exit status when the software CPU meets something it cannot execute.</summary>
    public const int InternalErrorStatus = 4;

    // The in-kernel PIC, IOAPIC, local APICs and PIT have state the machine's models would need to take over.
    private const string KernelIrqchipCannotMove = "--kvm-irqchip kernel: the guest cannot move to another backend (the in-kernel interrupt controllers' state is not converted to the machine's models)";

    private readonly PcConfig _config;
    private readonly HostMapping _ram;
    private readonly HostMapping _firmware;
    private readonly List<IDevice> _devices = [];
    private readonly List<VcpuThread> _threads = [];
    // _threads as other threads may read it without the machine thread (ObserveRunningVcpus):
    // replaced, never changed, whenever the machine builds or drops its vCPU threads.
    private volatile VcpuThread[] _threadView = [];
    private readonly ISerialBackend _serial;
    private readonly List<IsaIrqLine> _isaLines = [];
    // The disk images, in --drive order (owned by their devices).
    private readonly List<IBlockBackend> _images;
    // Guards Vcpus against kicks while the machine moves to another backend.
    private readonly Lock _vcpuLock = new();
    private IAccelerator _accelerator;
    private string? _failure;

    /// <summary>Builds the machine; throws <see cref="MachineConfigException"/> for what the user got wrong.</summary>
    public PcMachine(PcConfig config, ISerialBackend serial)
    {
        _config = config;
        _serial = serial;
        if (config.KvmIrqchip == KvmIrqchipMode.Kernel && config.Accelerator != AcceleratorKind.Kvm)
        {
            throw new MachineConfigException("--kvm-irqchip kernel needs --accel kvm");
        }

        if (config.KvmIrqchip == KvmIrqchipMode.Kernel && config.SwitchAfterPortAccesses is not null)
        {
            throw new MachineConfigException(KernelIrqchipCannotMove);
        }

        if (config.Cpus is < 1 or > 255)
        {
            throw new MachineConfigException($"--smp {config.Cpus}: a PC has between 1 and 255 CPUs");
        }

        if (config.MemoryBytes < (1UL << 20))
        {
            throw new MachineConfigException($"--memory: {config.MemoryBytes} bytes is less than the 1 MiB a PC needs");
        }

        // Disk images are opened before anything is built, so that a bad --drive fails first and cheaply.
        List<IBlockBackend> images = _images = OpenDrives(config.Drives);
        List<PlacedDrive> drives;
        List<(INetBackend, byte[], int)> nics;
        try
        {
            drives = PcDriveLayout.Place(config.Drives, images);
            nics = OpenNics(config.Nics);
        }
        catch (MachineConfigException)
        {
            images.ForEach(i => i.Dispose());
            throw;
        }

        Platform = new MachinePlatform(config.DeterministicTime) { ProcessorCount = config.Cpus };
        try
        {
            _ram = new HostMapping(config.MemoryBytes);
        }
        catch (InsufficientMemoryException e)
        {
            throw new MachineConfigException($"--memory: the host cannot provide {config.MemoryBytes >> 20} MiB of guest RAM", e);
        }

        PcMemoryMap.MapRam(Platform.Memory, _ram, config.MemoryBytes);
        byte[] image = config.Firmware ?? DemoRom.Image;
        FirmwareImage.Validate(image, config.FirmwareName);
        _firmware = new HostMapping((ulong)image.Length);
        image.CopyTo(_firmware.AsSpan(0, image.Length));
        ulong size = (ulong)image.Length;
        Platform.Memory.AddRom("firmware", new GuestPhysicalAddress(0x1_0000_0000 - size), size, _firmware);
        ShadowRam.Map(Platform.Memory, _ram);
        ShadowRam.Load(Platform.Memory, image);

        Pic = new CascadedPic8259(Platform.DeviceLock);
        AddPort(CascadedPic8259.MasterPort, 2, Pic.Master);
        AddPort(CascadedPic8259.SlavePort, 2, Pic.Slave);
        AddPort(Elcr.Port, 2, new Elcr(Pic));

        // The SCI is ISA IRQ 9, level-triggered (the FADT's SCI_INT and the MADT's override say so),
        // shared with whatever PCI interrupt the guest steers there.
        var irq9 = new WiredOrLine(IsaIrq(9));
        _pmEvent = new AcpiPmEvent(irq9.CreateInput());

        (IInterruptLine pitIrq, IInterruptLine rtcIrq) = AddHpet();
        AddPort(Pit8254.Port, Pit8254.PortCount, Pit = new Pit8254(Platform.Timers, pitIrq));
        AddPort(SystemControlPortB.Port, 1, new SystemControlPortB(Pit, Platform.Timers.Clock));
        IInterruptLine rtcOutput = new SplitLine(rtcIrq, _pmEvent.RtcInterrupt);
        AddPort(Mc146818.Port, 2, Rtc = new Mc146818(Platform.Timers, rtcOutput, config.RtcStart ?? DateTime.UtcNow));
        PcCmos.Initialize(Rtc, config.MemoryBytes, config.Cpus);

        Keyboard = new Ps2Keyboard(Platform.DeviceLock);
        _devices.Add(Keyboard);
        KeyboardController = new I8042(Keyboard, IsaIrq(1), IsaIrq(12), Platform.Control, Platform.A20.CreateInput("i8042"), Platform.GuestErrors);
        AddPort(I8042.DataPort, 1, KeyboardController);
        Platform.Io.Register(I8042.CommandPort, 1, KeyboardController, I8042.CommandOffset);
        AddPort(SystemControlPortA.Port, 1, new SystemControlPortA(Platform.Control, Platform.A20.CreateInput("port92")));

        AddPort(Com1Port, 8, Uart = new Uart16550("uart16550@0x3f8", Platform.DeviceLock, IsaIrq(4), serial));
        AddPort(config.DebugExitPort, 1, new DebugExit(Platform.Control, config.DebugExitPort));
        AddPcTestdev();
        AddPort(PostCodePort.DefaultPort, 1, PostCodes = new PostCodePort(config.PostCodeSink));
        foreach ((ushort port, Stream sink) in config.DebugConsoles)
        {
            AddPort(port, 1, new DebugConsole(sink, port));
        }

        FwCfg = new FwCfgDevice(Platform.Memory);
        Platform.Io.Register(FwCfgDevice.SelectorPort, 2, FwCfg);
        Platform.Io.Register(FwCfgDevice.DmaPort, 8, FwCfg, FwCfgDevice.DmaPort - FwCfgDevice.SelectorPort);
        _devices.Add(FwCfg);
        PcFwCfg.Fill(FwCfg, config, PcDriveLayout.BootOrder(drives, config.BootOrder));
        Piix3Ide ide = AddIde(drives);
        VgaPci? vga = AddVga();

        // The ACPI PM registers and the RTC keep their state through S3 (PcMachine.Sleep).
        AcpiPmControl pmControl = new(Platform.Control, errors: Platform.GuestErrors, enterS3: EnterS3);
        AcpiPmTimer pmTimer = new(Platform.Timers, _pmEvent);
        AddPort(AcpiPmPorts.Pm1aEvtBlk, AcpiPmPorts.Pm1EvtLen, _pmEvent);
        AddPort(AcpiPmPorts.Pm1aCntBlk, AcpiPmPorts.Pm1CntLen, pmControl);
        AddPort(AcpiPmPorts.PmTmrBlk, AcpiPmPorts.PmTmrLen, pmTimer);
        _keptAsleep = [_pmEvent, pmControl, pmTimer, Rtc];
        _pmEvent.WakeEvent += OnWakeEvent;

        // PCI bus and virtio devices: PIIX3 steers PIRQA-D to ISA IRQs (the PIC and the IOAPIC).
        // IRQ 2 is the cascade input: nothing may be steered there.
        IInterruptLine[] isaIrqs = [.. Enumerable.Range(0, 16).Select(irq => irq switch
        {
            2 => UnconnectedLine.Instance,
            9 => irq9.CreateInput(),
            _ => IsaIrq(irq),
        })];
        Pci = new PcPci(Platform, isaIrqs, [.. drives.Where(d => d.VirtioSlot >= 0).Select(d => d.Image)], nics,
            () => Platform.Control.Raise(MachineRequest.Reset), ide, vga);
        _devices.AddRange(Pci.Devices);

        AcceleratorKind = config.Accelerator;
        _runState = config.StartPaused ? MachineRunState.Prelaunch : MachineRunState.Running;
        _accelerator = CreateAccelerator(config.Accelerator);
        CreateVcpus(null);
        NoticeCpuidDifferences();
        Platform.Control.AddKicker(KickAll);
        if (config.SwitchAfterPortAccesses is long n)
        {
            Platform.Io.WatchAccessCount(n, PauseHereAndSwitch);
        }

        AddApics();

        // ExtINT: the PIC's INTR reaches the bootstrap processor through its local APIC's LINT0
        // (virtual-wire mode); every ISA IRQ also drives the IOAPIC input of its GSI.
        ExtIntSource = Pic;
        Pic.IntrRaised += Vcpus[0].NotifyInterrupt;
        foreach (IsaIrqLine line in _isaLines)
        {
            line.ConnectIoApic(IoApic);
        }

        ConnectHpet();
        ForwardIsaLinesToKvm();

        if (!config.Restoring)
        {
            BootKernel();
        }
    }

    /// <summary>Memory, buses, time and control of this machine.</summary>
    public MachinePlatform Platform { get; }

    /// <summary>The file given with --kernel (a bzImage or a multiboot kernel), or null when the machine boots from firmware.</summary>
    public string? KernelPath => _config.Kernel?.KernelPath;

    /// <summary>The vCPUs, index 0 is the bootstrap processor.</summary>
    public List<IVcpu> Vcpus { get; } = [];

    /// <summary>The PCI bus with the virtio devices.</summary>
    public PcPci Pci { get; }

    /// <summary>COM1.</summary>
    public Uart16550 Uart { get; }

    /// <summary>The 8259A pair: the bootstrap processor's INTR.</summary>
    public CascadedPic8259 Pic { get; }

    /// <summary>The 8254 timer.</summary>
    public Pit8254 Pit { get; }

    /// <summary>The RTC and CMOS RAM.</summary>
    public Mc146818 Rtc { get; }

    /// <summary>The keyboard controller.</summary>
    public I8042 KeyboardController { get; }

    /// <summary>The PS/2 keyboard; host key presses enter through it.</summary>
    public Ps2Keyboard Keyboard { get; }

    /// <summary>The firmware configuration device (ports 0x510-0x511, DMA at 0x514).</summary>
    public FwCfgDevice FwCfg { get; }

    /// <summary>Port 0x80.</summary>
    public PostCodePort PostCodes { get; }

    /// <summary>The backend's name.</summary>
    public string AcceleratorName => _accelerator.Name;

    /// <summary>The backend running the vCPUs now.</summary>
    public AcceleratorKind AcceleratorKind { get; private set; }

    /// <summary>
    /// Runs the machine until the guest powers off, exits through debug-exit, resets with
    /// --no-reboot, stops on an error, or the user quits; returns the exit status and why.
    /// </summary>
    public MachineOutcome Run()
    {
        _machineThread = Thread.CurrentThread;
        try
        {
            return RunLoop();
        }
        finally
        {
            _runState = MachineRunState.Shutdown;
            _work.Close();
        }
    }

    private MachineOutcome RunLoop()
    {
        if (!Platform.Timers.IsDeterministic)
        {
            Platform.Timers.Start();
        }

        _serial.Start(Uart.Receive);
        foreach (VirtioNet nic in Pci.Nics)
        {
            nic.Start();
        }

        // Application processors wait, parked, for INIT/SIPI from the bootstrap processor's local APIC.
        StartVcpuThreads();
        WaitHandle[] wake = [Platform.Control.Raised, _work.Available];
        while (true)
        {
            WaitHandle.WaitAny(wake);
            _work.RunPending();
            MachineRequest request = Platform.Control.Request;
            if (request == MachineRequest.None)
            {
                continue;
            }

            if (request == MachineRequest.Suspend)
            {
                Suspend();
                continue;
            }

            if (request == MachineRequest.Reset && !_config.NoReboot)
            {
                ResetMachine(guest: true);
                continue;
            }

            if (request == MachineRequest.SwitchAccelerator && _config.KvmIrqchip == KvmIrqchipMode.Kernel)
            {
                _config.Notice?.Invoke(KernelIrqchipCannotMove);
                Platform.Control.Clear(MachineRequest.SwitchAccelerator);
                continue;
            }

            if (request == MachineRequest.SwitchAccelerator)
            {
                MoveTo(AcceleratorKind == AcceleratorKind.Kvm ? AcceleratorKind.Jit : AcceleratorKind.Kvm);
                Platform.Control.Clear(MachineRequest.SwitchAccelerator);
                continue;
            }

            StopAll();
            ReportNetworkDrops();
            _runState = MachineRunState.Shutdown;
            if (request != MachineRequest.Exit)
            {
                // The debug-exit device ends the process as QEMU's isa-debug-exit does: without an event.
                Raise(ShutdownEvent(request));
            }

            return request switch
            {
                MachineRequest.PowerOff => new MachineOutcome(0, "guest powered off"),
                MachineRequest.Exit when _failure is not null => new MachineOutcome(InternalErrorStatus, _failure),
                MachineRequest.Exit => new MachineOutcome(Platform.Control.ExitStatus, $"guest wrote to the debug-exit port (status {Platform.Control.ExitStatus})"),
                MachineRequest.Reset => new MachineOutcome(0, "guest reset the machine (--no-reboot)"),
                _ => new MachineOutcome(0, "quit"),
            };
        }
    }

    /// <summary>
    /// Moves the running guest to another backend; the machine loop does this for
    /// <see cref="MachineRequest.SwitchAccelerator"/>, raised by --switch-after or by anyone. Parks
    /// every vCPU at an instruction boundary, reads its <see cref="CpuState"/>, replaces the
    /// accelerator and its vCPUs, writes the states into the new ones and lets them continue. Memory
    /// and devices are the machine's own and are shared by both backends, so their state carries over
    /// untouched; the new accelerator starts with nothing cached (the software CPU's decoded blocks
    /// could be stale after the guest ran under KVM).
    /// </summary>
    private void MoveTo(AcceleratorKind kind)
    {
        bool[] started = [.. _threads.Select(t => t.State != VcpuRunState.Created)];
        for (int i = 0; i < _threads.Count; i++)
        {
            if (started[i])
            {
                _threads[i].Pause();
            }
        }

        CpuState[] states = [.. Vcpus.Select(v => v.GetState())];
        IVcpu oldBsp = Vcpus[0];
        lock (Platform.DeviceLock)
        {
            Pic.IntrRaised -= oldBsp.NotifyInterrupt;
        }

        StopAll();
        string from = _accelerator.Name;
        lock (_vcpuLock)
        {
            foreach (IVcpu v in Vcpus)
            {
                v.Dispose();
            }

            Vcpus.Clear();
            _threads.Clear();
            _threadView = [];
            _accelerator.Dispose();
            _accelerator = CreateAccelerator(kind);
            AcceleratorKind = kind;
        }

        CreateVcpus(states);
        NoticeCpuidDifferences();
        lock (Platform.DeviceLock)
        {
            RewireApics();
        }

        _config.Notice?.Invoke($"moved the guest from {from} to {_accelerator.Name} after {Platform.Io.Accesses} port accesses (vCPU 0 at {states[0].Segments[(int)Seg.Cs].Selector:x4}:{states[0].Rip:x})");
        for (int i = 0; i < _threads.Count; i++)
        {
            if (started[i])
            {
                _threads[i].Start();
            }
        }
    }

    // Runs on the vCPU thread that made the watched port access. That vCPU parks itself right after
    // the access's instruction (its Run returns at the next instruction or block boundary and its
    // thread sees the pause), so the move happens at the same guest instruction in every run; a kick
    // from the machine thread alone would land wherever the guest had got to by then.
    private void PauseHereAndSwitch()
    {
        foreach (VcpuThread t in _threads)
        {
            if (t.IsCurrentThread)
            {
                t.Pause();
            }
        }

        Platform.Control.Raise(MachineRequest.SwitchAccelerator);
    }

    private SoftInstructionStepper? _stepper;

    private IAccelerator CreateAccelerator(AcceleratorKind kind)
    {
        // Guest RAM's host pages follow the CPU that uses them. KVM reaches guest memory through the
        // processor's second-level page tables, where 2 MiB host pages spare it TLB misses, so it
        // gets transparent huge pages (QEMU asks the same for its RAM). The software CPU reaches RAM
        // through its own TLB, and a booting guest touches its memory sparsely while the first touch
        // of a huge page populates all 2 MiB of it: on a nested host that costs the outer hypervisor
        // 512 faults. Measured there, 4 KiB pages made boots to /init 6% faster (ARCHITECTURE,
        // Emulator.Core, "Guest RAM's host pages").
        _ram.AdviseHugePages(kind == AcceleratorKind.Kvm);
        switch (kind)
        {
            case AcceleratorKind.Jit:
                return new SoftAccelerator(Platform) { Translate = _config.Translate && SoftAccelerator.TranslatorAvailable && Environment.GetEnvironmentVariable("EMU_TRANSLATE") is not ("0" or "off") };
            case AcceleratorKind.Kvm:
                try
                {
                    return new KvmAccelerator(Platform, _config.KvmIrqchip);
                }
                catch (KvmException e)
                {
                    throw new MachineConfigException($"--accel kvm: {e.Message}", e);
                }

            default:
                throw new MachineConfigException($"unknown accelerator {kind}");
        }
    }

    private void CreateVcpus(CpuState[]? states)
    {
        for (int i = 0; i < _config.Cpus; i++)
        {
            IVcpu vcpu;
            try
            {
                vcpu = _accelerator.CreateVcpu(i);
                if (vcpu is KvmVcpu kvm)
                {
                    // Instructions the host's KVM cannot emulate run in the software CPU (KvmVcpu.Step.cs).
                    kvm.Stepper = _stepper ??= new SoftInstructionStepper(Platform);
                    kvm.Notice = _config.Notice;
                }

                if (states is not null)
                {
                    vcpu.SetState(states[i]);
                }
            }
            catch (KvmException e)
            {
                throw new MachineConfigException($"--accel kvm: {e.Message}", e);
            }

            lock (_vcpuLock)
            {
                Vcpus.Add(vcpu);
            }

            var thread = new VcpuThread(vcpu, OnVcpuExit);
            ApplyRunStateTo(thread);
            _threads.Add(thread);
        }

        _threadView = [.. _threads];
    }

    // KVM_SET_CPUID2 is the model's table; a host whose KVM changes it is worth one line to the user,
    // since the guest then sees a different processor than under the software CPU.
    private void NoticeCpuidDifferences()
    {
        if (Vcpus.Count > 0 && Vcpus[0] is KvmVcpu { CpuidDeviation.IsEmpty: false } kvm)
        {
            _config.Notice?.Invoke($"the host's KVM does not apply emu's CPU model exactly: {kvm.CpuidDeviation} (KVM_GET_CPUID2 after KVM_SET_CPUID2); the guest sees those values");
        }
    }

    private void KickAll()
    {
        lock (_vcpuLock)
        {
            foreach (IVcpu v in Vcpus)
            {
                v.RequestExit();
            }
        }
    }

    private void OnVcpuExit(IVcpu vcpu, VcpuExit exit)
    {
        switch (exit.Reason)
        {
            case VcpuExitReason.Shutdown:
                Platform.Control.Raise(MachineRequest.Reset);
                break;
            case VcpuExitReason.InternalError:
                _failure = $"vCPU {vcpu.Index} stopped: {exit.Detail}";
                Platform.Control.Raise(MachineRequest.Exit, InternalErrorStatus);
                break;
            case VcpuExitReason.Debug:
                OnDebugExit(vcpu, exit.Debug ?? new VcpuDebugEvent(VcpuDebugEventKind.Step));
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Resets the machine as its reset line does, for a reset the guest asked for: every device and
    /// vCPU back to power-on, the firmware's PCI set-up and a direct kernel boot done again, the
    /// bootstrap processor let run. The machine loop does this for a guest's reset request; a harness
    /// driving the devices of a machine that is not running (Emulator.Fuzzing) calls it directly.
    /// </summary>
    public void Reset() => ResetMachine(guest: true);

    // guest: the guest asked (a reset port, a triple fault), else the host (QMP system_reset).
    // wake: an S3 wake (PcMachine.Sleep): RAM, shadow RAM included, and the devices of the sleep
    // well are kept, and the firmware's resume path runs instead of its boot.
    private void ResetMachine(bool guest, bool wake = false)
    {
        SettleApicProcessors();
        foreach (VcpuThread t in _threads)
        {
            if (t.State != VcpuRunState.Created)
            {
                t.Pause();
            }
        }

        lock (Platform.DeviceLock)
        {
            _asleep = false;
            foreach (IDevice d in _devices)
            {
                if (!wake || Array.IndexOf(_keptAsleep, d) < 0)
                {
                    d.Reset();
                }
            }

            if (!wake)
            {
                ShadowRam.Load(Platform.Memory, _config.Firmware ?? DemoRom.Image);
            }

            Pci.ProgramAsFirmware();
        }

        if (_config.KvmIrqchip == KvmIrqchipMode.Kernel)
        {
            RebuildKvmVm();
        }
        else
        {
            foreach (IVcpu v in Vcpus)
            {
                v.SetState(CpuState.AtReset());
            }
        }

        if (wake)
        {
            WakeKernel();
        }
        else
        {
            BootKernel();
            Platform.Control.Clear(MachineRequest.Reset);
            Raise(new MachineEvent(MachineEventKind.Reset, guest, guest ? "guest-reset" : "host-qmp-system-reset"));
        }

        if (_config.KvmIrqchip == KvmIrqchipMode.Kernel)
        {
            StartVcpuThreads();
        }
        else
        {
            _threads[0].Resume();
        }
    }

    private void StopAll()
    {
        foreach (VcpuThread t in _threads)
        {
            t.Stop();
        }
    }

    private IInterruptLine IsaIrq(int irq)
    {
        var line = new IsaIrqLine(Pic, irq);
        _isaLines.Add(line);
        return line;
    }

    private static List<IBlockBackend> OpenDrives(IReadOnlyList<DriveConfig> drives)
    {
        var images = new List<IBlockBackend>();
        try
        {
            foreach (DriveConfig d in drives)
            {
                images.Add(d.Open());
            }
        }
        catch (MachineConfigException)
        {
            foreach (IBlockBackend image in images)
            {
                image.Dispose();
            }

            throw;
        }

        return images;
    }

    // What a guest did wrong on a network card is counted, not fatal; the user hears of it once, at exit.
    private void ReportNetworkDrops()
    {
        for (int i = 0; i < Pci.Nics.Count; i++)
        {
            NetCounters c = Pci.Nics[i].Counters;
            if (c.MalformedChains + c.TxDropped + c.RxDropped != 0)
            {
                _config.Notice?.Invoke($"--nic {_config.Nics[i].Spec}: {c.TxFrames} frames sent, {c.RxFrames} received; dropped {c.TxDropped} sent and {c.RxDropped} received frames, {c.MalformedChains} malformed descriptor chains");
            }
        }
    }

    // Each card's host end is set up before anything is built, so that a missing libslirp, a busy
    // forwarded port or a refused tap fails first with one line.
    private static List<(INetBackend, byte[], int)> OpenNics(IReadOnlyList<NicConfig> configs)
    {
        var nics = new List<(INetBackend, byte[], int)>();
        try
        {
            for (int i = 0; i < configs.Count; i++)
            {
                nics.Add((configs[i].CreateBackend(), configs[i].MacFor(i), configs[i].Mtu));
            }
        }
        catch (NetBackendException e)
        {
            nics.ForEach(n => n.Item1.Dispose());
            throw new MachineConfigException(e.Message, e);
        }

        return nics;
    }

    private void AddPort(ushort port, int count, IBusDevice device)
    {
        Platform.Io.Register(port, count, device);
        _devices.Add(device);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        StopAll();

        // Timers stop before anything they call is disposed: the host-time thread fired callbacks
        // until Platform.Dispose, after the disks and network cards were gone, and an exception on
        // that thread (a timer completing into a closed image) ends the process.
        Platform.Timers.Stop();

        // Host input still reaches the devices until its backends stop; none may wake a vCPU that is gone.
        // Nor may it reach the in-kernel irqchip: a serial byte or a network frame raising an ISA line
        // after the accelerator below closed the VM was an ioctl on a closed (or reused) descriptor,
        // whose KvmException ended the process from the input's thread.
        lock (Platform.DeviceLock)
        {
            Pic.IntrRaised -= Vcpus[0].NotifyInterrupt;
            _inKernelIrqchip = null;
        }

        foreach (IVcpu v in Vcpus)
        {
            v.Dispose();
        }

        _accelerator.Dispose();
        Pci.Dispose();
        DisposeIde();
        Platform.Dispose();
        _firmware.Dispose();
        _ram.Dispose();
    }
}
