using Emulator.Core.Devices;

namespace Emulator.Devices.Pci;

/// <summary>Whether a base address register decodes memory or I/O space (PCI Local Bus 3.0 §6.2.5.1).</summary>
public enum PciBarKind
{
    /// <summary>A 32-bit, non-prefetchable memory BAR (bits 2:1 = 00, bit 3 = 0).</summary>
    Memory32,
    /// <summary>An I/O BAR (bit 0 = 1).</summary>
    Io,
}

/// <summary>One implemented base address register of a <see cref="PciFunction"/> and the handler of its range.</summary>
/// <param name="Index">BAR number 0-5 (config offset 0x10 + 4 * Index).</param>
/// <param name="Kind">Memory or I/O.</param>
/// <param name="Size">Bytes decoded: a power of two, at least 16 for memory and 4 for I/O (PCI 3.0 §6.2.5.1).</param>
/// <param name="Device">Receives accesses at offsets from the BAR's base.</param>
public sealed record PciBar(int Index, PciBarKind Kind, uint Size, IBusDevice Device);
