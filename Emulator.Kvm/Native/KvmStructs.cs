using System.Runtime.InteropServices;

namespace Emulator.Kvm.Native;

// The x86-64 structures of the KVM API, laid out as include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h declare them. Their sizes are encoded in the ioctl numbers
// (KvmIoctl), so the kernel itself rejects a structure whose size is wrong.

/// <summary>The fixed part of <c>struct kvm_run</c>, the page shared with the kernel for each vCPU (only the fields this backend uses).</summary>
[StructLayout(LayoutKind.Explicit, Size = 304)]
internal unsafe struct KvmRun
{
    [FieldOffset(0)] public byte RequestInterruptWindow;
    [FieldOffset(1)] public byte ImmediateExit;
    [FieldOffset(8)] public uint ExitReason;
    [FieldOffset(12)] public byte ReadyForInterruptInjection;
    [FieldOffset(13)] public byte IfFlag;
    [FieldOffset(14)] public ushort Flags;
    [FieldOffset(16)] public ulong Cr8;
    [FieldOffset(24)] public ulong ApicBase;

    // union { ... } at 32: KVM_EXIT_IO
    [FieldOffset(32)] public byte IoDirection;
    [FieldOffset(33)] public byte IoSize;
    [FieldOffset(34)] public ushort IoPort;
    [FieldOffset(36)] public uint IoCount;
    [FieldOffset(40)] public ulong IoDataOffset;

    // KVM_EXIT_MMIO
    [FieldOffset(32)] public ulong MmioPhysAddr;
    [FieldOffset(40)] public fixed byte MmioData[8];
    [FieldOffset(48)] public uint MmioLen;
    [FieldOffset(52)] public byte MmioIsWrite;

    // KVM_EXIT_FAIL_ENTRY
    [FieldOffset(32)] public ulong HardwareEntryFailureReason;
    [FieldOffset(40)] public uint FailEntryCpu;

    // KVM_EXIT_INTERNAL_ERROR and KVM_EXIT_SYSTEM_EVENT share this shape: a u32, a count, then u64 data.
    [FieldOffset(32)] public uint InternalSuberror;
    [FieldOffset(32)] public uint SystemEventType;
    [FieldOffset(36)] public uint DataCount;
    [FieldOffset(40)] public fixed ulong Data[16];

    // KVM_EXIT_UNKNOWN
    [FieldOffset(32)] public ulong HardwareExitReason;

    // KVM_EXIT_EXCEPTION
    // exit_reason == KVM_EXIT_DEBUG: struct kvm_debug_exit_arch (x86).
    [FieldOffset(32)] public uint DebugException;
    [FieldOffset(40)] public ulong DebugPc;
    [FieldOffset(48)] public ulong DebugDr6;
    [FieldOffset(56)] public ulong DebugDr7;

    [FieldOffset(32)] public uint ExceptionNumber;
    [FieldOffset(36)] public uint ExceptionErrorCode;

    // KVM_EXIT_X86_RDMSR and KVM_EXIT_X86_WRMSR
    [FieldOffset(32)] public byte MsrError;
    [FieldOffset(40)] public uint MsrReason;
    [FieldOffset(44)] public uint MsrIndex;
    [FieldOffset(48)] public ulong MsrData;
}

/// <summary><c>struct kvm_regs</c>: the general-purpose registers, RIP and RFLAGS.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmRegs
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}

/// <summary><c>struct kvm_segment</c>: a segment register with its descriptor cache, one byte per attribute.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type, Present, Dpl, Db, S, L, G, Avl, Unusable;
    private readonly byte _padding;
}

/// <summary><c>struct kvm_dtable</c>: GDTR or IDTR.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    private readonly ushort _padding0, _padding1, _padding2;
}

/// <summary><c>struct kvm_sregs</c>: segment, table and control registers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss;
    public KvmSegment Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    /// <summary>An interrupt acknowledged but not yet injected, as one bit of 256 (at most one set).</summary>
    public fixed ulong InterruptBitmap[4];
}

/// <summary><c>struct kvm_fpu</c>: the x87 and SSE state, field by field of the FXSAVE image.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmFpu
{
    /// <summary>ST0-ST7 / MM0-MM7, 16 bytes each as in FXSAVE.</summary>
    public fixed byte Fpr[128];
    public ushort Fcw;
    public ushort Fsw;
    /// <summary>The abridged tag word (one bit per register), as in FXSAVE.</summary>
    public byte Ftwx;
    private readonly byte _padding1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;
    /// <summary>XMM0-XMM15, 16 bytes each.</summary>
    public fixed byte Xmm[256];
    public uint Mxcsr;
    private readonly uint _padding2;
}

