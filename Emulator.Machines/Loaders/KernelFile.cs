namespace Emulator.Machines.Loaders;

/// <summary>Reads the files a kernel boot needs (kernel, initrd, modules); every problem becomes one line naming the option and the file.</summary>
public static class KernelFile
{
    /// <summary>
    /// Reads <paramref name="path"/>, refusing files larger than <paramref name="maxBytes"/> before
    /// reading them (an initrd larger than guest RAM is reported, not loaded).
    /// </summary>
    public static byte[] Read(string option, string path, ulong maxBytes, string tooLargeReason)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new MachineConfigException($"{option} {path}: no such file");
            }

            if ((ulong)info.Length > maxBytes)
            {
                throw new MachineConfigException($"{option} {path}: {info.Length} bytes {tooLargeReason}");
            }

            return File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new MachineConfigException($"{option} {path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MachineConfigException($"{option} {path}: permission denied", e);
        }
    }
}
