using Emulator.Core.Cpu;
using Emulator.Core.Memory;
using Emulator.Devices.Intc;
using Emulator.Jit;
using Emulator.Kvm;

namespace Emulator.Machines.Pc;

/// <summary>
/// The PC's APIC wiring: a local APIC per vCPU (its INTR source and owner of its APIC MSRs), one
/// MMIO page at 0xFEE00000 that reaches the accessing vCPU's APIC, the IOAPIC at 0xFEC00000, and
/// the application processors parked until the bootstrap processor's INIT-SIPI-SIPI starts them.
/// </summary>
public sealed partial class PcMachine
{
    private readonly List<VcpuApicProcessor> _apicProcessors = [];

    // The local APIC register pages mapped, by base address: 0xFEE00000 always, and every other
    // base an APIC's IA32_APIC_BASE names (MapApicPages).
    private readonly Dictionary<ulong, MemoryRegion> _apicPages = [];

    /// <summary>The APIC bus joining the local APICs and the IOAPIC.</summary>
    public ApicBus ApicBus { get; } = new();

    /// <summary>The local APICs, index = vCPU = initial APIC ID.</summary>
    public IReadOnlyList<LocalApic> LocalApics => ApicBus.LocalApics;

    /// <summary>The IOAPIC; its <see cref="IoApic.Lines"/> are the interrupt inputs GSI 0-23.</summary>
    public IoApic IoApic { get; private set; } = null!;

    /// <summary>
    /// The 8259A pair as the bootstrap processor's LINT0 sees it (ExtINT): set this to the PIC to
    /// route its INTR through the BSP's local APIC, which is every vCPU's interrupt source.
    /// </summary>
    public IInterruptSource? ExtIntSource
    {
        get => LocalApics[0].ExtIntSource;
        set => LocalApics[0].ExtIntSource = value;
    }

    private void AddApics()
    {
        for (int i = 0; i < Vcpus.Count; i++)
        {
            var processor = new VcpuApicProcessor(Vcpus[i], _threads[i]);
            _apicProcessors.Add(processor);
            var apic = new LocalApic(Platform.DeviceLock, Platform.Timers, ApicBus, processor, bootstrap: i == 0, Platform.GuestErrors);
            if (_config.KvmIrqchip == KvmIrqchipMode.User)
            {
                Vcpus[i].InterruptSource = apic;
                GiveApicMsrs(Vcpus[i], apic);
            }

            apic.BaseMoved += _ => MapApicPages();
            _devices.Add(apic);
        }

        MapApicPages();
        IoApic = new IoApic("ioapic", Platform.DeviceLock, ApicBus, Platform.GuestErrors);
        Platform.Memory.AddMmio("ioapic", new GuestPhysicalAddress(IoApic.DefaultBase), IoApic.WindowSize, IoApic);
        _devices.Add(IoApic);
    }

    // Maps a register page at every base the local APICs use and unmaps those none uses any more
    // (Intel SDM Vol. 3A 11.4.4: WRMSR IA32_APIC_BASE relocates the page; the old address then
    // reaches whatever else is there). Runs with the device lock held (LocalApic.BaseMoved). The
    // page at 0xFEE00000 stays, serving the APICs still based there. The software CPU decodes its
    // own APIC's page ahead of the address space wherever it is (IApicRegisterPage, with a TLB
    // flush on the WRMSR); these pages are for KVM, which exits to userspace where no memory slot
    // is. The address space has no overlays, so under KVM a base over RAM or another device is not
    // decoded (a guest error).
    private void MapApicPages()
    {
        var used = new HashSet<ulong>(LocalApics.Select(a => a.BaseAddress)) { LocalApic.DefaultBase };
        foreach ((ulong unused, MemoryRegion region) in _apicPages.Where(p => !used.Contains(p.Key)).ToList())
        {
            Platform.Memory.RemoveRegion(region);
            _apicPages.Remove(unused);
        }

        foreach (ulong b in used.Where(b => !_apicPages.ContainsKey(b)))
        {
            try
            {
                string name = b == LocalApic.DefaultBase ? "lapic" : $"lapic@{b:x}";
                _apicPages[b] = Platform.Memory.AddMmio(name, new GuestPhysicalAddress(b), LocalApic.PageSize, new LocalApicMmio(ApicBus, b));
            }
            catch (InvalidOperationException)
            {
                Platform.GuestErrors.Report("lapic", $"IA32_APIC_BASE moved the register page to 0x{b:x}, over RAM or another device: only the software CPU decodes it there (under KVM the guest reaches what is mapped)");
            }
        }
    }

    /// <summary>Wires new vCPUs (after a move to another backend) to the local APICs and the 8259A.</summary>
    private void RewireApics()
    {
        for (int i = 0; i < Vcpus.Count; i++)
        {
            _apicProcessors[i].Rebind(Vcpus[i], _threads[i]);
            if (_config.KvmIrqchip == KvmIrqchipMode.User)
            {
                Vcpus[i].InterruptSource = LocalApics[i];
                GiveApicMsrs(Vcpus[i], LocalApics[i]);
            }
        }

        Pic.IntrRaised += Vcpus[0].NotifyInterrupt;
    }

    // The APIC owns IA32_APIC_BASE and IA32_TSC_DEADLINE on either backend. Under KVM it offers
    // only what the guest's CPUID says it can reach (KvmApicFeatures): x2APIC and TSC-deadline
    // mode on the software CPU, neither under KVM's user irqchip.
    private void GiveApicMsrs(IVcpu vcpu, LocalApic apic)
    {
        switch (vcpu)
        {
            case SoftVcpu soft:
                soft.PlatformMsrs = apic;
                apic.X2ApicAvailable = apic.TscDeadlineAvailable = true;
                break;
            case KvmVcpu kvm:
                kvm.PlatformMsrs = apic;
                apic.X2ApicAvailable = _accelerator is KvmAccelerator { ApicHasX2Apic: true };
                apic.TscDeadlineAvailable = _accelerator is KvmAccelerator { ApicHasTscDeadline: true };
                break;
        }
    }

    /// <summary>Starts every vCPU thread: the BSP running, the APs parked in wait-for-SIPI (Intel SDM Vol. 3A 9.4.2).</summary>
    private void StartVcpuThreads()
    {
        _threads[0].Start();
        for (int i = 1; i < _threads.Count; i++)
        {
            // KVM's own local APIC keeps an AP in KVM_RUN, waiting for SIPI (KVM_MP_STATE_UNINITIALIZED).
            if (_config.KvmIrqchip == KvmIrqchipMode.Kernel || _restoredRunning?[i] == true)
            {
                _threads[i].Start();
            }
            else
            {
                _threads[i].StartPaused();
            }
        }

        _restoredRunning = null;
    }

    /// <summary>Lets INIT/SIPI work still in flight finish before the machine resets the vCPUs.</summary>
    private void SettleApicProcessors()
    {
        foreach (VcpuApicProcessor p in _apicProcessors)
        {
            p.Settle();
        }
    }
}
