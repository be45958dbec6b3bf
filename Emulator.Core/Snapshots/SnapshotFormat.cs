namespace Emulator.Core.Snapshots;

/// <summary>How a section's payload is stored.</summary>
public enum SectionEncoding : ushort
{
    /// <summary>The bytes as they are.</summary>
    Stored = 0,
    /// <summary>One LZ4 block (the LZ4 block format, without a frame; the decoded length is in the section header).</summary>
    Lz4 = 1,
    /// <summary>Guest RAM: all-zero pages left out, the rest in LZ4 blocks (<see cref="RamImage"/>).</summary>
    RamPages = 2,
}

/// <summary>
/// The layout of an emu snapshot file. Every integer is little-endian; every checksum is XXH3-64.
/// <code>
/// file header (32 bytes)
///    0  magic "EMUSNAP" 0x1A
///    8  u32 format version (<see cref="FormatVersion"/>)
///   12  u32 flags (0)
///   16  u64 reserved (0)
///   24  u64 checksum of bytes 0-23
/// sections, one after the other, each
///    0  "SECT"
///    4  u32 the payload's own version (a device's state version, the CPU record's version, ...)
///    8  u16 encoding (<see cref="SectionEncoding"/>)
///   10  u16 name length N (1-255, ASCII)
///   12  u32 reserved (0)
///   16  u64 decoded length
///   24  u64 stored length S
///   32  u64 checksum of the S stored bytes
///   40  u64 checksum of bytes 0-39 and the name
///   48  name (N bytes), then the S stored bytes
/// a last section named "end" with no payload
/// </code>
/// A file that ends before the "end" section is cut short; anything after it, a wrong magic or a
/// checksum that does not match makes the file corrupted. Readers check the whole file before any
/// section is used, so a bad file is refused before anything is restored.
/// </summary>
public static class SnapshotFormat
{
    /// <summary>The version of this layout; readers refuse others.</summary>
    public const uint FormatVersion = 1;

    /// <summary>Size of the file header.</summary>
    public const int FileHeaderSize = 32;

    /// <summary>Size of a section header before its name.</summary>
    public const int SectionHeaderSize = 48;

    /// <summary>The name of the section that ends the file.</summary>
    public const string EndSection = "end";

    /// <summary>The first eight bytes of every snapshot.</summary>
    public static ReadOnlySpan<byte> Magic => "EMUSNAP\x1a"u8;

    /// <summary>The first four bytes of every section header.</summary>
    public static ReadOnlySpan<byte> SectionMagic => "SECT"u8;
}
