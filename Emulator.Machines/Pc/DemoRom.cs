namespace Emulator.Machines.Pc;

/// <summary>The demo guest of Roms/demo (assembled from demo.asm, embedded in this assembly): what `emu run` boots when given no kernel or firmware.</summary>
public static class DemoRom
{
    private static readonly Lazy<byte[]> Bytes = new(Load);

    /// <summary>The 64 KiB firmware image.</summary>
    public static byte[] Image => Bytes.Value;

    private static byte[] Load()
    {
        using Stream stream = typeof(DemoRom).Assembly.GetManifestResourceStream("demo.bin")
            ?? throw new InvalidOperationException("the demo ROM resource is missing from Emulator.Machines");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
