namespace Emulator.Core.Snapshots;

/// <summary>One section of a snapshot file, as the reader found it (checked).</summary>
/// <param name="Name">Its name, e.g. "machine", "ram", "cpu/0", "device/pit8254".</param>
/// <param name="Version">The version of its payload's format.</param>
/// <param name="Encoding">How the payload is stored.</param>
/// <param name="DecodedLength">Length of the payload once decoded.</param>
/// <param name="Offset">Where the stored payload starts in the file.</param>
/// <param name="StoredLength">Length of the stored payload.</param>
public sealed record SnapshotSection(string Name, int Version, SectionEncoding Encoding, ulong DecodedLength, long Offset, long StoredLength);
