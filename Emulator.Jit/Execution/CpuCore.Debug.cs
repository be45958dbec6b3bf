using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>
/// The debug facilities of Intel SDM Vol. 3B chapter 18 (17 in older editions): single-step (TF),
/// the four breakpoint registers DR0-DR3 with DR7 (instruction breakpoints, faults; data write and
/// read/write breakpoints and, with CR4.DE, I/O breakpoints, traps) reporting in DR6, the resume
/// flag, general detect, the task-switch trap of a TSS's T flag (DR6.BT), and the MOV SS / POP SS
/// shadow that holds debug traps back for one instruction. While TF or RF is set, a breakpoint is
/// enabled, or a trap is waiting, the interpreter runs one instruction at a time here
/// (<see cref="ExecuteTraced"/>) instead of whole blocks, and never runs translated code; otherwise
/// none of this costs anything. Data breakpoints are seen in the memory slow path: no TLB entry is
/// made for a page a data breakpoint covers, so every access to it is checked. A REP string
/// instruction stops after the iteration that hit a data or I/O breakpoint, so the trap reports
/// that iteration and the instruction resumes after the handler (18.3.1.2).
/// </summary>
internal sealed unsafe partial class CpuCore
{
    /// <summary>DR6 bits: B0-B3 (breakpoint matched), BD (general detect), BS (single step), BT (task switch); reserved bits read as 1 (bits 4-11, 16-31).</summary>
    public const ulong Dr6B0B3 = 0xf, Dr6Bd = 1UL << 13, Dr6Bs = 1UL << 14, Dr6Bt = 1UL << 15, Dr6Fixed = 0xffff_0ff0;

    /// <summary>CR4.DE (bit 3): DR4/DR5 are reserved and DR7 R/W = 10b means I/O breakpoints (Intel SDM Vol. 3A 2.5).</summary>
    public const ulong Cr4De = 1UL << 3;

    /// <summary>DR7: GD (general detect, bit 13); bit 10 reads as 1; bits 11, 12, 14 and 15 are reserved.</summary>
    public const ulong Dr7Gd = 1UL << 13, Dr7Fixed = 0x400, Dr7Writable = 0xffff_23ff;

    /// <summary>True when DR7 enables any breakpoint (L0-L3, G0-G3).</summary>
    public bool DebugArmed;

    /// <summary>True when an enabled breakpoint watches data (DR7 R/W = 01 or 11).</summary>
    public bool DataBreakpointsArmed;

    /// <summary>Set by MOV SS and POP SS: debug traps of this instruction wait until after the next (Intel SDM Vol. 3A 6.8.3).</summary>
    public bool MovSsShadow;

    // B0-B3 of the data breakpoints the current instruction hit, and traps held back by a MOV SS shadow.
    private ulong _dataBreakpointHits;
    private ulong _deferredTrap;

    // A task switch loaded a TSS whose T flag is set: #DB before the new task's first instruction.
    private bool _taskSwitchTrap;

    /// <summary>True when the interpreter must run one instruction at a time through <see cref="ExecuteTraced"/>.</summary>
    public bool Traced => (FlagsRest & (TF | RF)) != 0 || DebugArmed || _deferredTrap != 0 || _taskSwitchTrap;

    /// <summary>True when the current instruction has hit a data or I/O breakpoint (its trap follows the instruction).</summary>
    public bool BreakpointHitPending => _dataBreakpointHits != 0;

    /// <summary>Recomputes what DR7 arms after a write to DR0-DR3 or DR7, or a state load.</summary>
    public void UpdateDebugState()
    {
        bool hadData = DataBreakpointsArmed;
        DebugArmed = (Dr7 & 0xff) != 0;
        DataBreakpointsArmed = false;
        for (int i = 0; i < 4; i++)
        {
            DataBreakpointsArmed |= Enabled(i) && (Kind(i) & 1) != 0;
        }

        if (DataBreakpointsArmed || hadData)
        {
            // Entries made before may cover a newly watched page (or the watch moved).
            FlushTlb();
        }
    }

    private bool Enabled(int i) => ((Dr7 >> (2 * i)) & 3) != 0;

    // R/W field: 00 execution, 01 data writes, 10 I/O, 11 data reads and writes.
    private int Kind(int i) => (int)(Dr7 >> (16 + (4 * i))) & 3;

    // LEN field: 00 one byte, 01 two, 11 four, 10 eight; the address is aligned down to the length.
    private int Length(int i) => ((Dr7 >> (18 + (4 * i))) & 3) switch { 0 => 1, 1 => 2, 2 => 8, _ => 4 };

