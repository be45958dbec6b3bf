using System.Text;
using Emulator.Backends.Display;
using Emulator.Devices.Display;

namespace Emulator.Cli.Commands;

/// <summary>--screendump-on-exit: the VGA screen saved when emu exits, as a PNG or as text.</summary>
internal sealed class Screendump
{
    private readonly string _path;
    private readonly bool _text;

    private Screendump(string path, bool text)
    {
        _path = path;
        _text = text;
    }

    /// <summary>Checks the option: a .png or .txt file name, a machine with a VGA.</summary>
    public static Screendump Parse(string path, bool haveVga)
    {
        if (!haveVga)
        {
            throw new UsageException($"--screendump-on-exit {path}: the machine has no display (--vga none)");
        }

        string extension = Path.GetExtension(path).ToLowerInvariant();
        return extension is ".png" or ".txt"
            ? new Screendump(path, extension == ".txt")
            : throw new UsageException($"--screendump-on-exit {path}: the file name must end in .png (image) or .txt (text screen)");
    }

    /// <summary>Writes the file; a failure is one line on stderr (the guest's outcome stands).</summary>
    public void Save(Vga vga)
    {
        try
        {
            if (_text)
            {
                VgaTextScreen? screen = VgaRenderer.Text(vga);
                File.WriteAllText(_path, screen is null ? string.Empty : screen + "\n", new UTF8Encoding(false));
                if (screen is null)
                {
                    Console.Error.WriteLine($"emu: --screendump-on-exit {_path}: the VGA is in a graphics mode; the text file is empty");
                }

                return;
            }

            VgaFrame frame = VgaRenderer.Render(vga);
            using var file = new FileStream(_path, FileMode.Create, FileAccess.Write);
            PngWriter.Write(file, frame.Width, frame.Height, frame.Pixels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"emu: --screendump-on-exit {_path}: cannot write: {e.Message}");
        }
    }
}
