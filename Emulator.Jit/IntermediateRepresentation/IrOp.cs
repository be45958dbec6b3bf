using Emulator.Jit.Decoding;
using Iced.Intel;

namespace Emulator.Jit.IntermediateRepresentation;

/// <summary>One guest instruction as the translator sees it.</summary>
internal unsafe struct IrOp
{
    public IrKind Kind;

    /// <summary>The decoded op in its block (pinned), which the interpreter's handler runs on.</summary>
    public DecodedOp* Op;

    /// <summary>The guest instruction (for Native forms, the one to re-encode).</summary>
    public Instruction Ins;

    /// <summary>RIP of the instruction and of the one after it.</summary>
    public ulong Rip, Next;

    /// <summary>Branch, jump or call target.</summary>
    public ulong Target;

    /// <summary>Operand size in bytes (stack and control-flow kinds: the size pushed or popped).</summary>
    public int Size;

    /// <summary>NativeMemory: the instruction writes its memory operand (so the write entry is probed).</summary>
    public bool MemoryWrite;

    /// <summary>NativeMemory: a locked read-modify-write (LOCK prefix or XCHG with memory), kept locked on the host.</summary>
    public bool Locked;

    /// <summary>Native: the shift count is CL, which the host instruction needs in its own CL.</summary>
    public bool CountInCl;

    /// <summary>Native: an operand is AH, CH, DH or BH, which only a host instruction without REX can name: the guest registers go through the host's RAX, RCX and RDX.</summary>
    public bool HighByte;

    /// <summary>The instruction reads the arithmetic flags.</summary>
    public bool ReadsFlags;

    /// <summary>The instruction writes the arithmetic flags.</summary>
    public bool WritesFlags;

    /// <summary>Guest general registers the instruction reads or writes (bit per register-file index).</summary>
    public ushort Registers;

    /// <summary>Guest general registers the instruction may write.</summary>
    public ushort Written;

    /// <summary>Interpret: a host instruction left to the interpreter because its undefined flags may be read (FlagLiveness).</summary>
    public bool ForUndefinedFlags;

    /// <summary>Native: the host instruction is followed by code that gives its undefined flags the interpreter's values (FlagLiveness).</summary>
    public Translation.UndefinedFlagFixup Fixup;

    /// <summary>Iced's condition for Branch.</summary>
    public ConditionCode Condition;
}
