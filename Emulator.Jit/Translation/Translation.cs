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

    /// <summary>True once the code cache that holds the code was reset: nothing may touch the code again.</summary>
    public bool Dead { get; set; }

    /// <summary>Marks the code as dropped; its entry will leave to the dispatcher from now on.</summary>
    public void Invalidate()
    {
        if (!Dead)
        {
            *Invalid = 1;
        }
    }
}

/// <summary>A direct branch out of a translation: its patchable JMP rel32 and the guest RIP it goes to.</summary>
internal struct ChainSlot
{
    public nint Jump;
    public ulong Target;
    public bool Patched;
}
