using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Io;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.Memory;

namespace Emulator.Jit.State;

/// <summary>
/// The software CPU's live architectural state and its access paths to the machine. Instruction
/// handlers (Instructions/*.cs) read and write it; <see cref="CpuState"/> is its exchange format.
/// </summary>
internal sealed unsafe partial class CpuCore
{
    // RFLAGS bits other than the six arithmetic flags (Intel SDM Vol. 1 3.4.3).
    public const uint TF = 1 << 8, IF = 1 << 9, DF = 1 << 10, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17, AC = 1 << 18, ID = 1 << 21;
    public const ulong Cr0PE = 1, Cr0PG = 1UL << 31, EferLME = 1 << 8, EferLMA = 1 << 10;

    // The registers translated code shares live in native memory (GuestState); these accessors are
    // the only way the interpreter reaches them.
    private readonly NativeBuffer _stateBuffer = new((nuint)sizeof(GuestState));
    private readonly GuestState* _state;

    /// <summary>The native state block that translated code addresses (one base register, fixed offsets).</summary>
    public GuestState* State => _state;

    /// <summary>RAX..R15.</summary>
    public readonly RegisterFile R;

    public ref ulong Rip => ref _state->Rip;

    public ref LazyFlags Flags => ref _state->Flags;
    /// <summary>RFLAGS without the arithmetic flags; bit 1 always set. In the state, where translated code reads DF.</summary>
    public ref uint FlagsRest => ref _state->FlagsRest;
    /// <summary>ES, CS, SS, DS, FS, GS (indexed by <see cref="Core.Cpu.Seg"/>).</summary>
    public readonly SegmentFile Seg;
    public SegmentRegister Ldtr, Tr;
    public TableRegister Gdtr, Idtr;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer;
    public ulong Dr0, Dr1, Dr2, Dr3, Dr6, Dr7;
    /// <summary>PKRU, the protection-key rights of user pages (Intel SDM Vol. 3A 2.7, 4.6.2); see <c>Instructions/ProtectionKeys</c>.</summary>
    public uint Pkru;
    /// <summary>MSRs without a field of their own (the TSC offset), by index.</summary>
    public Dictionary<uint, ulong> Msrs = [];

    /// <summary>
    /// MSRs of devices beside the core (the local APIC's), consulted before <see cref="Msrs"/>. When
    /// the device is also an <see cref="IApicRegisterPage"/>, this processor's accesses to the page it
    /// names reach it whatever memory is there (<c>Memory/CpuCore.ApicPage.cs</c>).
    /// </summary>
    public IMsrDevice? PlatformMsrs
    {
        get => _platformMsrs;
        set
        {
            _platformMsrs = value;
            _apicPage = value as IApicRegisterPage;
            FlushTlb();
        }
    }

    private IMsrDevice? _platformMsrs;

    /// <summary>Where CR8 lives when a local APIC is attached: its TPR (the APIC is also <see cref="PlatformMsrs"/>).</summary>
    public ITaskPriority? TaskPriority => PlatformMsrs as ITaskPriority;
    /// <summary>SYSCALL/SYSRET and SYSENTER/SYSEXIT MSRs, and the SWAPGS shadow of GS.base (Intel SDM Vol. 4 Table 2-2).</summary>
    public ulong Star, Lstar, Cstar, Sfmask, KernelGsBase, SysenterCs, SysenterEsp, SysenterEip;
    public bool Halted, InterruptShadow, NmiBlocked;

    /// <summary>RIP of the instruction being executed (RIP itself already points past it).</summary>
    public ulong InstructionStart;
    /// <summary>
    /// Set by an instruction that changes how the following code must be decoded or checked (mode
    /// switch, STI, code write). Checked after each instruction; set before a block, it makes the
    /// block run only its first instruction (the instruction in an STI or MOV SS shadow).
    /// </summary>
    public ref bool EndBlock => ref *(bool*)&_state->EndBlock;
    /// <summary>Set by HLT; the run loop waits for an interrupt.</summary>
    public bool HaltRequested;
    /// <summary>Set when an instruction cannot be executed by this CPU yet; the run loop stops with an internal error.</summary>
    public string? InternalError;

    /// <summary>16, 32 or 64: the default operand size of the current code segment.</summary>
    public int Bitness = 16;

    /// <summary>The TSC MSR (Intel SDM Vol. 4 Table 2-2, IA32_TIME_STAMP_COUNTER).</summary>
    public const uint MsrTsc = 0x10;

    /// <summary>The time-stamp counter before the guest's offset: 1 GHz over host monotonic time.</summary>
    public static ulong HostTsc() => (ulong)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    public CpuCore(int index, AddressSpace memory, IoPortBus io, BlockCache code)
    {
        _state = (GuestState*)_stateBuffer.Pointer;
        R = new RegisterFile(_state->Gpr);
        _state->FlagsRest = 2;
        Seg = new SegmentFile((SegmentRegister*)_state->Segments);
        _state->Core = System.Runtime.InteropServices.GCHandle.ToIntPtr(System.Runtime.InteropServices.GCHandle.Alloc(this, System.Runtime.InteropServices.GCHandleType.Weak));
        Index = index;
        Memory = memory;
        Io = io;
        Code = code;
        SupervisorTlb = new SoftTlb(user: false);
        UserTlb = new SoftTlb(user: true);
        Tlb = SupervisorTlb;
        code.AttachTlb(SupervisorTlb);
        code.AttachTlb(UserTlb);
    }

    public int Index { get; }

    /// <summary>The number of processors in the machine, for CPUID's topology leaves (01H, 0BH).</summary>
    public int ProcessorCount { get; init; } = 1;

    public AddressSpace Memory { get; }

    public IoPortBus Io { get; }

