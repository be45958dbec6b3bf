namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Host code every translated block of a vCPU shares (Translation/TranslationCache emits it once):
/// the exit stub a block leaves through with its ExitReason in EAX; the chain-exit stub an
/// unpatched chain to the same page jumps to (target RIP in RCX, chain slot number in R10D: an
/// exit with ExitReason.Chain, after which the dispatcher patches the chain); the chain-lookup stub
/// a chain to another page calls (same registers: returns the target's code in RAX when the jump
/// cache has it, else leaves as the chain-exit stub); the chain-lookup-jump stub a same-page chain
/// that can never be patched is redirected to (the jump cache, else the chain-exit stub); and the
/// interpreter helper a block's helper stub calls; and, by access size, the store probe's
/// code-page check (<see cref="ProbeStubs"/>) and a load site's miss (<see cref="SiteStubs"/>).
/// </summary>
internal readonly record struct HostStubs(ulong Exit, ulong ChainExit, ulong ChainLookup, ulong ChainLookupJump, ulong InterpretHelper,
    ulong[] CodePageStore, ulong[] SiteMiss);
