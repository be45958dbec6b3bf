using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The host calling convention translated code meets at its two edges: the entry stub, called by
/// the dispatcher, and the helpers it calls (System V AMD64 on Linux and macOS, Microsoft x64 on
/// Windows). Both pass the first integer arguments in registers and return in RAX; Windows also
/// wants 32 bytes of shadow space and keeps RSI and RDI callee-saved.
/// </summary>
internal static class HostAbi
{
    public static readonly bool Windows = OperatingSystem.IsWindows();

    public static Register Arg0 => Windows ? Register.RCX : Register.RDI;

    public static Register Arg1 => Windows ? Register.RDX : Register.RSI;

    /// <summary>Registers the entry stub saves because the ABI says the callee keeps them.</summary>
    public static Register[] CalleeSaved => Windows
        ? [Register.RBX, Register.RBP, Register.RDI, Register.RSI, Register.R12, Register.R13, Register.R14, Register.R15]
        : [Register.RBX, Register.RBP, Register.R12, Register.R13, Register.R14, Register.R15];

    /// <summary>Stack bytes the entry stub reserves below the saved registers: keeps RSP 16-byte aligned at helper calls, plus Windows' shadow space.</summary>
    public static int FrameBytes => Windows ? 40 : 8;
}
