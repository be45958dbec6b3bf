using Emulator.Jit.Decoding;

namespace Emulator.Jit.Translation;

/// <summary>One decoded block translated to host code in a vCPU's <see cref="TranslationCache"/>.</summary>
internal sealed unsafe class Translation
{
    public Translation(Block block, TranslationCache owner)
    {
        Block = block;
        Owner = owner;
    }

    public Block Block { get; }

    public TranslationCache Owner { get; }

    /// <summary>Host address to enter at (from the dispatcher, a chained branch or the jump cache).</summary>
    public nint Entry { get; set; }

    /// <summary>A byte in front of the code that the entry checks: set when the block is dropped.</summary>
    public byte* Invalid { get; set; }

    /// <summary>Direct branches that may be patched to jump straight into their target's translation.</summary>
    public ChainSlot[] Slots { get; set; } = [];

    /// <summary>Segment registers the block assumes flat (outside 64-bit mode).</summary>
    public int FlatSegments { get; set; }

    public int GuestInstructions { get; set; }

    /// <summary>The other decoded blocks of a region (IrBlock.Members): translated code refers to their ops, which must live as long as it does.</summary>
    public List<Block>? Members { get; set; }

    /// <summary>True once the code cache that holds the code was reset: nothing may touch the code again.</summary>
    public bool Dead { get; set; }

    /// <summary>
    /// Patched chains that jump straight here, (translation, slot); only the owner vCPU's thread
    /// touches the list (it patches and unlinks them in its dispatcher).
    /// </summary>
    public List<(Translation From, int Slot)> Incoming { get; } = [];

    /// <summary>
    /// Marks the code as dropped (any thread): its entry will leave to the dispatcher from now on, and
    /// the owner unlinks the chains into it before it next runs translated code, so that they find
    /// the block's new translation instead of leaving through this one on every pass.
    /// </summary>
    public void Invalidate()
    {
        if (!Dead)
        {
            *Invalid = 1;
            Owner.Unlink(this);
        }
    }
}

/// <summary>
/// A direct branch out of a translation: its patchable JMP rel32, the guest RIP it goes to, and for
/// a branch to the same page the JMP rel32 that ends its unpatched path (to the chain-exit stub;
/// redirected to the jump-cache stub when the chain can never be patched).
/// </summary>
internal struct ChainSlot
{
    public nint Jump;
    public nint Tail;
    public ulong Target;
    public bool Patched;
    public bool Redirected;
}
