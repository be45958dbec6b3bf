using Emulator.Core.Memory;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>
/// LOCK-prefixed read-modify-write instructions and XCHG with memory (implicitly locked, Intel SDM
/// Vol. 3A 9.1.2.2) made atomic with respect to other vCPUs. The instruction's handler runs as
/// usual, but its memory operand is reached through an always-empty TLB, so the access takes the
/// slow path, which sends it here: the read loads the naturally aligned 8-byte host word holding
/// the operand (guest RAM is host memory), and the write stores the new word with a
/// compare-and-exchange against the word read. If another vCPU changed the word in between, the
/// registers and flags are put back and the instruction runs again, so a locked update is never
/// lost, neither to another locked update nor to a plain store. Operands that straddle an 8-byte
/// word, live in MMIO or on a page holding decoded code, and CMPXCHG16B, take a machine-wide lock
/// instead (the bus lock real processors use for split locks, Vol. 3A 9.1.2.2): atomic with
/// respect to other locked instructions of that kind, not to plain stores or to the word-sized
/// locked updates.
/// </summary>
internal sealed unsafe partial class CpuCore
{
    private enum LockedState : byte
    {
        None,
        Pending,
        Word,
        Written,
        Bus,
    }

    // One lock for every machine in the process: only split and wide locked accesses take it.
    private static readonly Lock BusLock = new();

    // Never filled: while a locked instruction runs, Tlb points at one of these, so its memory
    // access misses and reaches ReadSlow/WriteSlow, which divert to LockedRead/LockedWrite.
    private readonly SoftTlb _lockedSupervisorTlb = new(user: false);
    private readonly SoftTlb _lockedUserTlb = new(user: true);
    private readonly ulong[] _lockedSavedRegisters = new ulong[16];
    private LockedState _locked;
    private SoftTlb _lockedOuterTlb = null!;
    private ulong* _lockedWord;
    private ulong _lockedSeen;
    private ulong _lockedLinear;
    private int _lockedSize;
    private bool _lockedConflict;

    /// <summary>True for the instructions that must be atomic: a LOCK prefix (Iced decodes it only on the lockable forms with a memory destination) or XCHG with a memory operand.</summary>
    public static bool IsLockedAccess(in Instruction ins) =>
        (ins.HasLockPrefix && ins.Op0Kind == OpKind.Memory)
        || (ins.Mnemonic == Mnemonic.Xchg && (ins.Op0Kind == OpKind.Memory || ins.Op1Kind == OpKind.Memory));

    /// <summary>The handler given to locked instructions at decode time: runs the instruction's own handler atomically.</summary>
    public static void RunLocked(CpuCore cpu, ref Instruction ins) => cpu.ExecuteLocked(ref ins);

    private void ExecuteLocked(ref Instruction ins)
    {
        delegate*<CpuCore, ref Instruction, void> handler = HandlerTable.For(ins.Code);
        SoftTlb outer = Tlb;
        _lockedOuterTlb = outer;
        R.AsSpan().CopyTo(_lockedSavedRegisters);
        LazyFlags flags = Flags;
        try
        {
            while (true)
            {
                _lockedConflict = false;
                if (ins.Mnemonic == Mnemonic.Cmpxchg16b)
                {
                    EnterBusLock();
                }
                else
                {
                    _locked = LockedState.Pending;
                    Tlb = outer.User ? _lockedUserTlb : _lockedSupervisorTlb;
                }

                handler(this, ref ins);
                if (!_lockedConflict)
                {
                    return;
                }

                // Another vCPU changed the word between our read and our write: run again from
                // the state before the instruction.
                _lockedSavedRegisters.CopyTo(R.AsSpan());
                Flags = flags;
            }
        }
        finally
        {
            if (_locked == LockedState.Bus)
            {
                BusLock.Exit();
            }

            _locked = LockedState.None;
            Tlb = outer;
        }
    }

