namespace Emulator.Jit.IntermediateRepresentation;

/// <summary>
/// A translation unit, entered at its first instruction: a straight run of guest instructions from
/// one decoded block (the whole block, or the prefix that fits the host registers), or a region of
/// several decoded blocks on one page that the first reaches by direct branches (see
/// <see cref="Segments"/> and Translation/Regions). Each segment's last op either transfers control
/// or is followed by a continuation at its <see cref="IrSegment.FallThrough"/>.
/// </summary>
internal sealed class IrBlock
{
    public required ulong StartRip { get; init; }

    public required int Bitness { get; init; }

    /// <summary>The ops; sized for the block's instructions up front (growing it cost more allocation than the rest of the IR).</summary>
    public List<IrOp> Ops { get; init; } = [];

    /// <summary>
    /// The decoded blocks whose ops <see cref="Ops"/> holds, in order; the first is the entry block.
    /// A direct branch to another segment's first instruction stays in host code.
    /// </summary>
    public List<IrSegment> Segments { get; } = [];

    /// <summary>The decoded blocks of segments after the first: their ops are referred to by pointer, so they are kept alive with the code.</summary>
    public List<Decoding.Block> Members { get; } = [];

    /// <summary>The segment that starts at <paramref name="rip"/>, or -1.</summary>
    public int SegmentAt(ulong rip)
    {
        for (int i = 0; i < Segments.Count; i++)
        {
            if (Segments[i].Rip == rip)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Guest registers kept in host registers through the block, in allocation order.</summary>
    public List<int> CachedRegisters { get; } = [];

    /// <summary>Guest registers written somewhere in the block (stored back at its exits).</summary>
    public ushort WrittenRegisters { get; set; }

    /// <summary>Segment registers (bit per <see cref="Core.Cpu.Seg"/>) whose flatness the block assumes (outside 64-bit mode).</summary>
    public int FlatSegments { get; set; }
}

/// <summary>One decoded block's ops in an <see cref="IrBlock"/>: its first guest instruction, its ops' range, and where it continues when its last op does not transfer control.</summary>
internal readonly record struct IrSegment(ulong Rip, int FirstOp, int Count, ulong FallThrough);