/// <summary>
/// <c>struct kvm_xsave</c>: the guest's XSAVE area in the standard (uncompacted) format. Its first 512
/// bytes are the FXSAVE image, then the XSAVE header whose first u64 is XSTATE_BV (Intel SDM Vol. 1 13.4).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmXsave
{
    public fixed byte Region[4096];

    /// <summary>Offset of XSTATE_BV in the area.</summary>
    public const int XstateBvOffset = 512;

    /// <summary>XSTATE_BV bits of the x87 and SSE components, which live in the legacy (FXSAVE) region.</summary>
    public const ulong LegacyComponents = 0x3;
}

/// <summary>
/// <c>struct kvm_xcrs</c>: the extended control registers (XCR0 only on x86, Intel SDM Vol. 1 13.3):
/// a count, flags, 16 <c>struct kvm_xcr</c> (u32 index, u32 reserved, u64 value) and padding.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmXcrs
{
    public const int MaxXcrs = 16;

    public uint Count;
    public uint Flags;

    /// <summary>Per register: index at +0 (u32), value at +8 (u64).</summary>
    public fixed ulong Xcrs[2 * MaxXcrs];
    public fixed ulong Padding[16];
}

/// <summary><c>struct kvm_vcpu_events</c>: events in flight and interrupt/NMI blocking.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct KvmVcpuEvents
{
    [FieldOffset(0)] public byte ExceptionInjected;
    [FieldOffset(1)] public byte ExceptionNr;
    [FieldOffset(2)] public byte ExceptionHasErrorCode;
    [FieldOffset(3)] public byte ExceptionPending;
    [FieldOffset(4)] public uint ExceptionErrorCode;
    [FieldOffset(8)] public byte InterruptInjected;
    [FieldOffset(9)] public byte InterruptNr;
    [FieldOffset(10)] public byte InterruptSoft;
    [FieldOffset(11)] public byte InterruptShadow;
    [FieldOffset(12)] public byte NmiInjected;
    [FieldOffset(13)] public byte NmiPending;
    [FieldOffset(14)] public byte NmiMasked;
    [FieldOffset(16)] public uint SipiVector;
    [FieldOffset(20)] public uint Flags;
    [FieldOffset(24)] public byte Smm;
    [FieldOffset(25)] public byte SmiPending;
    [FieldOffset(26)] public byte SmmInsideNmi;
    [FieldOffset(27)] public byte LatchedInit;
    [FieldOffset(28)] public byte TripleFaultPending;
    [FieldOffset(55)] public byte ExceptionHasPayload;
    [FieldOffset(56)] public ulong ExceptionPayload;

    /// <summary>KVM_VCPUEVENT_VALID_NMI_PENDING: the NMI pending field is to be applied.</summary>
    public const uint ValidNmiPending = 0x1;
    /// <summary>KVM_VCPUEVENT_VALID_SIPI_VECTOR.</summary>
    public const uint ValidSipiVector = 0x2;
    /// <summary>KVM_VCPUEVENT_VALID_SHADOW: the interrupt shadow field is to be applied.</summary>
    public const uint ValidShadow = 0x4;
    /// <summary>KVM_X86_SHADOW_INT_MOV_SS: blocking by MOV SS / POP SS.</summary>
    public const byte ShadowMovSs = 0x1;
    /// <summary>KVM_X86_SHADOW_INT_STI: blocking by STI.</summary>
    public const byte ShadowSti = 0x2;
}

/// <summary><c>struct kvm_debugregs</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmDebugRegs
{
    public fixed ulong Db[4];
    public ulong Dr6;
    public ulong Dr7;
    public ulong Flags;
    private fixed ulong _reserved[9];
}

/// <summary><c>struct kvm_guest_debug</c> (x86: the arch part is debugreg[8]), for KVM_SET_GUEST_DEBUG.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmGuestDebug
{
    /// <summary>KVM_GUESTDBG_ENABLE (1): debugging on.</summary>
    public const uint Enable = 0x1;

    /// <summary>KVM_GUESTDBG_SINGLESTEP (2): exit after every instruction.</summary>
    public const uint SingleStep = 0x2;

    /// <summary>KVM_GUESTDBG_USE_HW_BP (0x20000, x86): debugreg[] are the host's breakpoints, not the guest's.</summary>
    public const uint UseHardwareBreakpoints = 0x20000;

    public uint Control;
    private uint _pad;
    public fixed ulong DebugReg[8];
}

