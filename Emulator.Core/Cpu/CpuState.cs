namespace Emulator.Core.Cpu;

/// <summary>Indices of the general-purpose registers in <see cref="CpuState.Gpr"/>, in x86 encoding order.</summary>
public enum Gpr
{
    /// <summary>RAX</summary>
    Rax, /// <summary>RCX</summary>
    Rcx, /// <summary>RDX</summary>
    Rdx, /// <summary>RBX</summary>
    Rbx, /// <summary>RSP</summary>
    Rsp, /// <summary>RBP</summary>
    Rbp, /// <summary>RSI</summary>
    Rsi, /// <summary>RDI</summary>
    Rdi, /// <summary>R8</summary>
    R8, /// <summary>R9</summary>
    R9, /// <summary>R10</summary>
    R10, /// <summary>R11</summary>
    R11, /// <summary>R12</summary>
    R12, /// <summary>R13</summary>
    R13, /// <summary>R14</summary>
    R14, /// <summary>R15</summary>
    R15,
}

/// <summary>Indices of the segment registers in <see cref="CpuState.Segments"/>, in x86 encoding order.</summary>
public enum Seg
{
    /// <summary>ES</summary>
    Es, /// <summary>CS</summary>
    Cs, /// <summary>SS</summary>
    Ss, /// <summary>DS</summary>
    Ds, /// <summary>FS</summary>
    Fs, /// <summary>GS</summary>
    Gs,
}

/// <summary>
/// All architectural state of one x86-64 logical processor, in one shape for every backend: the
/// software CPU keeps it directly, KVM converts to and from its structures, and moving a guest from one
/// backend to the other is reading this from one and writing it to the other.
/// </summary>
public sealed class CpuState
{
    /// <summary>RAX..R15, indexed by <see cref="Cpu.Gpr"/>.</summary>
    public ulong[] Gpr { get; private set; } = new ulong[16];
    /// <summary>Instruction pointer.</summary>
    public ulong Rip;
    /// <summary>RFLAGS with every flag materialized (bit 1 always set).</summary>
    public ulong Rflags = 2;
    /// <summary>ES, CS, SS, DS, FS, GS indexed by <see cref="Seg"/>.</summary>
    public SegmentRegister[] Segments { get; private set; } = new SegmentRegister[6];
    /// <summary>LDTR with its cached descriptor.</summary>
    public SegmentRegister Ldtr;
    /// <summary>Task register with its cached descriptor.</summary>
    public SegmentRegister Tr;
    /// <summary>GDTR.</summary>
    public TableRegister Gdtr;
    /// <summary>IDTR.</summary>
    public TableRegister Idtr;
    /// <summary>Control registers.</summary>
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    /// <summary>Extended feature enable register (MSR 0xC0000080).</summary>
    public ulong Efer;
    /// <summary>The protection-key rights register for user pages (Intel SDM Vol. 3A 2.7): two bits, AD and WD, per key.</summary>
    public uint Pkru;
    /// <summary>Debug registers DR0-DR3, DR6, DR7.</summary>
    public ulong Dr0, Dr1, Dr2, Dr3, Dr6 = 0xffff0ff0, Dr7 = 0x400;
    /// <summary>
    /// Model-specific registers other than EFER, by index (TSC, APIC base, SYSCALL and SYSENTER MSRs,
    /// PAT, ...). Values are what RDMSR would return now: the TSC (0x10) is the counter's value, not an offset.
    /// </summary>
    public Dictionary<uint, ulong> Msrs { get; private set; } = [];
    /// <summary>FXSAVE-format x87/MMX/SSE state (512 bytes, Intel SDM Vol. 1 10.5.1).</summary>
    public byte[] FxState { get; private set; } = new byte[512];
    /// <summary>
    /// Bits 255:128 of YMM0-YMM15, 16 bytes each (the XSAVE AVX component, YMM_Hi128, in its
    /// standard-format layout: Intel SDM Vol. 1 13.5.3). Bits 127:0 are the XMM registers in <see cref="FxState"/>.
    /// </summary>
    public byte[] YmmHigh { get; private set; } = new byte[256];
    /// <summary>XCR0, the extended control register that enables XSAVE state components (Intel SDM Vol. 1 13.3); 1 at RESET.</summary>
    public ulong Xcr0 = XsaveLayout.X87;
    /// <summary>True when the processor is halted (HLT) waiting for an interrupt.</summary>
    public bool Halted;
    /// <summary>Interrupt shadow after STI or MOV SS: no external interrupt before the next instruction.</summary>
    public bool InterruptShadow;
    /// <summary>An NMI is being handled (blocks further NMIs until IRET).</summary>
    public bool NmiBlocked;
    /// <summary>An NMI is pending delivery.</summary>
    public bool NmiPending;
    /// <summary>An external interrupt vector acknowledged at the interrupt controller but not yet delivered, or -1.</summary>
    public int PendingInterrupt = -1;
    /// <summary>
    /// A hardware exception whose delivery had begun but not finished when the state was read, or -1.
    /// RIP points at the faulting instruction and CR2/DR6 already hold the fault's payload. Software
    /// exceptions and INT n are never pending here: their instruction is simply executed again.
    /// </summary>
    public int PendingException = -1;
    /// <summary>The error code pushed with <see cref="PendingException"/>, when that vector has one.</summary>
    public uint? PendingExceptionErrorCode;

