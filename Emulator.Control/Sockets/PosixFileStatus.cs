using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Emulator.Control.Sockets;

/// <summary>
/// The type, permission bits and owner of a path, without following a final symbolic link
/// (statx(2) with AT_SYMLINK_NOFOLLOW). .NET reports neither the owner nor a socket's file type.
/// </summary>
internal readonly partial record struct PosixFileStatus(uint Mode, uint Uid)
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const int StatxSize = 256;
    private const uint TypeMask = 0xF000; // S_IFMT (inode(7))

    /// <summary>A socket (S_IFSOCK).</summary>
    public bool IsSocket => (Mode & TypeMask) == 0xC000;

    /// <summary>A directory (S_IFDIR).</summary>
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;

    /// <summary>The permission bits (rwx for owner, group, others).</summary>
    public uint Permissions => Mode & 0x1FF;

    /// <summary>The status of <paramref name="path"/>, or null when it does not exist (or cannot be examined).</summary>
    public static PosixFileStatus? Of(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxMode | StatxUid, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return null;
        }

        // struct statx (linux/stat.h): stx_uid at offset 20, stx_mode (16 bits) at offset 28.
        return new PosixFileStatus(BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]), BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]));
    }

    /// <summary>The real user id of this process (getuid(2), which cannot fail).</summary>
    public static uint CurrentUid() => GetUid();

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();
}
