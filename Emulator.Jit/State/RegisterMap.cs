using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>Where each Iced general-purpose register lives in the 16-entry register file.</summary>
internal static class RegisterMap
{
    private static readonly int Count = (int)Enum.GetValues<Register>().Max() + 1;

    /// <summary>Register file index, or -1 when not a general-purpose register.</summary>
    public static readonly sbyte[] Index = new sbyte[Count];

    /// <summary>Size in bytes.</summary>
    public static readonly byte[] Size = new byte[Count];

    /// <summary>True for AH, CH, DH, BH.</summary>
    public static readonly bool[] HighByte = new bool[Count];

    static RegisterMap()
    {
        Array.Fill(Index, (sbyte)-1);
        for (int i = 0; i < 16; i++)
        {
            Map(Register.RAX + i, i, 8);
            Map(Register.EAX + i, i, 4);
            Map(Register.AX + i, i, 2);
        }

        for (int i = 0; i < 4; i++)
        {
            Map(Register.AL + i, i, 1);
            Map(Register.AH + i, i, 1);
            HighByte[(int)(Register.AH + i)] = true;
        }

        // SPL, BPL, SIL, DIL follow AH..BH in Iced's numbering; R8L..R15L follow them.
        for (int i = 4; i < 16; i++)
        {
            Map(Register.SPL + (i - 4), i, 1);
        }
    }

    private static void Map(Register r, int index, byte size)
    {
        Index[(int)r] = (sbyte)index;
        Size[(int)r] = size;
    }
}
