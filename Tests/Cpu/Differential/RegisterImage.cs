using System.Runtime.InteropServices;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// The state both CPUs start from and end in: the 16 general-purpose registers in encoding order
/// (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15), RFLAGS, XMM0-XMM15 (two quadwords each,
/// low first), the GS base, bits 255:128 of YMM0-YMM15 (two quadwords each) and MXCSR. The native
/// stub reads and writes it at fixed offsets, so the layout is part of the stub's contract.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RegisterImage
{
    public const int RflagsOffset = 16 * 8;
    public const int XmmOffset = RflagsOffset + 8;
    public const int GsBaseOffset = XmmOffset + (32 * 8);
    public const int YmmHighOffset = GsBaseOffset + 8;
    public const int MxcsrOffset = YmmHighOffset + (32 * 8);

    /// <summary>MXCSR after RESET: every exception masked, round to nearest (Intel SDM Vol. 1 10.2.3).</summary>
    public const uint DefaultMxcsr = 0x1f80;

    public fixed ulong Gpr[16];
    public ulong Rflags;
    public fixed ulong Xmm[32];

    /// <summary>The GS segment base the instruction runs with (GS-prefixed operands), when the host lets user code set it.</summary>
    public ulong GsBase;

    /// <summary>Bits 255:128 of YMM0-YMM15, loaded and compared only on a host with AVX.</summary>
    public fixed ulong YmmHigh[32];

    public uint Mxcsr;
    public uint Padding;
}
