using System.Security.Cryptography;

namespace Emulator.Machines.Snapshots;

/// <summary>
/// What a snapshot remembers of a disk image so that it is never restored over a different disk:
/// the file's size, its last write time and a SHA-256 of its first 64 KiB (for qcow2 the header,
/// the L1 and refcount tables' pointers and the snapshot table's place). A guest that wrote to the
/// disk after the snapshot changed its write time; a file copied or replaced at the same size
/// differs in time or head. The RAM in the snapshot holds the guest's caches of that disk, so
/// restoring over anything else would corrupt it.
/// </summary>
/// <param name="Path">The image file as the machine opened it.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="ModifiedTicks">Its last write time, UTC ticks (100 ns).</param>
/// <param name="HeadSha256">SHA-256 of its first 64 KiB (or all of it, if smaller), lower-case hex.</param>
public sealed record DiskIdentity(string Path, long Size, long ModifiedTicks, string HeadSha256)
{
    private const int HeadBytes = 64 * 1024;

    /// <summary>The identity of <paramref name="path"/> now; throws <see cref="IOException"/> when it cannot be read.</summary>
    public static DiskIdentity Of(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        byte[] head = new byte[(int)Math.Min(HeadBytes, info.Length)];
        stream.ReadExactly(head);
        return new DiskIdentity(path, info.Length, info.LastWriteTimeUtc.Ticks, Convert.ToHexStringLower(SHA256.HashData(head)));
    }

    /// <summary>Why <paramref name="now"/> is not the disk this identity describes, or null when it is.</summary>
    public string? Difference(DiskIdentity now)
    {
        if (now.Size != Size)
        {
            return $"its size changed from {Size} to {now.Size} bytes since the snapshot";
        }

        if (now.HeadSha256 != HeadSha256)
        {
            return "its first 64 KiB differ from the disk the snapshot was taken with";
        }

        if (now.ModifiedTicks != ModifiedTicks)
        {
            return $"it was written after the snapshot (last write {new DateTime(now.ModifiedTicks, DateTimeKind.Utc):O}, the snapshot's {new DateTime(ModifiedTicks, DateTimeKind.Utc):O})";
        }

        return null;
    }
}