    public BlockCache Code { get; }

    private SoftTlb _tlb = null!;

    /// <summary>The TLB of the current privilege: <see cref="UserTlb"/> at CPL 3, else <see cref="SupervisorTlb"/>.</summary>
    public SoftTlb Tlb
    {
        get => _tlb;
        set
        {
            _tlb = value;
            _state->Tlb = value.Base;
        }
    }

    public SoftTlb SupervisorTlb { get; }

    public SoftTlb UserTlb { get; }

    public bool ProtectedMode => (Cr0 & Cr0PE) != 0;

    public bool V86Mode => (FlagsRest & VM) != 0;

    public int Cpl => ProtectedMode && !V86Mode ? Seg[(int)Core.Cpu.Seg.Cs].Selector & 3 : (V86Mode ? 3 : 0);

    public ulong Rflags
    {
        get => FlagsRest | Flags.Get();
        set
        {
            Flags.SetAll((uint)value);
            FlagsRest = ((uint)value & ~LazyFlags.ArithMask) | 2;
        }
    }

    public bool InterruptsEnabled => (FlagsRest & IF) != 0;

    public bool LongMode => (Efer & EferLMA) != 0;

    /// <summary>Recomputes <see cref="Bitness"/> and the TLB of the current privilege after CS, CR0, EFER or RFLAGS.VM changed.</summary>
    public void UpdateMode()
    {
        SegmentRegister cs = Seg[(int)Core.Cpu.Seg.Cs];
        Bitness = !ProtectedMode || V86Mode ? 16
            : (Efer & EferLMA) != 0 && cs.Long ? 64
            : cs.DefaultBig ? 32 : 16;
        Tlb = Cpl == 3 ? UserTlb : SupervisorTlb;
        EndBlock = true;
        Translator?.SelectJumps(new Translation.JumpCache.ModeKey(Cpl, Bitness, cs.Base, cs.Limit, cs.Attributes, Cr0, Cr4, Efer));
    }

    public void LoadState(CpuState s)
    {
        s.Gpr.AsSpan(0, 16).CopyTo(R.AsSpan());
        Rip = s.Rip;
        Rflags = s.Rflags;
        s.Segments.AsSpan(0, 6).CopyTo(Seg.AsSpan());
        Ldtr = s.Ldtr;
        Tr = s.Tr;
        Gdtr = s.Gdtr;
        Idtr = s.Idtr;
        (Cr0, Cr2, Cr3, Cr4, Cr8, Efer) = (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer);
        (Dr0, Dr1, Dr2, Dr3, Dr6, Dr7) = (s.Dr0, s.Dr1, s.Dr2, s.Dr3, s.Dr6, s.Dr7);
        Pkru = s.Pkru;
        Msrs = new Dictionary<uint, ulong>(s.Msrs);
        Star = TakeMsr(Msr.Star);
        Lstar = TakeMsr(Msr.Lstar);
        Cstar = TakeMsr(Msr.Cstar);
        Sfmask = TakeMsr(Msr.Sfmask);
        KernelGsBase = TakeMsr(Msr.KernelGsBase);
        SysenterCs = TakeMsr(Msr.SysenterCs);
        SysenterEsp = TakeMsr(Msr.SysenterEsp);
        SysenterEip = TakeMsr(Msr.SysenterEip);
        LoadFxImage(s.FxState);
        LoadAvxState(s);
        // CpuState holds the counter's value; this CPU keeps the offset from host time (see HostTsc).
        if (Msrs.TryGetValue(Msr.Tsc, out ulong tsc))
        {
            Msrs[Msr.Tsc] = tsc - HostTsc();
        }
        Halted = s.Halted;
        InterruptShadow = s.InterruptShadow;
        NmiBlocked = s.NmiBlocked;
        UpdateDebugState();
        FlushTlb();
        if (PaePaging)
        {
            LoadPdptes(check: false);
        }

        UpdateMode();
    }

    private ulong TakeMsr(uint index) => Msrs.Remove(index, out ulong v) ? v : 0;

    public CpuState SaveState()
    {
        var s = new CpuState();
        R.AsSpan().CopyTo(s.Gpr);
        s.Rip = Rip;
        s.Rflags = Rflags;
        Seg.AsSpan().CopyTo(s.Segments);
        s.Ldtr = Ldtr;
        s.Tr = Tr;
        s.Gdtr = Gdtr;
        s.Idtr = Idtr;
        (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer) = (Cr0, Cr2, Cr3, Cr4, TaskPriority?.Cr8 ?? Cr8, Efer);
        (s.Dr0, s.Dr1, s.Dr2, s.Dr3, s.Dr6, s.Dr7) = (Dr0, Dr1, Dr2, Dr3, Dr6, Dr7);
        s.Pkru = Pkru;
        foreach ((uint k, ulong v) in Msrs)
        {
            s.Msrs[k] = v;
        }

        (s.Msrs[Msr.Star], s.Msrs[Msr.Lstar], s.Msrs[Msr.Cstar], s.Msrs[Msr.Sfmask]) = (Star, Lstar, Cstar, Sfmask);
        (s.Msrs[Msr.KernelGsBase], s.Msrs[Msr.SysenterCs], s.Msrs[Msr.SysenterEsp], s.Msrs[Msr.SysenterEip]) = (KernelGsBase, SysenterCs, SysenterEsp, SysenterEip);

        s.Msrs[Msr.Tsc] = HostTsc() + Msrs.GetValueOrDefault(Msr.Tsc);
        StoreFxImage(s.FxState);
        StoreAvxState(s);
        s.Halted = Halted;
        s.InterruptShadow = InterruptShadow;
        s.NmiBlocked = NmiBlocked;
        return s;
    }
}
