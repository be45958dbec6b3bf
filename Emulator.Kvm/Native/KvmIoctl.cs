using System.Runtime.CompilerServices;

namespace Emulator.Kvm.Native;

/// <summary>
/// ioctl request numbers of the KVM API (include/uapi/linux/kvm.h), built the way the kernel's
/// _IO/_IOR/_IOW/_IOWR macros build them: direction in bits 30-31, argument size in bits 16-29,
/// the type 0xAE in bits 8-15 and the command number in bits 0-7. The size is part of the number,
/// so a structure of the wrong size is refused by the kernel (ENOTTY) rather than misread.
/// </summary>
internal static class KvmIoctl
{
    private const uint Kvmio = 0xAE;
    private const uint Write = 1, Read = 2;

    // System (/dev/kvm) ioctls.
    public static readonly nuint GetApiVersion = Io(0x00);
    public static readonly nuint CreateVm = Io(0x01);
    public static readonly nuint GetMsrIndexList = Ioc(Read | Write, 0x02, Unsafe.SizeOf<uint>());
    public static readonly nuint CheckExtension = Io(0x03);
    public static readonly nuint GetVcpuMmapSize = Io(0x04);
    public static readonly nuint GetSupportedCpuid = Ioc(Read | Write, 0x05, Unsafe.SizeOf<KvmCpuid2>());
    public static readonly nuint X86GetMceCapSupported = Ioc(Read, 0x9d, Unsafe.SizeOf<ulong>());

    // VM ioctls.
    public static readonly nuint CreateVcpu = Io(0x41);
    public static readonly nuint SetUserMemoryRegion = Ioc(Write, 0x46, Unsafe.SizeOf<KvmUserspaceMemoryRegion>());
    public static readonly nuint SetTssAddr = Io(0x47);
    public static readonly nuint SetIdentityMapAddr = Ioc(Write, 0x48, Unsafe.SizeOf<ulong>());
    public static readonly nuint CreateIrqchip = Io(0x60);
    public static readonly nuint IrqLine = Ioc(Write, 0x61, Unsafe.SizeOf<KvmIrqLevel>());
    public static readonly nuint SetGsiRouting = Ioc(Write, 0x6a, Unsafe.SizeOf<KvmIrqRouting>());
    public static readonly nuint CreatePit2 = Ioc(Write, 0x77, Unsafe.SizeOf<KvmPitConfig>());
    public static readonly nuint GetPit2 = Ioc(Read, 0x9f, Unsafe.SizeOf<KvmPitState2>());
    public static readonly nuint SetPit2 = Ioc(Write, 0xa0, Unsafe.SizeOf<KvmPitState2>());
    public static readonly nuint EnableCap = Ioc(Write, 0xa3, Unsafe.SizeOf<KvmEnableCap>());
    public static readonly nuint SetMsrFilter = Ioc(Write, 0xc6, Unsafe.SizeOf<KvmMsrFilter>());

    // vCPU ioctls.
    public static readonly nuint Run = Io(0x80);
    public static readonly nuint GetRegs = Ioc(Read, 0x81, Unsafe.SizeOf<KvmRegs>());
    public static readonly nuint SetRegs = Ioc(Write, 0x82, Unsafe.SizeOf<KvmRegs>());
    public static readonly nuint GetSregs = Ioc(Read, 0x83, Unsafe.SizeOf<KvmSregs>());
    public static readonly nuint SetSregs = Ioc(Write, 0x84, Unsafe.SizeOf<KvmSregs>());
    public static readonly nuint Interrupt = Ioc(Write, 0x86, Unsafe.SizeOf<uint>());
    public static readonly nuint GetMsrs = Ioc(Read | Write, 0x88, Unsafe.SizeOf<KvmMsrs>());
    public static readonly nuint SetMsrs = Ioc(Write, 0x89, Unsafe.SizeOf<KvmMsrs>());
    public static readonly nuint GetFpu = Ioc(Read, 0x8c, Unsafe.SizeOf<KvmFpu>());
    public static readonly nuint SetFpu = Ioc(Write, 0x8d, Unsafe.SizeOf<KvmFpu>());
    public static readonly nuint SetCpuid2 = Ioc(Write, 0x90, Unsafe.SizeOf<KvmCpuid2>());
    public static readonly nuint GetCpuid2 = Ioc(Read | Write, 0x91, Unsafe.SizeOf<KvmCpuid2>());
    public static readonly nuint Nmi = Io(0x9a);
    public static readonly nuint SetGuestDebug = Ioc(Write, 0x9b, Unsafe.SizeOf<KvmGuestDebug>());
    public static readonly nuint X86SetupMce = Ioc(Write, 0x9c, Unsafe.SizeOf<ulong>());
    public static readonly nuint GetVcpuEvents = Ioc(Read, 0x9f, Unsafe.SizeOf<KvmVcpuEvents>());
    public static readonly nuint SetVcpuEvents = Ioc(Write, 0xa0, Unsafe.SizeOf<KvmVcpuEvents>());
    public static readonly nuint GetDebugRegs = Ioc(Read, 0xa1, Unsafe.SizeOf<KvmDebugRegs>());
    public static readonly nuint SetDebugRegs = Ioc(Write, 0xa2, Unsafe.SizeOf<KvmDebugRegs>());
    public static readonly nuint GetXsave = Ioc(Read, 0xa4, Unsafe.SizeOf<KvmXsave>());
    public static readonly nuint SetXsave = Ioc(Write, 0xa5, Unsafe.SizeOf<KvmXsave>());
    public static readonly nuint GetXcrs = Ioc(Read, 0xa6, Unsafe.SizeOf<KvmXcrs>());
    public static readonly nuint SetXcrs = Ioc(Write, 0xa7, Unsafe.SizeOf<KvmXcrs>());

