using Emulator.Backends.Block;
using Emulator.Backends.Block.Qcow2;
using Emulator.Core.Block;

namespace Emulator.Machines.Pc;

/// <summary>The bus a drive is attached to.</summary>
public enum DriveInterface
{
    /// <summary>Its own virtio-blk PCI device (the default).</summary>
    Virtio,
    /// <summary>The PIIX3 IDE controller (ATA disk, or ATAPI for a CD-ROM).</summary>
    Ide,
}

/// <summary>
/// A disk the user attached with <c>--drive file=PATH[,if=virtio|ide][,readonly=on][,format=raw|qcow2]</c>,
/// or a CD-ROM image with <c>--cdrom FILE</c> (read-only, ATAPI on the IDE controller).
/// </summary>
/// <param name="Path">The image file.</param>
/// <param name="ReadOnly">True to refuse guest writes and open the file read-only.</param>
/// <param name="Format">The format the user expects, checked against the file's header; null to take what the header says.</param>
public sealed record DriveConfig(string Path, bool ReadOnly, DiskImageFormat? Format = null)
{
    private const int SectorSize = 512;

    /// <summary>The bus the drive sits on.</summary>
    public DriveInterface Interface { get; init; } = DriveInterface.Virtio;

    /// <summary>True for a CD-ROM (an ATAPI drive with a disc of 2048-byte blocks).</summary>
    public bool IsCdrom { get; init; }

    /// <summary>The option that attached the drive, for messages.</summary>
    public string Option { get; init; } = "--drive";

    /// <summary>
    /// Opens the image for the device: a qcow2 image when the file starts with the qcow2 magic, raw
    /// otherwise. Every problem is a <see cref="MachineConfigException"/> with one line naming the
    /// file; the file is never created, truncated or written here.
    /// </summary>
    public IBlockBackend Open()
    {
        string name = $"{Option} {Path}";
        FileStream stream = OpenFile(name);
        try
        {
            DiskImageFormat actual = DiskImageProbe.Detect(stream);
            if (Format is DiskImageFormat expected && expected != actual)
            {
                throw new MachineConfigException(actual == DiskImageFormat.Qcow2
                    ? $"{name}: format=raw given but the file is a qcow2 image (use format=qcow2 or leave format= out)"
                    : $"{name}: format=qcow2 given but the file is not a qcow2 image (no QFI\\xfb magic)");
            }

            return actual == DiskImageFormat.Qcow2 ? Qcow2Image.Open(stream, ReadOnly) : OpenRaw(name, stream);
        }
        catch (DiskImageException e)
        {
            stream.Dispose();
            throw new MachineConfigException($"{name}: {e.Message}", e);
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new MachineConfigException($"{name}: cannot read: {e.Message}", e);
        }
        catch (MachineConfigException)
        {
            stream.Dispose();
            throw;
        }
    }

    private RawFileBackend OpenRaw(string name, FileStream stream)
    {
        long length = stream.Length;
        if (length == 0 || length % SectorSize != 0)
        {
            throw new MachineConfigException(length == 0
                ? $"{name}: is empty (a raw disk image holds whole 512-byte sectors)"
                : $"{name}: size {length} bytes is not a multiple of {SectorSize} (a raw disk image holds whole sectors)");
        }

        return new RawFileBackend(stream, ReadOnly);
    }

    private FileStream OpenFile(string name)
    {
        if (Directory.Exists(Path))
        {
            throw new MachineConfigException($"{name}: is a directory, not a disk image");
        }

        if (!File.Exists(Path))
        {
            throw new MachineConfigException($"{name}: no such file");
        }

        FileStream stream;
        try
        {
            // bufferSize 0: the device reads and writes with RandomAccess, nothing is held back in emu.
            stream = new FileStream(Path, FileMode.Open, ReadOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read, 0, FileOptions.RandomAccess);
        }
        catch (UnauthorizedAccessException)
        {
            throw new MachineConfigException(ReadOnly || !CanRead()
                ? $"{name}: no read permission"
                : $"{name}: no write permission (add readonly=on to attach it read-only)");
        }
        catch (IOException e)
        {
            throw new MachineConfigException($"{name}: cannot open: {e.Message}", e);
        }

        return stream;
    }

    private bool CanRead()
    {
        try
        {
            File.OpenHandle(Path, FileMode.Open, FileAccess.Read).Dispose();
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}