    private ulong BreakpointAddress(int i) => i switch { 0 => Dr0, 1 => Dr1, 2 => Dr2, _ => Dr3 };

    /// <summary>Notes the data breakpoints an access of <paramref name="size"/> bytes at <paramref name="linear"/> hits.</summary>
    public void CheckDataBreakpoints(ulong linear, int size, bool write)
    {
        for (int i = 0; i < 4; i++)
        {
            int kind = Kind(i);
            if (!Enabled(i) || (kind & 1) == 0 || (kind == 1 && !write))
            {
                continue;
            }

            int length = Length(i);
            ulong start = BreakpointAddress(i) & ~(ulong)(length - 1);
            if (linear < start + (ulong)length && start < linear + (ulong)size)
            {
                _dataBreakpointHits |= 1UL << i;
            }
        }
    }

    /// <summary>
    /// Notes the I/O breakpoints an access of <paramref name="size"/> bytes at <paramref name="port"/>
    /// hits: with CR4.DE set, an enabled breakpoint with R/W = 10b watches the ports DRn (aligned
    /// down to its length) to DRn + length - 1, for reads and writes alike (Intel SDM Vol. 3B 18.2.4,
    /// 18.2.5). Without CR4.DE that encoding is undefined and matches nothing here.
    /// </summary>
    public void CheckIoBreakpoints(ushort port, int size)
    {
        if ((Cr4 & Cr4De) == 0)
        {
            return;
        }

        for (int i = 0; i < 4; i++)
        {
            if (!Enabled(i) || Kind(i) != 2)
            {
                continue;
            }

            int length = Length(i);
            ulong start = BreakpointAddress(i) & 0xffff & ~(ulong)(length - 1);
            if (port < start + (ulong)length && start < port + (ulong)size)
            {
                _dataBreakpointHits |= 1UL << i;
            }
        }
    }

    /// <summary>Records that the task switch just made loaded a TSS with its T flag set (Intel SDM Vol. 3B 18.3.1.5).</summary>
    public void RequestTaskSwitchTrap() => _taskSwitchTrap = true;

    /// <summary>
    /// Delivers the #DB of a TSS's T flag, if a task switch requested one: a trap after the switch,
    /// before the new task's first instruction, with DR6.BT set (Intel SDM Vol. 3B 18.3.1.5); it comes
    /// before external interrupts and NMI (Vol. 3A Table 6-2, priority 3). Returns true when delivered.
    /// </summary>
    public bool TakeTaskSwitchTrap()
    {
        if (!_taskSwitchTrap)
        {
            return false;
        }

        _taskSwitchTrap = false;
        Dr6 = (Dr6 & ~Dr6B0B3) | Dr6Bt | Dr6Fixed;
        Halted = false;
        InstructionStart = Rip;
        RaiseException(Vectors.DB, null);
        return true;
    }

