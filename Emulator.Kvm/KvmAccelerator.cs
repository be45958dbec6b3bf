using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// The KVM backend over one machine: a KVM VM whose memory slots are the machine's RAM and ROM
/// (the very host pages the software CPU uses), and vCPUs that dispatch port I/O and MMIO to the
/// machine's shared buses.
/// </summary>
/// <remarks>
/// With <see cref="KvmIrqchipMode.User"/> the interrupt controllers are the machine's own models:
/// HLT exits to userspace and interrupts are injected with KVM_INTERRUPT (api.rst, KVM_INTERRUPT and
/// "request_interrupt_window"). With <see cref="KvmIrqchipMode.Kernel"/>,
/// <see cref="CreateInterruptControllers"/> makes KVM's irqchip and PIT after the TSS and before any
/// memory slot or vCPU, the order api.rst requires for KVM_CREATE_IRQCHIP, and the machine's ISA
/// lines reach them through <see cref="SetIrqLine"/>.
/// </remarks>
public sealed partial class KvmAccelerator : IAccelerator
{
    /// <summary>
    /// The one page KVM_SET_IDENTITY_MAP_ADDR takes, followed by the three pages of KVM_SET_TSS_ADDR:
    /// on Intel hosts without unrestricted guest, KVM needs them to run real mode and unpaged
    /// protected mode (api.rst, KVM_SET_TSS_ADDR). They sit just below the largest firmware window
    /// (16 MiB under 4 GiB) and above the I/O APIC and local APIC pages, where a PC has nothing.
    /// </summary>
    public const ulong IdentityMapAddress = 0xfeff_c000;

    /// <summary>The three-page TSS area of KVM_SET_TSS_ADDR (ends at 0xFF000000).</summary>
    public const ulong TssAddress = 0xfeff_d000;

    private readonly MachinePlatform _platform;
    private readonly KvmSystem _system;
    private int _vmFd = -1;