/// <summary><c>struct kvm_userspace_memory_region</c>: one memory slot.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmUserspaceMemoryRegion
{
    public uint Slot;
    public uint Flags;
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;

    /// <summary>KVM_MEM_READONLY: guest writes exit to userspace as MMIO (needs KVM_CAP_READONLY_MEM).</summary>
    public const uint ReadOnly = 1 << 1;
}

/// <summary><c>struct kvm_enable_cap</c>: a capability to enable, with its arguments.</summary>
[StructLayout(LayoutKind.Sequential, Size = 104)]
internal struct KvmEnableCap
{
    public uint Cap;
    public uint Flags;
    public ulong Arg0, Arg1, Arg2, Arg3;
}

/// <summary><c>struct kvm_irq_level</c>: the level of one GSI for KVM_IRQ_LINE (the union's <c>irq</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmIrqLevel
{
    public uint Irq;
    public uint Level;
}

/// <summary><c>struct kvm_irq_routing</c>: the header of KVM_SET_GSI_ROUTING's argument; <see cref="Nr"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmIrqRouting
{
    public uint Nr;
    public uint Flags;
}

/// <summary><c>struct kvm_irq_routing_entry</c> of type KVM_IRQ_ROUTING_IRQCHIP: a GSI to one input of a PIC or the IOAPIC.</summary>
[StructLayout(LayoutKind.Sequential, Size = 48)]
internal struct KvmIrqRoutingEntry
{
    public uint Gsi;
    public uint Type;
    public uint Flags;
    public uint Pad;
    public uint Irqchip;
    public uint Pin;

    public const uint TypeIrqchip = 1;
    public const uint PicMaster = 0, PicSlave = 1, IoApic = 2;
}

/// <summary><c>struct kvm_pit_config</c>: the argument of KVM_CREATE_PIT2.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct KvmPitConfig
{
    public uint Flags;

    /// <summary>KVM_PIT_SPEAKER_DUMMY: port 0x61 reads and writes are answered in the kernel too.</summary>
    public const uint SpeakerDummy = 1;
}

/// <summary>
/// <c>struct kvm_pit_state2</c> (KVM_GET_PIT2/KVM_SET_PIT2): three 24-byte <c>kvm_pit_channel_state</c>s,
/// the flags and nine reserved words. Only the flags are interpreted here; the channels go back as read.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 112)]
internal unsafe struct KvmPitState2
{
    public fixed byte Channels[72];
    public uint Flags;
    public fixed uint Reserved[9];

    /// <summary>KVM_PIT_FLAGS_HPET_LEGACY: the HPET's legacy replacement route owns IRQ 0, so the PIT does not interrupt.</summary>
    public const uint HpetLegacy = 1;
}

/// <summary><c>struct kvm_msr_filter_range</c>: MSRs base to base + nmsrs - 1; a clear bitmap bit denies the access (it exits to userspace).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrFilterRange
{
    public uint Flags;
    public uint Nmsrs;
    public uint Base;
    public nint Bitmap;

    /// <summary>KVM_MSR_FILTER_READ.</summary>
    public const uint Read = 1 << 0;

    /// <summary>KVM_MSR_FILTER_WRITE.</summary>
    public const uint Write = 1 << 1;
}

/// <summary><c>struct kvm_msr_filter</c>: flags (0 = KVM_MSR_FILTER_DEFAULT_ALLOW) and up to 16 ranges.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrFilter
{
    public uint Flags;
    public KvmMsrFilterRange Range0;
    private readonly RangeArray15 _rest;

    [System.Runtime.CompilerServices.InlineArray(15)]
    private struct RangeArray15
    {
        private KvmMsrFilterRange _element;
    }
}

/// <summary>The header of <c>struct kvm_cpuid2</c>; <see cref="KvmCpuidEntry2"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmCpuid2
{
    public uint Count;
    private readonly uint _padding;
}

/// <summary><c>struct kvm_cpuid_entry2</c>: one CPUID leaf/subleaf.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmCpuidEntry2
{
    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
    private readonly uint _padding0, _padding1, _padding2;

    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the leaf has subleaves selected by ECX.</summary>
    public const uint SignificantIndex = 1;
}

/// <summary>The header of <c>struct kvm_msrs</c>; <see cref="KvmMsrEntry"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrs
{
    public uint Count;
    private readonly uint _padding;
}

/// <summary><c>struct kvm_msr_entry</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrEntry
{
    public uint Index;
    private readonly uint _reserved;
    public ulong Data;
}
