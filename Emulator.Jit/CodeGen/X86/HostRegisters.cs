using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The roles of the host's registers in translated code. RBX holds the <see cref="State.GuestState"/>
/// pointer for the whole run; R11 the current TLB; RAX, RDX, R10 and RCX are scratch (RAX also
/// carries the flags through LAHF/SAHF, RCX a shift count); the rest hold guest registers.
/// </summary>
internal static class HostRegisters
{
    /// <summary>Hosts for guest registers, in allocation order (see Translation/IrBuilder.MaxCachedRegisters).</summary>
    public static readonly Register[] Pool =
    [
        Register.RBP, Register.R12, Register.R13, Register.R14, Register.R15, Register.RSI, Register.RDI, Register.R8, Register.R9,
    ];

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
