using Emulator.Core.Cpu;
using Emulator.Core.Memory;

namespace Emulator.Control.Guest;

/// <summary>
/// Guest memory as one vCPU sees it through its page tables, for tools: reads and writes by linear
/// address, page by page. Only RAM (and ROM, for reads) is touched: reading a device register could
/// change the device, so MMIO and unmapped addresses count as inaccessible.
/// </summary>
public sealed class GuestVirtualMemory(AddressSpace memory, CpuState state)
{
    private const ulong Page = 4096;
    private readonly GuestPageWalker _walker = new(memory, state);

    /// <summary>The page walker in use.</summary>
    public GuestPageWalker Walker => _walker;

    /// <summary>Reads from <paramref name="linear"/>; returns how many bytes could be read before the first inaccessible one.</summary>
    public int Read(ulong linear, Span<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            ulong at = linear + (ulong)done;
            int n = (int)Math.Min((ulong)(data.Length - done), Page - (at % Page));
            if (_walker.Translate(at) is not { } physical || !IsMemory(physical, n, writable: false))
            {
                break;
            }

            memory.Read(new GuestPhysicalAddress(physical), data.Slice(done, n));
            done += n;
        }

        return done;
    }

    /// <summary>Writes at <paramref name="linear"/>; returns false (having written nothing) when any byte is not in RAM.</summary>
    public bool Write(ulong linear, ReadOnlySpan<byte> data)
    {
        var pieces = new List<(ulong Physical, int Offset, int Length)>();
        int done = 0;
        while (done < data.Length)
        {
            ulong at = linear + (ulong)done;
            int n = (int)Math.Min((ulong)(data.Length - done), Page - (at % Page));
            if (_walker.Translate(at) is not { } physical || !IsMemory(physical, n, writable: true))
            {
                return false;
            }

            pieces.Add((physical, done, n));
            done += n;
        }

        // Through the address space, so that the software CPU drops code decoded from these bytes.
        foreach ((ulong physical, int offset, int length) in pieces)
        {
            memory.Write(new GuestPhysicalAddress(physical), data.Slice(offset, length));
        }

        return true;
    }

    private bool IsMemory(ulong physical, int length, bool writable) =>
        memory.Find(physical) is { } r && physical + (ulong)length <= r.End
        && (r.Kind == RegionKind.Ram || (!writable && r.Kind == RegionKind.Rom));
}
