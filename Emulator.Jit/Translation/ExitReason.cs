namespace Emulator.Jit.Translation;

/// <summary>Why translated code returned to the dispatcher (its return value). RIP is in the state.</summary>
internal enum ExitReason
{
    /// <summary>Look up the code at RIP and go on (an indirect branch missed the jump cache, a block was dropped).</summary>
    Continue = 0,

    /// <summary>Return to the vCPU loop: an instruction ended the block (mode change, HLT, a fault delivered), or the budget ran out.</summary>
    End = 1,

    /// <summary>A direct branch whose chain is not patched yet: <see cref="State.GuestState.ExitSlot"/> names it.</summary>
    Chain = 2,

    /// <summary>A block's assumption does not hold (a segment is not flat): interpret the block at RIP.</summary>
    Interpret = 3,
}