    /// <summary>The architectural state at RESET (Intel SDM Vol. 3A 9.1.1, Table 9-1).</summary>
    public static CpuState AtReset()
    {
        var s = new CpuState { Rip = 0xfff0, Cr0 = 0x60000010 };
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = SegmentRegister.RealMode(0);
        }

        // CS = F000 with base FFFF0000: the first fetch is at FFFFFFF0, the top of the BIOS flash.
        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0xf000, Base = 0xffff0000, Limit = 0xffff, Attributes = 0x9b };
        s.Gdtr.Limit = 0xffff;
        s.Idtr.Limit = 0xffff;
        s.Ldtr = new SegmentRegister { Limit = 0xffff, Attributes = 0x82 };
        s.Tr = new SegmentRegister { Limit = 0xffff, Attributes = 0x8b };
        s.Gpr[(int)Cpu.Gpr.Rdx] = 0x600; // processor signature family 6
        // FCW = 0x037F after FINIT; MXCSR = 0x1F80 (Intel SDM Vol. 1 Table 8-1, 10.2.3).
        s.FxState[0] = 0x7f;
        s.FxState[1] = 0x03;
        s.FxState[24] = 0x80;
        s.FxState[25] = 0x1f;
        return s;
    }

    /// <summary>
    /// The state after INIT of a processor whose state was <paramref name="before"/>: the RESET state,
    /// except that the MTRRs, IA32_PAT and the machine-check registers are left as they were ("during
    /// an INIT, the internal caches, MSRs, MTRRs, and x87 FPU state are left unchanged", Intel SDM
    /// Vol. 3A 10.1 and Table 10-1).
    /// </summary>
    public static CpuState AtInit(CpuState before)
    {
        CpuState s = AtReset();
        foreach ((uint index, ulong value) in before.Msrs)
        {
            if (CacheAndMcaMsrs.Owns(index))
            {
                s.Msrs[index] = value;
            }
        }

        return s;
    }

    /// <summary>A deep copy.</summary>
    public CpuState Clone()
    {
        var c = (CpuState)MemberwiseClone();
        c.CopyArraysFrom(this);
        return c;
    }

    // MemberwiseClone shares the arrays and the MSR map; the copy gets its own.
    private void CopyArraysFrom(CpuState source)
    {
        Gpr = (ulong[])source.Gpr.Clone();
        Segments = (SegmentRegister[])source.Segments.Clone();
        FxState = (byte[])source.FxState.Clone();
        YmmHigh = (byte[])source.YmmHigh.Clone();
        Msrs = new Dictionary<uint, ulong>(source.Msrs);
    }
}
