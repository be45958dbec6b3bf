using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Devices.Serial;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
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
public sealed class PcMachine : IDisposable
{
    /// <summary>COM1's base port.</summary>
    public const ushort Com1Port = 0x3f8;

    /// <summary>Exit status when the software CPU meets something it cannot execute.</summary>
    public const int InternalErrorStatus = 4;

    private readonly PcConfig _config;
    private readonly HostMapping _ram;
    private readonly HostMapping _firmware;
    private readonly List<IDevice> _devices = [];
    private readonly List<VcpuThread> _threads = [];
    private readonly ISerialBackend _serial;
    // Guards Vcpus against kicks while the machine moves to another backend.
    private readonly Lock _vcpuLock = new();
    private IAccelerator _accelerator;
    private string? _failure;

    /// <summary>Builds the machine; throws <see cref="MachineConfigException"/> for what the user got wrong.</summary>
    public PcMachine(PcConfig config, ISerialBackend serial)
    {
        _config = config;
        _serial = serial;
        if (config.Cpus is < 1 or > 255)
        {
            throw new MachineConfigException($"--smp {config.Cpus}: a PC has between 1 and 255 CPUs");
        }

        if (config.MemoryBytes < (1UL << 20))
        {
            throw new MachineConfigException($"--memory: {config.MemoryBytes} bytes is less than the 1 MiB a PC needs");
        }

        Platform = new MachinePlatform(config.DeterministicTime);
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
        ulong legacy = Math.Min(size, FirmwareImage.LegacyWindow);
        Platform.Memory.AddRom("firmware-legacy", new GuestPhysicalAddress(0x10_0000 - legacy), legacy, _firmware, size - legacy);

        AddPort(Com1Port, 8, Uart = new Uart16550("uart16550@0x3f8", Platform.DeviceLock, UnconnectedLine.Instance, serial));
        AddPort(config.DebugExitPort, 1, new DebugExit(Platform.Control, config.DebugExitPort));
        AddPort(PostCodePort.DefaultPort, 1, PostCodes = new PostCodePort(config.PostCodeSink));
        foreach ((ushort port, Stream sink) in config.DebugConsoles)
        {
            AddPort(port, 1, new DebugConsole(sink, port));
        }

        var pmEvent = new AcpiPmEvent(UnconnectedLine.Instance);
        AddPort(AcpiPmPorts.Pm1aEvtBlk, AcpiPmPorts.Pm1EvtLen, pmEvent);
        AddPort(AcpiPmPorts.Pm1aCntBlk, AcpiPmPorts.Pm1CntLen, new AcpiPmControl(Platform.Control));
        AddPort(AcpiPmPorts.PmTmrBlk, AcpiPmPorts.PmTmrLen, new AcpiPmTimer(Platform.Timers, pmEvent));

        AcceleratorKind = config.Accelerator;
        _accelerator = CreateAccelerator(config.Accelerator);
        CreateVcpus(null);
        NoticeCpuidDifferences();
        Platform.Control.AddKicker(KickAll);
        if (config.SwitchAfterPortAccesses is long n)
        {
            Platform.Io.WatchAccessCount(n, PauseHereAndSwitch);
        }
    }

    /// <summary>Memory, buses, time and control of this machine.</summary>
    public MachinePlatform Platform { get; }

    /// <summary>The vCPUs, index 0 is the bootstrap processor.</summary>
    public List<IVcpu> Vcpus { get; } = [];

    /// <summary>COM1.</summary>
    public Uart16550 Uart { get; }

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
        if (!Platform.Timers.IsDeterministic)
        {
            Platform.Timers.Start();
        }

        _serial.Start(Uart.Receive);

        // Application processors wait for INIT/SIPI from the bootstrap processor's local APIC,
        // which arrives with the platform devices; until then only vCPU 0 runs.
        _threads[0].Start();
        while (true)
        {
            Platform.Control.Raised.WaitOne();
            MachineRequest request = Platform.Control.Request;
            if (request == MachineRequest.Reset && !_config.NoReboot)
            {
                ResetMachine();
                continue;
            }

            if (request == MachineRequest.SwitchAccelerator)
            {
                MoveTo(AcceleratorKind == AcceleratorKind.Kvm ? AcceleratorKind.Jit : AcceleratorKind.Kvm);
                Platform.Control.Clear(MachineRequest.SwitchAccelerator);
                continue;
            }

            StopAll();
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
        IInterruptSource?[] sources = [.. Vcpus.Select(v => v.InterruptSource)];
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
            _accelerator.Dispose();
            _accelerator = CreateAccelerator(kind);
            AcceleratorKind = kind;
        }

        CreateVcpus(states);
        NoticeCpuidDifferences();
        for (int i = 0; i < Vcpus.Count; i++)
        {
            Vcpus[i].InterruptSource = sources[i];
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

    private IAccelerator CreateAccelerator(AcceleratorKind kind)
    {
        switch (kind)
        {
            case AcceleratorKind.Jit:
                return new SoftAccelerator(Platform);
            case AcceleratorKind.Kvm:
                try
                {
                    return new KvmAccelerator(Platform);
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

            _threads.Add(new VcpuThread(vcpu, OnVcpuExit));
        }
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
            default:
                break;
        }
    }

    private void ResetMachine()
    {
        foreach (VcpuThread t in _threads)
        {
            if (t.State != VcpuRunState.Created)
            {
                t.Pause();
            }
        }

        lock (Platform.DeviceLock)
        {
            foreach (IDevice d in _devices)
            {
                d.Reset();
            }
        }

        foreach (IVcpu v in Vcpus)
        {
            v.SetState(CpuState.AtReset());
        }

        Platform.Control.Clear();
        _threads[0].Resume();
    }

    private void StopAll()
    {
        foreach (VcpuThread t in _threads)
        {
            t.Stop();
        }
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
        foreach (IVcpu v in Vcpus)
        {
            v.Dispose();
        }

        _accelerator.Dispose();
        Platform.Dispose();
        _firmware.Dispose();
        _ram.Dispose();
    }
}
