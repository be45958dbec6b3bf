using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// The harness's own view of Iced registers over a <see cref="RegisterImage"/>-style array, written
/// independently of the emulator so that a case's set-up does not depend on the code under test.
/// </summary>
internal static class RegisterModel
{
    public const int Rsp = 4;

    /// <summary>Index 0-15 of the 64-bit register that holds <paramref name="r"/>.</summary>
    public static int Index(Register r) => r switch
    {
        >= Register.AL and <= Register.BL => r - Register.AL,
        >= Register.AH and <= Register.BH => r - Register.AH,
        >= Register.SPL and <= Register.R15L => r - Register.SPL + 4,
        >= Register.AX and <= Register.R15W => r - Register.AX,
        >= Register.EAX and <= Register.R15D => r - Register.EAX,
        >= Register.RAX and <= Register.R15 => r - Register.RAX,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "not a general-purpose register"),
    };

    public static bool IsHighByte(Register r) => r is >= Register.AH and <= Register.BH;

    public static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    public static ulong Read(ulong[] gpr, Register r)
    {
        ulong v = gpr[Index(r)];
        return IsHighByte(r) ? (v >> 8) & 0xff : v & Mask(r.GetSize());
    }

    /// <summary>Replaces the bits of <paramref name="r"/> and keeps the rest (this sets up a state; it is not an x86 write).</summary>
    public static void Write(ulong[] gpr, Register r, ulong value)
    {
        int i = Index(r);
        int shift = IsHighByte(r) ? 8 : 0;
        ulong mask = Mask(r.GetSize()) << shift;
        gpr[i] = (gpr[i] & ~mask) | ((value << shift) & mask);
    }

    /// <summary>The register of <paramref name="size"/> bytes in slot <paramref name="index"/> (never AH-BH).</summary>
    public static Register OfSize(int index, int size) => size switch
    {
        1 => index < 4 ? Register.AL + index : Register.SPL + (index - 4),
        2 => Register.AX + index,
        4 => Register.EAX + index,
        _ => Register.RAX + index,
    };

    public static string Name(int index) => (Register.RAX + index).ToString().ToLowerInvariant();
}
