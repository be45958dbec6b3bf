using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Tests.Boot;

/// <summary>Guest RAM laid out as the PC lays it out, for loader tests; files written for a test are deleted with it.</summary>
internal sealed class GuestMemory : IDisposable
{
    private readonly HostMapping _ram;
    private readonly List<string> _files = [];

    public GuestMemory(ulong bytes = 64 << 20)
    {
        _ram = new HostMapping(bytes);
        Space = new AddressSpace(new Lock());
        PcMemoryMap.MapRam(Space, _ram, bytes);
        ShadowRam.Map(Space, _ram);
        Map = E820Map.Build(bytes, 0x1_0000);
    }

    public AddressSpace Space { get; }

    public E820Map Map { get; }

    public byte[] Read(ulong address, int length)
    {
        byte[] b = new byte[length];
        Space.Read(new GuestPhysicalAddress(address), b);
        return b;
    }

    public uint U32(ulong address) => (uint)Space.ReadUInt(new GuestPhysicalAddress(address), 4);

    public ulong U64(ulong address) => Space.ReadUInt(new GuestPhysicalAddress(address), 8);

    public string CString(ulong address)
    {
        var s = new System.Text.StringBuilder();
        for (ulong a = address; ; a++)
        {
            byte b = (byte)Space.ReadUInt(new GuestPhysicalAddress(a), 1);
            if (b == 0)
            {
                return s.ToString();
            }

            s.Append((char)b);
        }
    }

    public string File(byte[] content)
    {
        string path = Path.GetTempFileName();
        System.IO.File.WriteAllBytes(path, content);
        _files.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (string f in _files)
        {
            System.IO.File.Delete(f);
        }

        _ram.Dispose();
    }
}
