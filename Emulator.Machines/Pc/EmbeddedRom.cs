namespace Emulator.Machines.Pc;

/// <summary>The guest programs of Roms/ that this assembly embeds (see Emulator.Machines.csproj), read by their logical names.</summary>
internal static class EmbeddedRom
{
    /// <summary>The bytes of the embedded resource <paramref name="name"/>, e.g. "demo.bin".</summary>
    public static byte[] Read(string name)
    {
        using Stream stream = typeof(EmbeddedRom).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the ROM resource {name} is missing from Emulator.Machines");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
