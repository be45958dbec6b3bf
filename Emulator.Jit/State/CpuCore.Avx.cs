using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;

namespace Emulator.Jit.State;

/// <summary>
/// The AVX register state and XCR0 (Intel SDM Vol. 1 14.1, 13.3): YMM0-YMM15 are the XMM
/// registers (<see cref="Xmm"/>, bits 127:0) extended by <see cref="YmmHigh"/> (bits 255:128).
/// Legacy SSE instructions write only the XMM part; VEX.128 instructions zero the upper part of
/// the register they write; VEX.256 instructions write all 256 bits (Vol. 1 14.1.2, Vol. 2A 2.3.10).
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>CR4.OSXSAVE (bit 18): XSAVE, XGETBV/XSETBV and VEX-encoded instructions are enabled (Intel SDM Vol. 3A 2.5).</summary>
    public const ulong Cr4OsXsave = 1UL << 18;

    /// <summary>XCR0: the state components the operating system enabled with XSETBV (Intel SDM Vol. 1 13.3); 1 at RESET.</summary>
    public ulong Xcr0 = XsaveLayout.X87;

    /// <summary>Bits 255:128 of YMM0-YMM15, in the native state.</summary>
    // Sound: the state lives in native memory owned by this CpuCore for its whole life.
    public unsafe Span<Vector128<byte>> YmmHigh => new(_state->YmmHigh, 16);

    /// <summary>YMM register <paramref name="i"/> (0-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<byte> ReadYmm(int i) => Vector256.Create(Xmm[i], YmmHigh[i]);

    /// <summary>Writes all 256 bits of YMM register <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteYmm(int i, Vector256<byte> value)
    {
        Xmm[i] = value.GetLower();
        YmmHigh[i] = value.GetUpper();
    }

    /// <summary>A VEX.128 write of XMM register <paramref name="i"/>: bits 255:128 of the YMM register are zeroed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteXmmZeroUpper(int i, Vector128<byte> value)
    {
        Xmm[i] = value;
        YmmHigh[i] = Vector128<byte>.Zero;
    }

    /// <summary>CpuState's YMM upper halves (<see cref="CpuState.YmmHigh"/>) and XCR0.</summary>
    private void LoadAvxState(CpuState s)
    {
        Xcr0 = s.Xcr0 | XsaveLayout.X87;
        for (int i = 0; i < 16; i++)
        {
            YmmHigh[i] = Vector128.Create(s.YmmHigh.AsSpan(16 * i, 16));
        }
    }

    private void StoreAvxState(CpuState s)
    {
        s.Xcr0 = Xcr0;
        for (int i = 0; i < 16; i++)
        {
            YmmHigh[i].CopyTo(s.YmmHigh.AsSpan(16 * i, 16));
        }
    }
}
