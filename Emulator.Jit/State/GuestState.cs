using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Core.Cpu;

namespace Emulator.Jit.State;

/// <summary>
/// The part of a vCPU's architectural state that translated code reads and writes, in native
/// memory at fixed offsets (so host code reaches it from one base register, and the GC never moves
/// it). The interpreter uses the same storage through <see cref="CpuCore"/>'s accessors: there is
/// one copy of every register.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GuestState
{
    /// <summary>RAX..R15 in encoding order.</summary>
    public fixed ulong Gpr[16];

    public ulong Rip;

    public LazyFlags Flags;

    /// <summary>RFLAGS without the arithmetic flags (CpuCore.FlagsRest): translated string instructions check DF here.</summary>
    public uint FlagsRest;

    /// <summary>ES, CS, SS, DS, FS, GS (see <see cref="Seg"/>), each a <see cref="SegmentRegister"/>.</summary>
    public fixed byte Segments[6 * 24];

    /// <summary>Base of the native TLB of the current privilege (<see cref="Memory.SoftTlb"/>), for translated code's inline probes.</summary>
    public nint Tlb;

    /// <summary>
    /// Guest instructions translated code may still start before it must return to the dispatcher.
    /// Another thread zeroes it to make the code return at its next block boundary (<see cref="CpuCore.RequestStop"/>).
    /// </summary>
    public long Budget;

    /// <summary>What such a zeroing took away from <see cref="Budget"/>: instructions granted but not run.</summary>
    public long Forfeited;

    /// <summary>
    /// Nonzero while an external interrupt may be waiting for IF (set with every notification, cleared
    /// by the vCPU's loop when it finds none): translated STI then ends its run after the next instruction.
    /// </summary>
    public byte InterruptPending;

    /// <summary>Set by an instruction after which the following code must be looked up afresh (see <see cref="CpuCore.EndBlock"/>).</summary>
    public byte EndBlock;

    /// <summary>Translated code's exit: the chaining slot it left through (see Translation/ExitReason).</summary>
    public int ExitSlot;

    /// <summary>A GCHandle of the owning <see cref="CpuCore"/>, for helpers called from translated code.</summary>
    public nint Core;

    /// <summary>The vCPU's jump cache (Translation/JumpCache): guest RIP to translated code, for indirect branches.</summary>
    public nint JumpCache;

    /// <summary>Bit per segment register (<see cref="Seg"/>) that is not flat; set by the dispatcher before entering translated code.</summary>
    public int NonFlatSegments;

    /// <summary>XMM0-XMM15, 16 bytes each: bits 127:0 of YMM0-YMM15.</summary>
    public fixed byte Xmm[256];

    /// <summary>
    /// Bits 255:128 of YMM0-YMM15, 16 bytes each. Apart from <see cref="Xmm"/> so that the legacy SSE
    /// instructions, which leave these bits unchanged (Intel SDM Vol. 1 14.1.2), never touch them.
    /// </summary>
    public fixed byte YmmHigh[256];

    /// <summary>A word translated code may keep across a helper-free stretch of its own (a call's target while it pushes).</summary>
    public ulong Scratch;

    /// <summary>The destination's value before the flag-writing op whose flags translated code may recompute (CodeGen/X86/X86Emitter.FlagReplay).</summary>
    public ulong ReplaySource;

    /// <summary>
    /// The TLB addends of the page groups a block has probed (CodeGen/X86/PageGroups), 0 where the
    /// probe failed; zeroed whenever translated code calls the interpreter, which may change mappings.
    /// </summary>
    public fixed ulong PageAddends[CodeGen.X86.PageGroups.Slots];

    public static int GprOffset(int index) => index * 8;

    public static readonly int RipOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Rip));
    public static readonly int FlagsOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Flags));
    public static readonly int FlagsRestOffset = (int)Marshal.OffsetOf<GuestState>(nameof(FlagsRest));
    public static readonly int FlagOpOffset = FlagsOffset + (int)Marshal.OffsetOf<LazyFlags>(nameof(LazyFlags.Op));
    public static readonly int HostRflagsOffset = FlagsOffset + (int)Marshal.OffsetOf<LazyFlags>(nameof(LazyFlags.HostRflags));
    public static readonly int SegmentsOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Segments));
    public static readonly int TlbOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Tlb));
    public static readonly int BudgetOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Budget));
    public static readonly int ForfeitedOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Forfeited));
    public static readonly int InterruptPendingOffset = (int)Marshal.OffsetOf<GuestState>(nameof(InterruptPending));
    public static readonly int EndBlockOffset = (int)Marshal.OffsetOf<GuestState>(nameof(EndBlock));
    public static readonly int ExitSlotOffset = (int)Marshal.OffsetOf<GuestState>(nameof(ExitSlot));
    public static readonly int JumpCacheOffset = (int)Marshal.OffsetOf<GuestState>(nameof(JumpCache));
    public static readonly int XmmOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Xmm));
    public static readonly int YmmHighOffset = (int)Marshal.OffsetOf<GuestState>(nameof(YmmHigh));
    public static readonly int ScratchOffset = (int)Marshal.OffsetOf<GuestState>(nameof(Scratch));
    public static readonly int ReplaySourceOffset = (int)Marshal.OffsetOf<GuestState>(nameof(ReplaySource));
    public static readonly int PageAddendsOffset = (int)Marshal.OffsetOf<GuestState>(nameof(PageAddends));
    public static readonly int NonFlatSegmentsOffset = (int)Marshal.OffsetOf<GuestState>(nameof(NonFlatSegments));

    public static int SegmentBaseOffset(int seg) => SegmentsOffset + (seg * sizeof(SegmentRegister)) + (int)Marshal.OffsetOf<SegmentRegister>(nameof(SegmentRegister.Base));

    public static int SegmentSelectorOffset(int seg) => SegmentsOffset + (seg * sizeof(SegmentRegister)) + (int)Marshal.OffsetOf<SegmentRegister>(nameof(SegmentRegister.Selector));

    public static int SegmentLimitOffset(int seg) => SegmentsOffset + (seg * sizeof(SegmentRegister)) + (int)Marshal.OffsetOf<SegmentRegister>(nameof(SegmentRegister.Limit));

    public static int SegmentAttributesOffset(int seg) => SegmentsOffset + (seg * sizeof(SegmentRegister)) + (int)Marshal.OffsetOf<SegmentRegister>(nameof(SegmentRegister.Attributes));

    static GuestState()
    {
        if (sizeof(SegmentRegister) != 24)
        {
            throw new InvalidOperationException("SegmentRegister layout changed: GuestState.Segments must follow it");
        }
    }
}

/// <summary>The 16 general registers in <see cref="GuestState"/>, indexed like an array.</summary>
internal readonly unsafe struct RegisterFile(ulong* registers)
{
    public ref ulong this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref registers[index];
    }

    public Span<ulong> AsSpan() => new(registers, 16);
}

/// <summary>The six segment registers in <see cref="GuestState"/>, indexed by <see cref="Core.Cpu.Seg"/>.</summary>
internal readonly unsafe struct SegmentFile(SegmentRegister* segments)
{
    public ref SegmentRegister this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref segments[index];
    }

    public Span<SegmentRegister> AsSpan() => new(segments, 6);
}

/// <summary>
/// Native memory owned by a managed object and freed by the finalizer when that object is collected.
/// Translated code only runs while its vCPU (and so this owner) is alive.
/// </summary>
internal sealed unsafe class NativeBuffer
{
    public NativeBuffer(nuint bytes)
    {
        Pointer = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(Pointer, bytes);
        Length = bytes;
    }

    ~NativeBuffer() => Free();

    public byte* Pointer { get; private set; }

    public nuint Length { get; }

    private void Free()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}
