namespace Emulator.Core.Memory;

/// <summary>An address on the guest's physical bus (after segmentation and paging).</summary>
/// <param name="Value">The 64-bit physical address.</param>
public readonly record struct GuestPhysicalAddress(ulong Value)
{
    /// <summary>Returns the address <paramref name="offset"/> bytes further.</summary>
    public GuestPhysicalAddress Add(ulong offset) => new(Value + offset);

    /// <inheritdoc/>
    public override string ToString() => $"0x{Value:x}";
}
