using System.Buffers.Binary;
using Emulator.Core.Cpu;

namespace Emulator.Control.Gdb;

/// <summary>
/// One register of a target description: its name, width and type as gdb sees them, and how it maps
/// to <see cref="CpuState"/>. The order of a description's registers is gdb's register numbering and
/// the layout of the <c>g</c> packet.
/// </summary>
/// <param name="Name">gdb's name (rax, eip, st0, xmm3, fs_base, cr3, ...).</param>
/// <param name="Bits">Width in bits.</param>
/// <param name="Type">The tdesc type (int64, code_ptr, i387_ext, vec128, ...).</param>
/// <param name="Feature">The target description feature that holds it.</param>
/// <param name="Get">Writes the register's little-endian bytes from the state.</param>
/// <param name="Set">Stores new little-endian bytes into the state.</param>
internal sealed record GdbRegister(string Name, int Bits, string Type, string Feature, Action<CpuState, Span<byte>> Get, Action<CpuState, ReadOnlySpan<byte>> Set)
{
    /// <summary>Width in bytes.</summary>
    public int Bytes => Bits / 8;

    /// <summary>A general-purpose register (or its low half).</summary>
    public static GdbRegister Gpr(string name, Gpr index, int bits, string type = "int64") => new(
        name, bits, bits == 64 ? type : "int32", GdbFeatures.Core,
        (s, b) => Write(b, s.Gpr[(int)index]),
        (s, b) => s.Gpr[(int)index] = Merge(s.Gpr[(int)index], b));

    /// <summary>A 64-bit (or 32-bit) view of a field of the state.</summary>
    public static GdbRegister Field(string name, int bits, string type, string feature, Func<CpuState, ulong> get, Action<CpuState, ulong> set) => new(
        name, bits, type, feature,
        (s, b) => Write(b, get(s)),
        (s, b) => set(s, Merge(get(s), b)));

    /// <summary>A segment register: gdb shows the selector; a write changes only the selector.</summary>
    public static GdbRegister Segment(string name, Seg index) => new(
        name, 32, "int32", GdbFeatures.Core,
        (s, b) => Write(b, s.Segments[(int)index].Selector),
        (s, b) => s.Segments[(int)index].Selector = BinaryPrimitives.ReadUInt16LittleEndian(b));

    /// <summary>Bytes of the FXSAVE image (x87 and SSE registers).</summary>
    public static GdbRegister Fx(string name, int bits, string type, string feature, int offset) => new(
        name, bits, type, feature,
        (s, b) => s.FxState.AsSpan(offset, bits / 8).CopyTo(b),
        (s, b) => b.CopyTo(s.FxState.AsSpan(offset, bits / 8)));

    // The low bytes of value, as many as the register has.
    private static void Write(Span<byte> into, ulong value)
    {
        Span<byte> all = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(all, value);
        all[..Math.Min(8, into.Length)].CopyTo(into);
    }

    // A narrower write keeps the upper bits (writing eax leaves the top of rax alone).
    private static ulong Merge(ulong old, ReadOnlySpan<byte> bytes)
    {
        Span<byte> all = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(all, old);
        bytes[..Math.Min(8, bytes.Length)].CopyTo(all);
        return BinaryPrimitives.ReadUInt64LittleEndian(all);
    }
}

/// <summary>The feature names of the target descriptions (gdb's own for the i386 ones it knows).</summary>
internal static class GdbFeatures
{
    public const string Core = "org.gnu.gdb.i386.core";
    public const string Sse = "org.gnu.gdb.i386.sse";
    public const string Segments = "org.gnu.gdb.i386.segments";
    public const string System = "org.emu.x86.system";
}
