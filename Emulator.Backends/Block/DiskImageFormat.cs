using Emulator.Backends.Block.Qcow2;

namespace Emulator.Backends.Block;

/// <summary>The disk image formats emu reads and writes.</summary>
public enum DiskImageFormat
{
    /// <summary>Byte N of the disk is byte N of the file.</summary>
    Raw,

    /// <summary>QEMU's copy-on-write format (docs/interop/qcow2.txt).</summary>
    Qcow2,
}

/// <summary>Tells disk image formats apart by their first bytes.</summary>
public static class DiskImageProbe
{
    /// <summary>
    /// The format of the file in <paramref name="stream"/>: qcow2 when it starts with the qcow2 magic,
    /// raw otherwise. Reads four bytes, writes nothing.
    /// </summary>
    public static DiskImageFormat Detect(FileStream stream)
    {
        Span<byte> magic = stackalloc byte[4];
        return RandomAccess.Read(stream.SafeFileHandle, magic, 0) == 4 && Qcow2Header.HasMagic(magic)
            ? DiskImageFormat.Qcow2
            : DiskImageFormat.Raw;
    }

    /// <summary>The name used in <c>format=</c> options and messages.</summary>
    public static string OptionName(this DiskImageFormat format) => format == DiskImageFormat.Qcow2 ? "qcow2" : "raw";
}
