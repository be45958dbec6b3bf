namespace Emulator.Jit.IntermediateRepresentation;

/// <summary>
/// What a translated guest instruction becomes. The guest and the first host are both x86, so most
/// instructions are kept as they are, with host registers in place of guest registers and a probed
/// host address in place of the guest memory operand (<see cref="Native"/>, <see cref="NativeMemory"/>);
/// the stack and control-flow kinds carry the guest semantics a host instruction cannot give as is
/// (the guest stack is guest memory, branches leave the block). Another host backend lowers
/// Native and NativeMemory from the instruction's mnemonic and operands.
/// </summary>
internal enum IrKind : byte
{
    /// <summary>Register and immediate operands only: re-encoded with host registers.</summary>
    Native,

    /// <summary>One memory operand, read, written or both: the address is probed in the TLB, then the instruction runs on host memory.</summary>
    NativeMemory,

    /// <summary>PUSH of a register or an immediate.</summary>
    Push,

    /// <summary>POP into a register.</summary>
    Pop,

    /// <summary>LEAVE with the stack's own size: RSP = RBP + size, RBP = the value RBP pointed at.</summary>
    Leave,

    /// <summary>PUSHFQ in 64-bit mode: RFLAGS (without VM and RF) onto the stack.</summary>
    Pushf,

    /// <summary>CLI in 64-bit mode: IF cleared when CPL is at most IOPL, else the interpreter (#GP).</summary>
    Cli,

    /// <summary>
    /// STI in 64-bit mode, not last in its block: IF set when CPL is at most IOPL, else the interpreter
    /// (#GP). The next instruction, in the same block, runs before any interrupt (the STI shadow).
    /// </summary>
    Sti,

    /// <summary>MOV r32/r64, Sreg in 64-bit mode: the selector, zero-extended, into a general register.</summary>
    MovFromSegment,

    /// <summary>Near CALL to an immediate target: push the return address, continue at the target.</summary>
    Call,

    /// <summary>Near RET without an immediate: pop the target, continue there.</summary>
    Return,

    /// <summary>Near JMP to an immediate target.</summary>
    Jump,

    /// <summary>Jcc: continue at the target or at the next instruction.</summary>
    Branch,

    /// <summary>Near JMP or CALL through a register.</summary>
    JumpIndirect,

    /// <summary>
    /// An SSE instruction on XMM registers (and at most one general register or memory operand):
    /// re-encoded on host XMM registers loaded from and stored back to the guest state.
    /// </summary>
    Vector,

    /// <summary>
    /// One-operand MUL, IMUL, DIV and IDIV (16, 32 and 64 bits): RDX:RAX through the host's RAX and
    /// RDX; a division that would fault (#DE) goes to the interpreter, which raises it.
    /// </summary>
    MulDiv,

    /// <summary>
    /// REP MOVS and REP STOS with 64-bit addresses: when DF is clear and each string lies within one
    /// page the TLB maps (and the destination holds no code), the host's own REP MOVS/STOS on host
    /// memory; otherwise the interpreter's handler.
    /// </summary>
    RepString,

    /// <summary>Any other instruction: translated code calls the interpreter's handler for it.</summary>
    Interpret,
}
