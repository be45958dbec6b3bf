using Emulator.Jit.State;

namespace Emulator.Jit.Translation;

/// <summary>
/// A vCPU's direct-mapped table from guest RIP to translated code, in native memory so translated
/// code looks indirect branches (RET, JMP/CALL through a register) and cross-page direct branches
/// up without leaving. An entry is only valid for the mode and mappings it was made under: each
/// table belongs to one <see cref="ModeKey"/> and is cleared when it is selected for another, and
/// both of a vCPU's tables (TranslationCache keeps one for CPL 3 and one for the other levels) are
/// cleared whenever mappings may change (TLB flushes, INVLPG, A20, state loads) and when the code
/// cache is reset; a dropped block's own entry check catches the rest.
/// </summary>
internal sealed unsafe class JumpCache
{
    /// <summary>What an entry's validity depends on besides the mappings: privilege level, operand size, CS and the control registers.</summary>
    public readonly record struct ModeKey(int Cpl, int Bitness, ulong CsBase, uint CsLimit, uint CsAttributes, ulong Cr0, ulong Cr4, ulong Efer);

    /// <summary>The mode this table's entries were made in (null: none yet).</summary>
    public ModeKey? Mode { get; set; }

    public const int Entries = 4096;
    public const int Shift = 12;

    /// <summary>A RIP no code has: non-canonical, and above 4 GiB.</summary>
    private const ulong Empty = 0x8000_0000_0000_0000;

    private readonly NativeBuffer _table = new(Entries * 16);

    public JumpCache() => Clear();

    public nint Base => (nint)_table.Pointer;

    public static int Slot(ulong rip) => (int)((rip >> Shift) ^ rip) & (Entries - 1);

    /// <summary>True when an entry was made for code on a page that is not global (a CR3 load may remap it).</summary>
    public bool HasNonGlobal { get; private set; }

    /// <summary>Maps <paramref name="rip"/> to <paramref name="code"/>; <paramref name="global"/>: the code's pages are global (Intel SDM Vol. 3A 4.10.2.4).</summary>
    public void Insert(ulong rip, nint code, bool global)
    {
        HasNonGlobal |= !global;
        ulong* e = (ulong*)_table.Pointer + (Slot(rip) * 2);
        e[0] = rip;
        e[1] = (ulong)code;
    }

    public void Clear()
    {
        HasNonGlobal = false;
        ulong* e = (ulong*)_table.Pointer;
        for (int i = 0; i < Entries; i++)
        {
            e[i * 2] = Empty;
        }
    }
}
