using Emulator.Jit.State;

namespace Emulator.Jit.Translation;

/// <summary>
/// A vCPU's direct-mapped table from guest RIP to translated code, in native memory so translated
/// code looks indirect branches (RET, JMP/CALL through a register) and cross-page direct branches
/// up without leaving. An entry is only valid for the mode and mappings it was made under, so the
/// table is cleared whenever they may change (TLB flushes, INVLPG, mode and CS changes, A20,
/// state loads) and when the code cache is reset; a dropped block's own entry check catches the rest.
/// </summary>
internal sealed unsafe class JumpCache
{
    public const int Entries = 4096;
    public const int Shift = 12;

    /// <summary>A RIP no code has: non-canonical, and above 4 GiB.</summary>
    private const ulong Empty = 0x8000_0000_0000_0000;

    private readonly NativeBuffer _table = new(Entries * 16);

    public JumpCache() => Clear();

    public nint Base => (nint)_table.Pointer;

    public static int Slot(ulong rip) => (int)((rip >> Shift) ^ rip) & (Entries - 1);

    public void Insert(ulong rip, nint code)
    {
        ulong* e = (ulong*)_table.Pointer + (Slot(rip) * 2);
        e[0] = rip;
        e[1] = (ulong)code;
    }

    public void Clear()
    {
        ulong* e = (ulong*)_table.Pointer;
        for (int i = 0; i < Entries; i++)
        {
            e[i * 2] = Empty;
        }
    }
}
