using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Backends.Display;
using Emulator.Devices.Display;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// <c>screendump</c>: the VGA screen as the display would show it now, written to a file as QEMU 7.2
/// writes it: <c>format</c> "ppm" (the default, binary P6) or "png". The machine's one display has no
/// device id, so a <c>device</c> is never found (QEMU's DeviceNotFound) and <c>head</c> needs one.
/// </summary>
internal static class DisplayCommands
{
    public static void Register(QmpCommandTable table) => table.Add(
        "screendump",
        [
            new QmpParameter("filename", JsonValueKind.String),
            new QmpParameter("device", JsonValueKind.String, Optional: true),
            new QmpParameter("head", JsonValueKind.Number, Optional: true),
            new QmpParameter("format", JsonValueKind.String, Optional: true),
        ],
        (c, args) =>
        {
            if (args["device"]?.GetValue<string>() is { } device)
            {
                throw new QmpException("DeviceNotFound", $"Device '{device}' not found");
            }

            if (args["head"] is not null)
            {
                throw new QmpException("'head' must be specified together with 'device'");
            }

            string format = args["format"]?.GetValue<string>() ?? "ppm";
            if (format is not ("ppm" or "png"))
            {
                throw new QmpException($"Parameter 'format' does not accept value '{format}'");
            }

            Save(c, args["filename"]!.GetValue<string>(), format == "png");
            return new JsonObject();
        });

    /// <summary>Renders the screen (on the machine's thread, where device state changes) and writes <paramref name="file"/>.</summary>
    public static void Save(QmpContext c, string file, bool png)
    {
        Vga vga = c.Machine.Vga ?? throw new QmpException("There is no console to take a screendump from.");
        VgaFrame frame = c.Machine.Invoke(() => VgaRenderer.Render(vga));
        try
        {
            using var output = new FileStream(file, FileMode.Create, FileAccess.Write);
            if (png)
            {
                PngWriter.Write(output, frame.Width, frame.Height, frame.Pixels);
            }
            else
            {
                PpmWriter.Write(output, frame.Width, frame.Height, frame.Pixels);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QmpException($"failed to open file '{file}': {e.Message}", e);
        }
    }
}
