namespace Emulator.Machines.Loaders;

/// <summary>
/// A firmware (BIOS) image as a PC maps it: at the top of the 32-bit address space so that the
/// reset vector FFFFFFF0 lands in its last 16 bytes, with its last 128 KiB also visible at
/// E0000-FFFFF below 1 MiB, where real-mode code reaches it after the first far jump.
/// </summary>
public static class FirmwareImage
{
    /// <summary>The largest image accepted (a 16 MiB flash chip).</summary>
    public const int MaxSize = 16 << 20;

    /// <summary>The legacy window below 1 MiB.</summary>
    public const int LegacyWindow = 128 << 10;

    /// <summary>Reads and checks a firmware file; errors name the file and the problem.</summary>
    public static byte[] Load(string path)
    {
        byte[] image;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new MachineConfigException($"--bios {path}: no such file");
            }

            if (info.Length > MaxSize)
            {
                throw new MachineConfigException($"--bios {path}: {info.Length} bytes is larger than the {MaxSize >> 20} MiB a PC firmware window holds");
            }

            image = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new MachineConfigException($"--bios {path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MachineConfigException($"--bios {path}: permission denied", e);
        }

        Validate(image, path);
        return image;
    }

    /// <summary>Checks size rules: non-empty, a multiple of 4 KiB (whole pages of flash).</summary>
    public static void Validate(byte[] image, string name)
    {
        if (image.Length == 0)
        {
            throw new MachineConfigException($"--bios {name}: the file is empty");
        }

        if (image.Length % 4096 != 0)
        {
            throw new MachineConfigException($"--bios {name}: size {image.Length} is not a multiple of 4096 bytes (a firmware image fills whole flash pages; pad it)");
        }
    }
}
