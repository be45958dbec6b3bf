namespace Emulator.Jit.IntermediateRepresentation;

/// <summary>
/// A translation unit: a straight run of guest instructions from one decoded block (the whole block,
/// or the prefix that fits the host registers), entered at its first instruction. The last op
/// either transfers control or is followed by a continuation at <see cref="FallThrough"/>.
/// </summary>
internal sealed class IrBlock
{
    public required ulong StartRip { get; init; }

    public required int Bitness { get; init; }

    /// <summary>The ops; sized for the block's instructions up front (growing it cost more allocation than the rest of the IR).</summary>
    public List<IrOp> Ops { get; init; } = [];

    /// <summary>Where execution continues when the last op does not transfer control (a cut block).</summary>
    public ulong FallThrough { get; set; }

    /// <summary>Guest registers kept in host registers through the block, in allocation order.</summary>
    public List<int> CachedRegisters { get; } = [];

    /// <summary>Guest registers written somewhere in the block (stored back at its exits).</summary>
    public ushort WrittenRegisters { get; set; }

    /// <summary>Segment registers (bit per <see cref="Core.Cpu.Seg"/>) whose flatness the block assumes (outside 64-bit mode).</summary>
    public int FlatSegments { get; set; }
}
