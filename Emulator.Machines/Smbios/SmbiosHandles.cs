namespace Emulator.Machines.Smbios;

/// <summary>
/// Structure handles (DSP0134 6.1.2: unique within the table): the type in the high byte and an
/// index in the low byte, so that a type's structures are easy to tell apart in a dump and the
/// references between them (type 17 and 19 to type 16) are computed, not looked up.
/// </summary>
public static class SmbiosHandles
{
    /// <summary>The handle of the <paramref name="index"/>th structure of <paramref name="type"/>.</summary>
    public static ushort For(byte type, int index) => index is >= 0 and < 256
        ? (ushort)((type << 8) | index)
        : throw new ArgumentOutOfRangeException(nameof(index), "at most 256 structures of one type");
}
