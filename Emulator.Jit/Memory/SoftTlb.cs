namespace Emulator.Jit.Memory;

/// <summary>
/// Per-vCPU software TLB: a direct-mapped table from linear page to the host address of the page's
/// first byte, with separate read and write entries. A hit is an index, a compare and an add.
/// Write entries are never made for ROM, MMIO or pages holding decoded code, so those writes take
/// the slow path, where ROM drops them and code pages are invalidated.
/// </summary>
internal sealed class SoftTlb
{
    public const int Entries = 256;
    public const int PageShift = 12;
    public const ulong PageMask = 0xfff;

    // Tags hold linear page number + 1, so the zeroed table matches nothing.
    public readonly ulong[] ReadTag = new ulong[Entries];
    public readonly nint[] ReadHost = new nint[Entries];
    public readonly ulong[] WriteTag = new ulong[Entries];
    public readonly nint[] WriteHost = new nint[Entries];

    public static int Slot(ulong linear) => (int)(linear >> PageShift) & (Entries - 1);

    public static ulong Tag(ulong linear) => (linear >> PageShift) + 1;

    public void Flush()
    {
        Array.Clear(ReadTag);
        Array.Clear(WriteTag);
    }

    public void FlushWrites() => Array.Clear(WriteTag);
}
