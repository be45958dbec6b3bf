using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The roles of the host's registers in translated code. RBX holds the <see cref="State.GuestState"/>
/// pointer for the whole run; R15 the run's instruction budget (<see cref="Budget"/>); R11 the
/// current TLB; RAX, RDX, R10 and RCX are scratch (RAX also carries the flags through LAHF/SAHF,
/// RCX a shift count); the rest hold guest registers.
/// </summary>
internal static class HostRegisters
{
    /// <summary>Hosts for guest registers, in allocation order (see Translation/IrBuilder.MaxCachedRegisters).</summary>
    public static readonly Register[] Pool =
    [
        Register.RBP, Register.R12, Register.R13, Register.R14, Register.RSI, Register.RDI, Register.R8, Register.R9,
    ];

    /// <summary>
    /// The guest instructions the run may still start, counted down at every block entry and loop
    /// back edge, from the entry stub to the exit stub (which stores it, <see cref="State.GuestState.BudgetLeft"/>).
    /// In a register because a count in memory chained every block entry to the one before through a
    /// store and a load: doubling that chain (a second SUB of 0 on it) made the kernel decompressor's
    /// phase of a boot 11% slower, where the same SUB on another word cost 4%. Callee-saved in both
    /// host ABIs, so helper calls keep it.
    /// </summary>
    public static readonly Register Budget = Register.R15;

    /// <summary>The host register <paramref name="host64"/> (a 64-bit register) at <paramref name="size"/> bytes.</summary>
    public static Register Sized(Register host64, int size)
    {
        int n = host64 - Register.RAX;
        return size switch
        {
            8 => host64,
            4 => Register.EAX + n,
            2 => Register.AX + n,
            _ => n < 4 ? Register.AL + n : n < 8 ? Register.SPL + (n - 4) : Register.R8L + (n - 8),
        };
    }
}