    private void EnterBusLock()
    {
        BusLock.Enter();
        _locked = LockedState.Bus;
        Tlb = _lockedOuterTlb;
    }

    // Reached from ReadSlow while a locked instruction runs (Pending or Word).
    private ulong LockedRead(ulong linear, int size)
    {
        if (_locked == LockedState.Pending)
        {
            ulong* word = LockedWordFor(linear, size);
            if (word is not null)
            {
                _lockedWord = word;
                _lockedLinear = linear;
                _lockedSize = size;
                _lockedSeen = Volatile.Read(ref *word);
                _locked = LockedState.Word;
                return Field(_lockedSeen, linear, size);
            }
        }
        else if (_locked == LockedState.Word && linear == _lockedLinear && size == _lockedSize)
        {
            return Field(_lockedSeen, linear, size);
        }
        else
        {
            InternalError = "a locked instruction made a second memory access the software CPU cannot make atomic";
            throw new GuestFault(Vectors.UD);
        }

        EnterBusLock();
        return ReadSized(linear, size);
    }

    // Reached from WriteSlow while a locked instruction runs (Pending, Word or Written).
    private void LockedWrite(ulong linear, int size, ulong value)
    {
        if (_locked == LockedState.Word && linear == _lockedLinear && size == _lockedSize)
        {
            int shift = (int)(linear & 7) * 8;
            ulong mask = (size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1) << shift;
            ulong desired = (_lockedSeen & ~mask) | ((value << shift) & mask);
            // SAFETY: _lockedWord is the 8-byte aligned host address of guest RAM found by
            // LockedWordFor for this instruction; guest RAM mappings live as long as the machine.
            if ((ulong)Interlocked.CompareExchange(ref *(long*)_lockedWord, (long)desired, (long)_lockedSeen) != _lockedSeen)
            {
                _lockedConflict = true;
            }

            _locked = LockedState.Written;
            return;
        }

        if (_locked == LockedState.Pending)
        {
            EnterBusLock();
            WriteSized(linear, size, value);
            return;
        }

        InternalError = "a locked instruction made a second memory access the software CPU cannot make atomic";
        throw new GuestFault(Vectors.UD);
    }

    // The aligned host word holding the operand when it lies in one 8-byte word of ordinary RAM
    // (not a code page, whose writes must drop decoded blocks, nor the local APIC's page); else null. The translation checks
    // write rights: a locked access is a read-modify-write (its #PF reports W/R = 1).
    private ulong* LockedWordFor(ulong linear, int size)
    {
        if ((linear & 7) + (ulong)size > 8)
        {
            return null;
        }

        SoftTlb tlb = _lockedOuterTlb;
        int i = SoftTlb.Slot(linear);
        if (tlb.WriteTag[i] == SoftTlb.Tag(linear))
        {
            // Write entries exist only for RAM pages without decoded code whose dirty bit is set.
            return (ulong*)(tlb.WriteAddend[i] + (nint)(linear & ~7UL));
        }

        ulong physical = Translate(linear, Access.Write, tlb.User, out uint info);
        MemoryRegion? region = FindRegion(physical);
        if (region is not { Kind: RegionKind.Ram } || !region.Contains(physical & ~7UL) || Code.IsCodePage(physical) || ApicAt(physical) is not null)
        {
            return null;
        }

        if (KeepsEntry(tlb, linear) && region.Contains(physical | SoftTlb.PageMask) && region.Contains(physical & ~SoftTlb.PageMask))
        {
            // The write entry a plain store would make (none where WriteSlow would make none: SMAP,
            // data breakpoints), so the next locked access here is a hit.
            tlb.SetWrite(linear, (nint)region.HostPointer(physical & ~SoftTlb.PageMask), info);
        }

        return (ulong*)region.HostPointer(physical & ~7UL);
    }

    private static ulong Field(ulong word, ulong linear, int size)
    {
        ulong v = word >> (int)((linear & 7) * 8);
        return size == 8 ? v : v & ((1UL << (size * 8)) - 1);
    }
}
