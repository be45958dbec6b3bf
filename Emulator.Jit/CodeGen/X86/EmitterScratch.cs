using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The buffers one translator thread reuses from block to block: the Iced assembler's instruction
/// list, the linear encoder's output, label and fixup tables, and the emitter itself with its
/// out-of-line records. Made per block they were most of
/// what translation allocated (about 0.8 GB on a Linux boot to /init, and the garbage collections
/// that came with it); reused, each grows to the largest block once. Owned by one thread at a time
/// (the translation cache's compile lock).
/// </summary>
internal sealed class EmitterScratch
{
    public Assembler Assembler { get; } = new(64);

    public LinearEncoder Encoder { get; } = new();


    public List<(Label Label, Label? Tail, ulong Target)> Slots { get; } = [];

    public PageGroups Groups { get; } = new();

    public IndexWindows Windows { get; } = new();

    /// <summary>Loads check their own site's entry first (Memory/SoftTlb.Sites; set by the translation cache).</summary>
    public bool LoadSites { get; set; }

    /// <summary>The next load-site entry of each access size (Memory/SoftTlb.Sites), taken in turn across blocks.</summary>
    public int[] SiteNext { get; } = new int[Memory.SoftTlb.SiteClasses];

    public X86Emitter Emitter { get; }

    public EmitterScratch() => Emitter = new X86Emitter(this);

    /// <summary>Empties every buffer for the next block (capacities stay).</summary>
    public void Reset()
    {
        Assembler.Reset();
        Slots.Clear();
    }
}