    private static nuint Io(uint nr) => Ioc(0, nr, 0);

    private static nuint Ioc(uint direction, uint nr, int size) => (nuint)((direction << 30) | ((uint)size << 16) | (Kvmio << 8) | nr);
}

/// <summary>KVM_CAP_* numbers (include/uapi/linux/kvm.h) the backend asks about.</summary>
internal static class KvmCap
{
    public const int Irqchip = 0;
    public const int UserMemory = 3;
    public const int IrqRouting = 25;
    public const int Pit2 = 33;
    public const int SetTssAddr = 4;
    public const int ExtCpuid = 7;
    public const int NrVcpus = 9;
    public const int UserNmi = 22;
    public const int Mce = 31;
    public const int SetIdentityMapAddr = 37;
    public const int VcpuEvents = 41;
    public const int DebugRegs = 50;
    public const int MaxVcpus = 66;
    public const int TscDeadlineTimer = 72;
    public const int Xsave = 55;
    public const int Xcrs = 56;
    public const int ReadonlyMem = 81;
    public const int ImmediateExit = 136;
    public const int UserSpaceMsr = 188;
    public const int MsrFilter = 189;
}

/// <summary>KVM_EXIT_* reasons in kvm_run.exit_reason.</summary>
internal static class KvmExitReason
{
    public const uint Unknown = 0;
    public const uint Exception = 1;
    public const uint Io = 2;
    public const uint Hypercall = 3;
    public const uint Debug = 4;
    public const uint Hlt = 5;
    public const uint Mmio = 6;
    public const uint IrqWindowOpen = 7;
    public const uint Shutdown = 8;
    public const uint FailEntry = 9;
    public const uint Intr = 10;
    public const uint InternalError = 17;
    public const uint SystemEvent = 24;
    public const uint X86Rdmsr = 29;
    public const uint X86Wrmsr = 30;

    /// <summary>A name for messages.</summary>
    public static string Name(uint reason) => reason switch
    {
        Unknown => "KVM_EXIT_UNKNOWN",
        Exception => "KVM_EXIT_EXCEPTION",
        Io => "KVM_EXIT_IO",
        Hypercall => "KVM_EXIT_HYPERCALL",
        Debug => "KVM_EXIT_DEBUG",
        Hlt => "KVM_EXIT_HLT",
        Mmio => "KVM_EXIT_MMIO",
        IrqWindowOpen => "KVM_EXIT_IRQ_WINDOW_OPEN",
        Shutdown => "KVM_EXIT_SHUTDOWN",
        FailEntry => "KVM_EXIT_FAIL_ENTRY",
        Intr => "KVM_EXIT_INTR",
        InternalError => "KVM_EXIT_INTERNAL_ERROR",
        SystemEvent => "KVM_EXIT_SYSTEM_EVENT",
        X86Rdmsr => "KVM_EXIT_X86_RDMSR",
        X86Wrmsr => "KVM_EXIT_X86_WRMSR",
        _ => $"exit reason {reason}",
    };
}
