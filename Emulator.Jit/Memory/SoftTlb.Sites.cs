namespace Emulator.Jit.Memory;

/// <summary>
/// Read entries kept per load site of translated code, beside the TLB proper: each site remembers
/// the page it read last, so a load that stays on its page (the stack, a structure's fields, a
/// buffer read in order) is checked against a fixed address instead of a slot computed from its
/// address. A site's check is `(address XOR tag) below limit`: the limit is 4096 minus the access
/// size plus one for an entry, so an access that runs past the page's end misses like one on
/// another page, and 0 for an empty entry, which nothing matches. Sites are numbered per class of
/// access size (1, 2, 4, 8 bytes, and up to 64 for page groups' windows and vectors, checked as 64),
/// so every site sharing an entry has the limit its fill wrote.
/// <para>
/// An entry is only ever a copy of a read entry the TLB held when translated code filled it (on
/// the miss path, after the TLB's own probe hit). So it stays valid until the TLB drops entries:
/// a full flush empties every site, and a CR3 load or INVLPG keeps only the sites whose page and
/// addend the TLB itself still holds after the drop (Intel SDM Vol. 3A 4.10.4: what the TLB keeps
/// is still a valid translation, and so is its copy).
/// </para>
/// </summary>
internal sealed unsafe partial class SoftTlb
{
    /// <summary>Classes of access size with sites of their own: 1, 2, 4 and 8 bytes, and up to 64 (a page group's window, a vector).</summary>
    public const int SiteClasses = 5;

    /// <summary>Entries per access size; translated sites take them in turn.</summary>
    public const int SitesPerClass = 256;

    /// <summary>Bytes per entry: tag, limit, addend (and padding to 32).</summary>
    public const int SiteBytes = 32;

    public const int SiteTag = 0;
    public const int SiteLimit = 8;
    public const int SiteAddend = 16;

    /// <summary>The size class of an access of <paramref name="size"/> bytes, or -1 when it has no sites.</summary>
    public static int SiteClass(int size) => size switch
    {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        > 0 and <= 64 => 4,
        _ => -1,
    };

    /// <summary>
    /// The size a class's entries are filled for: an access of up to that many bytes may use them
    /// (one shorter than its class's size only misses sooner near the page's end).
    /// </summary>
    public static int SiteClassSize(int sizeClass) => sizeClass < 4 ? 1 << sizeClass : 64;

    /// <summary>Offset from the tables' base of entry <paramref name="index"/> of <paramref name="sizeClass"/>.</summary>
    public static int SiteEntryOffset(int sizeClass, int index) =>
        SiteOffset + (((sizeClass * SitesPerClass) + (index & (SitesPerClass - 1))) * SiteBytes);

    /// <summary>The limit an entry of <paramref name="sizeClass"/> holds once filled.</summary>
    public static int SiteLimitFor(int sizeClass) => 0x1000 - SiteClassSize(sizeClass) + 1;

    private bool _sites;

    /// <summary>
    /// Whether translated code fills sites from this TLB (its translator's setting): when not, the
    /// flushes skip them. Turning it on or off empties them, so none outlives a time it was not kept.
    /// </summary>
    public bool Sites
    {
        get => _sites;
        set
        {
            EmptySites();
            _sites = value;
        }
    }

    private byte* SiteEntry(int i) => _tables.Pointer + SiteOffset + (i * SiteBytes);

    // A full flush: every site goes with the TLB's entries (nothing to do while sites are not kept).
    private void ClearSites()
    {
        if (_sites)
        {
            EmptySites();
        }
    }

    private void EmptySites()
    {
        for (int i = 0; i < SiteClasses * SitesPerClass; i++)
        {
            *(ulong*)(SiteEntry(i) + SiteLimit) = 0;
        }
    }

    // After a partial drop: a site stays only while its page and addend are still in either way of
    // the TLB's read entries.
    private void KeepSitesStillMapped()
    {
        if (!_sites)
        {
            return;
        }

        for (int i = 0; i < SiteClasses * SitesPerClass; i++)
        {
            byte* e = SiteEntry(i);
            if (*(ulong*)(e + SiteLimit) == 0)
            {
                continue;
            }

            ulong tag = *(ulong*)(e + SiteTag);
            nint addend = *(nint*)(e + SiteAddend);
            int slot = Slot(tag);
            if (!(ReadTag[slot] == tag && ReadAddend[slot] == addend) && !(VictimReadTag[slot] == tag && VictimReadAddend[slot] == addend))
            {
                *(ulong*)(e + SiteLimit) = 0;
            }
        }
    }
}
