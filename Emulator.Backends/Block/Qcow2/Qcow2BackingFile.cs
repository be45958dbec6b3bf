using Emulator.Core.Block;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// Opens the backing file a qcow2 header names (qcow2.txt, "Header": backing_file_offset; the
/// "Backing file format name" extension), read-only: a relative name is relative to the directory of
/// the image that names it, as QEMU resolves it. The format comes from the extension (raw or qcow2)
/// or, when it is absent, from the file's magic.
/// </summary>
internal static class Qcow2BackingFile
{
    // A chain deeper than this is almost certainly a loop (a.qcow2 -> b.qcow2 -> a.qcow2).
    private const int MaxDepth = 16;

    /// <summary>The backing image of <paramref name="header"/>, or null when it has none. Refusals are <see cref="DiskImageException"/>s naming the backing file.</summary>
    public static IBlockBackend? Open(Qcow2Header header, string imagePath, int depth)
    {
        if (header.BackingFile is not string name)
        {
            return null;
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(imagePath)) ?? ".";
        string path = Path.IsPathRooted(name) ? name : Path.Combine(directory, name);
        string prefix = $"backing file {path}";
        if (depth >= MaxDepth)
        {
            throw new DiskImageException($"{prefix}: the backing chain is deeper than {MaxDepth} files (a loop?)");
        }

        if (header.BackingFormat is not (null or "raw" or "qcow2"))
        {
            throw new DiskImageException($"{prefix}: backing format '{header.BackingFormat}' is not supported (raw and qcow2 are)");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiskImageException(e is FileNotFoundException or DirectoryNotFoundException
                ? $"{prefix}: no such file"
                : $"{prefix}: cannot open: {e.Message}", e);
        }

        try
        {
            Span<byte> magic = stackalloc byte[4];
            bool qcow2 = RandomAccess.Read(stream.SafeFileHandle, magic, 0) == 4 && Qcow2Header.HasMagic(magic);
            if (header.BackingFormat == "qcow2" && !qcow2)
            {
                throw new DiskImageException($"{prefix}: the header says qcow2 but the file has no qcow2 magic");
            }

            // An explicit "raw" is read as raw whatever its first bytes say, as QEMU does.
            return header.BackingFormat != "raw" && qcow2
                ? Qcow2Image.Open(new HostImageFile(stream), readOnly: true, depth + 1)
                : new RawFileBackend(stream, readOnly: true);
        }
        catch (DiskImageException e)
        {
            stream.Dispose();
            throw new DiskImageException($"{prefix}: {e.Message}", e);
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new DiskImageException($"{prefix}: cannot read: {e.Message}", e);
        }
    }
}
