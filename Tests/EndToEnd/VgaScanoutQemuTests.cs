using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Emulator.Tests.EndToEnd.Control;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The same guest (Roms/vga/scanout: a boot sector that sets a mode through the VGA BIOS, draws,
/// and programs the split screen and start address through the CRTC's ports) under emu and under
/// <c>qemu-system-x86_64 -vga std</c>, both with Debian's SeaBIOS and vgabios-stdvga: the QMP
/// screendumps (PPM) must have the same size and the same DAC value at every pixel. They are
/// compared at the DAC's 6 bits per component: the DAC's 6-bit values reach the picture widened to
/// 8 bits, emu by repeating the top bits (2Ah to AAh, 15h to 55h, the IBM default colors) and QEMU
/// by repeating the lowest bit (2Ah to A8h, 15h to 57h), so the low two bits differ by design.
/// QEMU draws none of blinking, pixel panning or the preset row scan, so the guest uses none of
/// them (Tests/Display/VgaScanoutTests covers those against the register descriptions), and its
/// text split falls on a character row boundary, where QEMU (which splits text by rows) and the
/// hardware (by scan lines) agree.
/// </summary>
public sealed class VgaScanoutQemuTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-vga-scanout").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Guest => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "vga", "scanout.bin");

    [SkippableTheory]
    [InlineData(0, 720, 400)] // text mode 03h, blinking off, DAC entry 14h reprogrammed, split after row 11
    [InlineData(1, 640, 480)] // mode 12h, split after scan line 300
    [InlineData(2, 640, 400)] // mode X (mode 13h unchained), split after scan line 299
    [InlineData(3, 640, 400)] // mode 13h (chain-4)
    public void EmuShowsWhatQemuShows(int scenario, int width, int height)
    {
        Skip.If(!File.Exists(BootImages.SeaBios) || !File.Exists(BootImages.VgaBios), $"{BootImages.SeaBios} or {BootImages.VgaBios} is missing (apt-get install seabios)");
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        string disk = Path.Combine(_dir, "disk.img");
        byte[] image = new byte[1 << 20];
        File.ReadAllBytes(Guest).CopyTo(image, 0);
        image[0x1fd] = (byte)scenario;
        File.WriteAllBytes(disk, image);

        (int w, int h, byte[] qemu) = Screendump("qemu", (debugcon, qmp) => GuestProcess.Qemu(
            "-m", "64", "-vga", "std", "-bios", BootImages.SeaBios, "-drive", $"file={disk},format=raw,if=ide",
            "-chardev", $"file,id=dbg,path={debugcon}", "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
            "-qmp", $"unix:{qmp},server=on,wait=off"));
        Assert.Equal((width, height), (w, h));

        (w, h, byte[] emu) = Screendump("emu", (debugcon, qmp) => GuestProcess.Emu(null,
            "run", "-m", "64", "--accel", "jit", "--drive", $"file={disk},if=ide,format=raw",
            "--debugcon", $"file:{debugcon},port=0x402", "--qmp", $"unix:{qmp},server,wait=off"));
        Assert.Equal((width, height), (w, h));

        int differing = 0, first = -1;
        for (int i = 0; i < emu.Length; i++)
        {
            if (emu[i] >> 2 != qemu[i] >> 2)
            {
                differing++;
                first = first < 0 ? i / 3 : first;
            }
        }

        Assert.True(differing == 0, $"{differing} components differ; the first at ({first % width}, {first / width})");

        if (scenario == 1)
        {
            // The split really happened: scan line 301 shows row 0 of display memory, scan line 0
            // row 40 (the start address), as the guest's drawing formula gives them.
            Assert.Equal(Mode12Row(0), Row(emu, width, 301));
            Assert.Equal(Mode12Row(40), Row(emu, width, 0));
        }
    }

    // Runs an emulator until the guest says it has drawn (on port 402h), then takes a QMP screendump.
    private (int Width, int Height, byte[] Rgb) Screendump(string name, Func<string, string, GuestProcess> start)
    {
        string debugcon = Path.Combine(_dir, name + ".402"), qmp = Path.Combine(_dir, name + ".qmp"), ppm = Path.Combine(_dir, name + ".ppm");
        using GuestProcess process = start(debugcon, qmp);
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(debugcon) && File.ReadAllText(debugcon).Contains("scanout drawn", StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < Timeout && !process.HasExited, $"{name}: the guest did not finish drawing: {process.Stderr}");
            Thread.Sleep(100);
        }

        using RawQmp q = RawQmp.Connect(qmp, Timeout, () => process.HasExited);
        Assert.True(q.Send("""{"execute":"qmp_capabilities"}""")["return"] is not null);
        var dump = new JsonObject { ["execute"] = "screendump", ["arguments"] = new JsonObject { ["filename"] = ppm } };
        Assert.True(q.Send(dump.ToJsonString())["return"] is not null, $"{name}: screendump failed");
        return ReadPpm(File.ReadAllBytes(ppm));
    }

    // A binary PPM (P6, maximum 255): the header's three numbers, one whitespace byte, then RGB triples.
    private static (int Width, int Height, byte[] Rgb) ReadPpm(byte[] file)
    {
        int at = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)file[at]))
            {
                at++;
            }

            int begin = at;
            while (!char.IsWhiteSpace((char)file[at]))
            {
                at++;
            }

            return Encoding.ASCII.GetString(file, begin, at - begin);
        }

        Assert.Equal("P6", Token());
        int width = int.Parse(Token(), System.Globalization.CultureInfo.InvariantCulture);
        int height = int.Parse(Token(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("255", Token());
        return (width, height, file[(at + 1)..(at + 1 + (width * height * 3))]);
    }

    private static byte[] Row(byte[] rgb, int width, int y) => rgb[(y * width * 3)..((y + 1) * width * 3)];

    // Row r of mode 12h as the guest draws it (plane p, bit b = 1 << p: the byte at offset di is
    // (di x b) xor (di >> 7), low 8 bits), through mode 12h's palette to the 16 default colors as
    // emu widens their DAC values.
    private static byte[] Mode12Row(int r)
    {
        byte[] row = new byte[640 * 3];
        for (int x = 0; x < 640; x++)
        {
            int di = (r * 80) + (x / 8), color = 0;
            for (int p = 0; p < 4; p++)
            {
                int b = ((di * (1 << p)) ^ (di >> 7)) & 0xff;
                color |= ((b >> (7 - (x % 8))) & 1) << p;
            }

            uint rgb = Display.VgaPorts.DefaultColors[color];
            row[3 * x] = (byte)(rgb >> 16);
            row[(3 * x) + 1] = (byte)(rgb >> 8);
            row[(3 * x) + 2] = (byte)rgb;
        }

        return row;
    }
}
