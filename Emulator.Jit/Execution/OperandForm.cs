namespace Emulator.Jit.Execution;

/// <summary>
/// The operand shape of an instruction, found once at decode time. Instruction families that
/// register per-form handlers (<see cref="BinaryForms{T}"/>, <see cref="UnaryForms{T}"/>) get a
/// handler that reads its operands straight from the decoded op; <see cref="Other"/> (and every
/// family that registers one handler) runs the generic handler that asks the decoded instruction.
/// </summary>
internal enum OperandForm : byte
{
    Other,

    /// <summary>One general register (not AH..BH).</summary>
    Reg,

    /// <summary>One memory operand of 1, 2, 4 or 8 bytes.</summary>
    Mem,
    RegReg,
    RegImm,
    RegMem,
    MemReg,
    MemImm,

    /// <summary>A near relative branch: the target (already wrapped to the operand size) is in <see cref="Decoding.DecodedOp.Imm"/>.</summary>
    NearBranch,
}
