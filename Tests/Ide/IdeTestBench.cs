using Emulator.Backends.Block;
using Emulator.Core.Io;
using Emulator.Devices.Ide;
using Emulator.Tests.Pci;

namespace Emulator.Tests.Ide;

/// <summary>
/// One IDE channel at the primary ports (0x1F0-0x1F7, 0x3F6) with image files behind its drives,
/// played through real port accesses the way a PIO driver does (ATA/ATAPI-6 chapter 9).
/// </summary>
internal sealed class IdeTestBench : IDisposable
{
    public const ushort Data = 0x1f0, Error = 0x1f1, SectorCount = 0x1f2, LbaLow = 0x1f3, LbaMid = 0x1f4, LbaHigh = 0x1f5,
        Device = 0x1f6, Command = 0x1f7, Control = 0x3f6;

    private readonly List<string> _files = [];

    public IdeTestBench(byte[]? disk0 = null, byte[]? cdrom1 = null, bool readOnly = false, byte[]? cdrom0 = null)
    {
        IIdeDevice? d0 = disk0 is not null ? new AtaDisk(Open(disk0, readOnly), "EMU0000")
            : cdrom0 is not null ? new AtapiCdrom(Open(cdrom0, true), "EMU0000") : null;
        IIdeDevice? d1 = cdrom1 is not null ? new AtapiCdrom(Open(cdrom1, true), "EMU0001") : null;
        Channel = new IdeChannel("ide0", Irq, d0, d1);
        Io.Register(0x1f0, IdeChannel.CommandBlockPorts, Channel);
        Io.Register(0x3f6, 1, Channel, IdeChannel.ControlOffset);
    }

    public IoPortBus Io { get; } = new(new Lock());

    public RecordingLine Irq { get; } = new();

    public IdeChannel Channel { get; }

    public string ImagePath(int index) => _files[index];

    public byte In(ushort port) => (byte)Io.Read(port, 1);

    public void Out(ushort port, byte value) => Io.Write(port, 1, value);

    /// <summary>Reads <paramref name="bytes"/> from the data register, 16 bits at a time (REP INSW).</summary>
    public byte[] ReadData(int bytes)
    {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i += 2)
        {
            uint w = Io.Read(Data, 2);
            b[i] = (byte)w;
            b[i + 1] = (byte)(w >> 8);
        }

        return b;
    }

    public void WriteData(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            Io.Write(Data, 2, (uint)(data[i] | (data[i + 1] << 8)));
        }
    }

    /// <summary>Issues a 28-bit LBA command to device 0.</summary>
    public void Lba28(byte command, uint lba, byte count, int device = 0)
    {
        Out(Device, (byte)(0xe0u | ((uint)device << 4) | ((lba >> 24) & 0x0f)));
        Out(SectorCount, count);
        Out(LbaLow, (byte)lba);
        Out(LbaMid, (byte)(lba >> 8));
        Out(LbaHigh, (byte)(lba >> 16));
        Out(Command, command);
    }

    public void Dispose()
    {
        foreach (int unit in new[] { 0, 1 })
        {
            Channel.Drive(unit)?.Dispose();
        }

        foreach (string f in _files)
        {
            File.Delete(f);
        }
    }

    private RawFileBackend Open(byte[] contents, bool readOnly)
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-ide-{Guid.NewGuid():n}.img");
        File.WriteAllBytes(path, contents);
        _files.Add(path);
        var stream = new FileStream(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read, 0, FileOptions.RandomAccess);
        return new RawFileBackend(stream, readOnly);
    }
}