    /// <summary>True when an enabled data breakpoint covers part of the page of <paramref name="linear"/>.</summary>
    public bool DataBreakpointOnPage(ulong linear)
    {
        ulong page = linear & ~0xfffUL;
        for (int i = 0; i < 4; i++)
        {
            if (Enabled(i) && (Kind(i) & 1) != 0)
            {
                ulong start = BreakpointAddress(i) & ~(ulong)(Length(i) - 1);
                if (start < page + 0x1000 && page < start + (ulong)Length(i))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Instruction breakpoints whose address is the first byte of the instruction at CS:RIP.
    private ulong InstructionBreakpointHits()
    {
        ulong linear = Bitness == 64 ? Rip : (Seg[(int)Core.Cpu.Seg.Cs].Base + Rip) & 0xffff_ffff;
        ulong hits = 0;
        for (int i = 0; i < 4; i++)
        {
            if (Enabled(i) && Kind(i) == 0 && BreakpointAddress(i) == linear)
            {
                hits |= 1UL << i;
            }
        }

        return hits;
    }

    /// <summary>
    /// Runs the instruction at CS:RIP alone with the debug checks around it; a guest fault goes to
    /// the caller's handler, like any other. Returns true when the caller must stop running
    /// instructions (an exception was delivered, the instruction ended its block, or a shadow began).
    /// </summary>
    public bool ExecuteTraced()
    {
        if (TakeTaskSwitchTrap())
        {
            return true;
        }

        InstructionStart = Rip;
        Block block = FetchBlock();
        ref DecodedOp op = ref block.Ops[0];

        // An instruction breakpoint is a fault, checked before the instruction and suppressed by
        // RF; the EFLAGS image keeps RF as it is (0) so that the handler decides (18.3.1.1, 18.3.1.1 RF).
        // Nor is it taken on the instruction right after MOV SS / POP SS: the processor inhibits
        // debug exceptions until the boundary after that instruction (Vol. 3A 6.8.3), so on Intel
        // processors a code breakpoint there is lost (MovSsShadow still says what the last one was).
        if ((FlagsRest & RF) == 0 && !MovSsShadow && DebugArmed && InstructionBreakpointHits() is var hits and not 0)
        {
            Dr6 = (Dr6 & ~Dr6B0B3) | hits | Dr6Fixed;
            RaiseException(Vectors.DB, null);
            return true;
        }

        // RF is cleared at the start of every instruction, after the code-breakpoint check (RF flag, 18.3.1.1).
        FlagsRest &= ~RF;
        bool singleStep = (FlagsRest & TF) != 0;
        _dataBreakpointHits = 0;
        MovSsShadow = false;
        Rip = (Rip + op.Length) & IpMask;
        op.Handler(this, ref op.Ins);
        InstructionsRetired++;

        // Traps after the instruction (18.3.1.2 data breakpoints, 18.3.1.4 single step). TF is the
        // value at the start: the instruction that sets TF is not trapped, the one that clears it
        // is. A software interrupt clears TF on entry to its handler and is not single-stepped.
        ulong trap = _dataBreakpointHits;
        if (singleStep && !(IsSoftwareInterrupt(op.Ins.Mnemonic) && (FlagsRest & TF) == 0))
        {
            trap |= Dr6Bs;
        }

        trap |= _deferredTrap;
        _deferredTrap = 0;

        // INT1 (ICEBP, F1) delivered a #DB of its own, which leaves DR6 as it was; that delivery
        // services the debug traps held back by a MOV SS before it, which are dropped rather than
        // delivered a second time inside the handler (the single-step of MOV SS; ICEBP is one #DB
        // at the ICEBP's next instruction with no DR6.BS, as Intel processors and KVM do).
        if (op.Ins.Mnemonic == Mnemonic.Int1 && (FlagsRest & TF) == 0)
        {
            trap = 0;
        }

        if (MovSsShadow && trap != 0)
        {
            // MOV SS / POP SS: the trap waits until after the next instruction (6.8.3).
            _deferredTrap = trap;
            return true;
        }

        if (trap != 0)
        {
            Dr6 = (Dr6 & ~Dr6B0B3) | trap | Dr6Fixed;
            Halted = false;
            RaiseException(Vectors.DB, null);
            return true;
        }

        return EndBlock || InterruptShadow;
    }

    private static bool IsSoftwareInterrupt(Mnemonic m) => m is Mnemonic.Int or Mnemonic.Int3 or Mnemonic.Int1 or Mnemonic.Into;

    /// <summary>MOV to DR0-DR7 (Intel SDM Vol. 2B MOV, Debug Registers): DR4/DR5 alias DR6/DR7 unless CR4.DE.</summary>
    public void WriteDebugRegister(int index, ulong value)
    {
        CheckDebugRegisterAccess(ref index);
        if (index >= 6 && Bitness == 64 && (value >> 32) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        switch (index)
        {
            case 0: Dr0 = value; break;
            case 1: Dr1 = value; break;
            case 2: Dr2 = value; break;
            case 3: Dr3 = value; break;
            case 6: Dr6 = (value & (Dr6B0B3 | Dr6Bd | Dr6Bs | (1UL << 15))) | Dr6Fixed; break;
            default: Dr7 = (value & Dr7Writable) | Dr7Fixed; break;
        }

        UpdateDebugState();
        EndBlock = true;
    }

    /// <summary>MOV from DR0-DR7.</summary>
    public ulong ReadDebugRegister(int index)
    {
        CheckDebugRegisterAccess(ref index);
        return index switch { 0 => Dr0, 1 => Dr1, 2 => Dr2, 3 => Dr3, 6 => Dr6, _ => Dr7 };
    }

    // #UD for DR4/DR5 with CR4.DE (else they are DR6/DR7); with DR7.GD set any access is a #DB
    // fault with DR6.BD, and GD is cleared so that the handler can use the registers (18.2.4).
    private void CheckDebugRegisterAccess(ref int index)
    {
        if (index is 4 or 5)
        {
            if ((Cr4 & 8) != 0)
            {
                throw new GuestFault(Vectors.UD);
            }

            index += 2;
        }

        if ((Dr7 & Dr7Gd) != 0)
        {
            Dr6 |= Dr6Bd | Dr6Fixed;
            Dr7 &= ~Dr7Gd;
            throw new GuestFault(Vectors.DB);
        }
    }
}
