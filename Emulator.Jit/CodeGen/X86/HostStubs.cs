namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Host code every translated block of a vCPU shares (Translation/TranslationCache emits it once):
/// the exit stub a block leaves through with its ExitReason in EAX, the chain-miss stub an
/// unpatched chain exit jumps to (target RIP in RCX, chain slot number in R10D: a jump-cache
/// lookup, else an exit with ExitReason.Chain), and the interpreter helper a block's helper stub calls.
/// </summary>
internal readonly record struct HostStubs(ulong Exit, ulong ChainMiss, ulong InterpretHelper);
