namespace Emulator.Machines.Loaders;

/// <summary>
/// An option ROM handed to firmware through fw_cfg as <c>genroms/NAME</c> (QEMU's <c>-option-rom</c>):
/// SeaBIOS copies each such file into the option-ROM area below 1 MiB, checks its header and
/// checksum and calls its init entry. Files that firmware would skip or could not place are refused
/// here, with one line naming the file, before the guest starts.
/// </summary>
/// <param name="Name">The fw_cfg file name, <c>genroms/</c> and the file's name.</param>
/// <param name="Image">The ROM's bytes.</param>
public sealed record OptionRomImage(string Name, byte[] Image)
{
    /// <summary>The fw_cfg directory SeaBIOS scans for ROMs that belong to no PCI device.</summary>
    public const string Directory = "genroms/";

    /// <summary>Option ROMs are sized in 512-byte blocks (the length byte at offset 2).</summary>
    public const int BlockSize = 512;

    /// <summary>
    /// The option-ROM area, C0000h-EFFFFh: SeaBIOS places ROMs from C0000h (the VGA BIOS first),
    /// each on a 2 KiB boundary, below its own code at F0000h.
    /// </summary>
    public const int AreaSize = 0x30000, Alignment = 2048;

    /// <summary>The longest file name: fw_cfg names hold 55 characters, <see cref="Directory"/> included.</summary>
    public const int MaxFileName = 55 - 8;

    /// <summary>Reads and checks every <c>--option-rom</c>; <paramref name="vgaBiosBytes"/> of the area are the VGA BIOS's.</summary>
    public static IReadOnlyList<OptionRomImage> LoadAll(IEnumerable<string> paths, int vgaBiosBytes)
    {
        var roms = new List<OptionRomImage>();
        int used = Align(vgaBiosBytes);
        foreach (string path in paths)
        {
            OptionRomImage rom = Load(path);
            if (roms.Any(r => r.Name == rom.Name))
            {
                throw Refuse(path, $"another --option-rom is also named {Path.GetFileName(path)} (fw_cfg file {rom.Name}); rename one");
            }

            used += Align(rom.Image.Length);
            if (used > AreaSize)
            {
                throw Refuse(path, $"{rom.Image.Length} bytes do not fit in the option-ROM area C0000h-EFFFFh ({AreaSize >> 10} KiB, {used - Align(rom.Image.Length)} bytes already taken by the VGA BIOS and the ROMs before it)");
            }

            roms.Add(rom);
        }

        return roms;
    }

    /// <summary>Reads one ROM file and checks what firmware checks.</summary>
    public static OptionRomImage Load(string path)
    {
        string name = Path.GetFileName(path);
        byte[] image;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw Refuse(path, "no such file");
            }

            if (info.Length > AreaSize)
            {
                throw Refuse(path, $"{info.Length} bytes is larger than the option-ROM area C0000h-EFFFFh ({AreaSize >> 10} KiB)");
            }

            image = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw Refuse(path, e.Message);
        }
        catch (UnauthorizedAccessException)
        {
            throw Refuse(path, "permission denied");
        }

        if (name.Length is 0 or > MaxFileName || !System.Text.Ascii.IsValid(name))
        {
            throw Refuse(path, $"the file name must be 1-{MaxFileName} ASCII characters (it becomes the fw_cfg file {Directory}NAME)");
        }

        Validate(image, path);
        return new OptionRomImage(Directory + name, image);
    }

    /// <summary>The header rules: whole 512-byte blocks, 55h AAh, a length byte the file covers, bytes summing to 0.</summary>
    public static void Validate(byte[] image, string path)
    {
        if (image.Length == 0 || image.Length % BlockSize != 0)
        {
            throw Refuse(path, $"size {image.Length} is not a non-zero multiple of {BlockSize} bytes (option ROMs are whole 512-byte blocks)");
        }

        if (image[0] != 0x55 || image[1] != 0xaa)
        {
            throw Refuse(path, $"no option ROM signature (55 AA at offset 0; found {image[0]:X2} {image[1]:X2})");
        }

        int declared = image[2] * BlockSize;
        if (declared == 0 || declared > image.Length)
        {
            throw Refuse(path, $"the header's length byte says {image[2]} blocks ({declared} bytes), but the file holds {image.Length} bytes");
        }

        byte sum = 0;
        foreach (byte b in image.AsSpan(0, declared))
        {
            sum += b;
        }

        if (sum != 0)
        {
            throw Refuse(path, $"the first {declared} bytes sum to {sum:X2}h, not 0 mod 256 (firmware skips a ROM with a bad checksum)");
        }
    }

    private static int Align(int bytes) => (bytes + Alignment - 1) / Alignment * Alignment;

    private static MachineConfigException Refuse(string path, string why) => new($"--option-rom {path}: {why}");
}
