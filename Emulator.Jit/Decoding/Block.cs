using Iced.Intel;

namespace Emulator.Jit.Decoding;

/// <summary>
/// A run of decoded guest instructions ending at a control transfer or a page boundary, cached by
/// the physical address of its first byte. Each instruction carries its handler (see <see cref="DecodedOp"/>).
/// </summary>
internal sealed unsafe class Block
{
    public Block(ulong physical, ulong rip, ulong csBase, int bitness, List<Instruction> instructions, ulong firstPage, ulong lastPage)
    {
        Physical = physical;
        Rip = rip;
        CsBase = csBase;
        Bitness = bitness;
        FirstPage = firstPage;
        LastPage = lastPage;
        Ops = new DecodedOp[instructions.Count];
        for (int i = 0; i < Ops.Length; i++)
        {
            Ops[i] = DecodedOp.Create(instructions[i], bitness);
        }
    }

    public ulong Physical { get; }

    public ulong Rip { get; }

    public ulong CsBase { get; }

    public int Bitness { get; }

    public DecodedOp[] Ops { get; }

    /// <summary>Physical page numbers the block's bytes span (equal unless an instruction crosses a page).</summary>
    public ulong FirstPage { get; }

    public ulong LastPage { get; }

    /// <summary>
    /// Set (under the cache lock) when the block leaves the <see cref="BlockCache"/> because its
    /// bytes were overwritten or a newer block replaced it; a vCPU's recent-block table checks it.
    /// </summary>
    public volatile bool Dropped;

    /// <summary>True when this block was decoded for the same code segment, offset and mode.</summary>
    public bool Matches(ulong rip, ulong csBase, int bitness) => Rip == rip && CsBase == csBase && Bitness == bitness;
}