    /// <summary>Creates the VM over <paramref name="platform"/>'s memory; throws <see cref="KvmException"/> with a clear message when KVM is absent or unusable.</summary>
    public KvmAccelerator(MachinePlatform platform, KvmIrqchipMode irqchip = KvmIrqchipMode.User, string devicePath = KvmProbe.DefaultDevicePath)
    {
        _platform = platform;
        Irqchip = irqchip;
        _system = KvmSystem.Open(devicePath);
        try
        {
            _vmFd = LibC.Ioctl(_system.Fd, KvmIoctl.CreateVm, 0);
            if (_vmFd < 0)
            {
                throw KvmException.LastError("KVM_CREATE_VM");
            }

            ReserveKvmPages();
            if (irqchip == KvmIrqchipMode.Kernel)
            {
                CreateInterruptControllers();
            }
            else
            {
                ExitOnPlatformMsrs();
            }

            MapMemory();
            SupportedCpuid = _system.SupportedCpuid();
            HashSet<uint> known = _system.MsrIndexList();
            // KVM_CAP_MCE is the most banks KVM_X86_SETUP_MCE takes and KVM_X86_GET_MCE_CAP_SUPPORTED
            // the IA32_MCG_CAP bits it allows (api.rst); a KVM short of the model's, or without
            // KVM_CAP_MCE, leaves the guest its own machine-check registers and they do not travel.
            HasMachineCheck = KvmMsrState.MachineCheckFits(_system.Check(KvmCap.Mce), _system.SupportedMcgCap());
            TransferredMsrs = KvmMsrState.Transferred(known, HasMachineCheck);
            HasXsave = _system.Check(KvmCap.Xsave) != 0;
            HasXcrs = _system.Check(KvmCap.Xcrs) != 0;
            ApicFeatures = irqchip == KvmIrqchipMode.Kernel
                ? KvmApicFeatures.InKernel(_system.Check(KvmCap.TscDeadlineTimer) != 0)
                : KvmApicFeatures.UserIrqchip;
            VcpuMmapSize = _system.VcpuMmapSize();
            MaxVcpus = _system.MaxVcpus();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Name => "kvm";

    /// <summary>Where the interrupt controllers live.</summary>
    public KvmIrqchipMode Irqchip { get; }

    /// <summary>The memory slots given to KVM, for diagnostics.</summary>
    public IReadOnlyList<(uint Slot, MemoryRegion Region)> Slots { get; private set; } = [];

    /// <summary>The MSRs, besides EFER and the APIC base, whose values <see cref="KvmVcpu"/> moves in and out of <c>CpuState.Msrs</c>.</summary>
    public IReadOnlyList<uint> TransferredMsrIndexes => TransferredMsrs;

    internal MachinePlatform Platform => _platform;

    internal KvmCpuidEntry2[] SupportedCpuid { get; } = [];

    internal uint[] TransferredMsrs { get; } = [];

    /// <summary>KVM takes the model's IA32_MCG_CAP (<see cref="MachineCheck.Capabilities"/>) through KVM_X86_SETUP_MCE.</summary>
    internal bool HasMachineCheck { get; }

    internal int VcpuMmapSize { get; }

    internal bool HasXsave { get; }

    /// <summary>KVM_GET_XCRS/KVM_SET_XCRS (XCR0) are available.</summary>
    internal bool HasXcrs { get; }

    /// <summary>Whether the guest's local APIC has x2APIC mode and the TSC-deadline timer under this irqchip (CPUID.01H:ECX[21], [24]).</summary>
    public bool ApicHasX2Apic => ApicFeatures.X2Apic;

    /// <inheritdoc cref="ApicHasX2Apic"/>
    public bool ApicHasTscDeadline => ApicFeatures.TscDeadline;

    internal KvmApicFeatures ApicFeatures { get; }

    internal int MaxVcpus { get; }

    /// <summary>
    /// Whether RDMSR and WRMSR of the MSRs the machine's devices own (IA32_APIC_BASE) exit to
    /// userspace, so that <see cref="KvmVcpu.PlatformMsrs"/> answers them. False on a host without
    /// KVM_CAP_X86_USER_SPACE_MSR and KVM_CAP_X86_MSR_FILTER (Linux before 5.10): KVM answers from
    /// its own copy, which <see cref="KvmVcpu"/> keeps equal to the device's at every state load.
    /// </summary>
    public bool PlatformMsrExits { get; private set; }

    /// <inheritdoc/>
    public IVcpu CreateVcpu(int index)
    {
        if (index >= MaxVcpus)
        {
            throw new KvmException($"KVM on this host allows {MaxVcpus} vCPUs per VM; vCPU {index} cannot be created");
        }

        int fd = LibC.Ioctl(_vmFd, KvmIoctl.CreateVcpu, index);
        if (fd < 0)
        {
            throw KvmException.LastError($"KVM_CREATE_VCPU({index})");
        }

        (KvmCpuidEntry2[] cpuid, IReadOnlyList<string> missing) = KvmCpuidTable.Build(index, _platform.ProcessorCount, SupportedCpuid, ApicFeatures);
        return new KvmVcpu(this, index, fd, cpuid, missing);
    }

    private void ReserveKvmPages()
    {
        foreach (ulong page in (ulong[])[IdentityMapAddress, TssAddress, TssAddress + 0x1000, TssAddress + 0x2000])
        {
            if (_platform.Memory.Find(page) is { } region)
            {
                throw new KvmException($"KVM needs guest physical page 0x{page:x} for its TSS and identity map, but the machine maps {region} there");
            }
        }

        if (LibC.Ioctl(_vmFd, KvmIoctl.SetTssAddr, unchecked((nint)TssAddress)) < 0)
        {
            throw KvmException.LastError($"KVM_SET_TSS_ADDR(0x{TssAddress:x})");
        }

        if (_system.Check(KvmCap.SetIdentityMapAddr) != 0)
        {
            ulong address = IdentityMapAddress;
            int result;
            unsafe
            {
                // SAFETY: the argument is a pointer to a u64 on this stack frame, as the ioctl declares.
                result = LibC.Ioctl(_vmFd, KvmIoctl.SetIdentityMapAddr, (nint)(&address));
            }

            if (result < 0)
            {
                throw KvmException.LastError($"KVM_SET_IDENTITY_MAP_ADDR(0x{IdentityMapAddress:x})");
            }
        }
    }

    // Without an in-kernel local APIC, KVM still answers IA32_APIC_BASE itself (from the value in
    // kvm_sregs), so a guest's writes would never reach the userspace APIC. A filter that denies the
    // MSR, with KVM_MSR_EXIT_REASON_FILTER enabled, turns each access into KVM_EXIT_X86_RDMSR or
    // KVM_EXIT_X86_WRMSR (api.rst, KVM_X86_SET_MSR_FILTER and KVM_CAP_X86_USER_SPACE_MSR).
    private void ExitOnPlatformMsrs()
    {
        const ulong exitReasonFilter = 1 << 2;
        if (_system.Check(KvmCap.UserSpaceMsr) == 0 || _system.Check(KvmCap.MsrFilter) == 0)
        {
            return;
        }

        var cap = new KvmEnableCap { Cap = KvmCap.UserSpaceMsr, Arg0 = exitReasonFilter };
        byte deny = 0;
        int result;
        unsafe
        {
            // SAFETY: pointers to locals of this frame: the kvm_enable_cap, and the one-byte bitmap the
            // filter range names, which KVM copies during the ioctl.
            result = LibC.Ioctl(_vmFd, KvmIoctl.EnableCap, (nint)(&cap));
            if (result < 0)
            {
                throw KvmException.LastError("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
            }

            var filter = new KvmMsrFilter
            {
                Range0 = new KvmMsrFilterRange
                {
                    Flags = KvmMsrFilterRange.Read | KvmMsrFilterRange.Write,
                    Nmsrs = 1,
                    Base = KvmMsrState.ApicBase,
                    Bitmap = (nint)(&deny),
                },
            };
            result = LibC.Ioctl(_vmFd, KvmIoctl.SetMsrFilter, (nint)(&filter));
        }

        if (result < 0)
        {
            throw KvmException.LastError("KVM_X86_SET_MSR_FILTER");
        }

        PlatformMsrExits = true;
    }

    private void MapMemory()
    {
        var slots = new List<(uint, MemoryRegion)>();
        foreach (MemoryRegion region in _platform.Memory.Regions)
        {
            if (region.Kind == RegionKind.Mmio)
            {
                continue; // no slot: every access exits as KVM_EXIT_MMIO and goes to the device
            }

            nint host;
            unsafe
            {
                // SAFETY: only the address is taken; the pointer is not dereferenced here.
                host = (nint)region.HostPointer(region.Start.Value);
            }

            const ulong page = HostMapping.PageSize;
            if (region.Start.Value % page != 0 || region.Size % page != 0 || (ulong)host % page != 0)
            {
                throw new KvmException($"{region} is not page-aligned in guest or host memory, so KVM cannot map it");
            }

            var slot = new KvmUserspaceMemoryRegion
            {
                Slot = (uint)slots.Count,
                // api.rst (KVM_SET_USER_MEMORY_REGION): with KVM_MEM_READONLY, reads come from memory
                // and writes exit as KVM_EXIT_MMIO, which the address space drops for ROM.
                Flags = region.Kind == RegionKind.Rom ? KvmUserspaceMemoryRegion.ReadOnly : 0,
                GuestPhysAddr = region.Start.Value,
                MemorySize = region.Size,
                UserspaceAddr = (ulong)host,
            };
            int result;
            unsafe
            {
                // SAFETY: a pointer to a local kvm_userspace_memory_region. The host range it names stays
                // mapped for the VM's life: the machine disposes its RAM and ROM only after the accelerator.
                result = LibC.Ioctl(_vmFd, KvmIoctl.SetUserMemoryRegion, (nint)(&slot));
            }

            if (result < 0)
            {
                throw KvmException.LastError($"KVM_SET_USER_MEMORY_REGION for {region}");
            }

            slots.Add((slot.Slot, region));
        }

        Slots = slots;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_vmFd >= 0)
        {
            _ = LibC.Close(_vmFd);
            _vmFd = -1;
        }

        _system.Dispose();
    }
}
