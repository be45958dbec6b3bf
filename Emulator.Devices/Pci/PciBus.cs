using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Machine;
using Emulator.Core.Memory;

namespace Emulator.Devices.Pci;

/// <summary>
/// PCI bus 0: up to 32 devices of 8 functions, reached through a <see cref="PciHostBridge"/>.
/// It maps each function's BARs into the address space and the port bus while the function's
/// command register enables decoding, and routes each function's INTx# pin through
/// <see cref="IntxRouter"/> (the PIIX3's PIRQ logic on a PC).
/// </summary>
public sealed class PciBus
{
    private const int Slots = 32, FunctionsPerSlot = 8;
    private readonly PciFunction?[] _functions = new PciFunction?[Slots * FunctionsPerSlot];
    private readonly Dictionary<(PciFunction, int), Mapping> _mappings = [];
    private readonly AddressSpace _memory;
    private readonly IoPortBus _io;
    private readonly GuestErrorLog _errors;

    /// <summary>Creates an empty bus decoding into <paramref name="memory"/> and <paramref name="io"/>; BARs that cannot be decoded are reported to <paramref name="errors"/> (a log of its own when null).</summary>
    public PciBus(AddressSpace memory, IoPortBus io, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        _memory = memory;
        _io = io;
    }

    /// <summary>
    /// Gives the interrupt wire for (slot, pin 1-4) of a function being attached. Unset, INTx# pins
    /// are not connected.
    /// </summary>
    public Func<int, int, IInterruptLine>? IntxRouter { get; set; }

    /// <summary>BAR programmings that could not be decoded because they overlapped something already mapped (diagnostics).</summary>
    public int ConflictingBars { get; private set; }

    /// <summary>The attached functions in slot/function order.</summary>
    public IEnumerable<PciFunction> Functions => _functions.OfType<PciFunction>();

    /// <summary>Attaches <paramref name="function"/> at <paramref name="slot"/>.<paramref name="functionNumber"/>.</summary>
    public void Attach(int slot, int functionNumber, PciFunction function)
    {
        if (slot is < 0 or >= Slots || functionNumber is < 0 or >= FunctionsPerSlot)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), $"PCI address {slot:x2}.{functionNumber} does not exist");
        }

        int index = (slot * FunctionsPerSlot) + functionNumber;
        if (_functions[index] is { } other)
        {
            throw new InvalidOperationException($"PCI {slot:x2}.{functionNumber} is already taken by {other.Name}");
        }

        _functions[index] = function;
        IInterruptLine line = function.InterruptPin != 0 && IntxRouter is { } router
            ? router(slot, function.InterruptPin)
            : UnconnectedLine.Instance;
        function.Attach(this, slot, functionNumber, line);
        UpdateMappings(function);
    }

    /// <summary>The function at <paramref name="slot"/>.<paramref name="functionNumber"/>, or null.</summary>
    public PciFunction? FunctionAt(int slot, int functionNumber) => _functions[(slot * FunctionsPerSlot) + functionNumber];

    /// <summary>
    /// A configuration read of bus 0 at <paramref name="devfn"/> (device &lt;&lt; 3 | function).
    /// A function that does not exist answers all ones, which is how software finds empty slots
    /// (PCI 3.0 §6.1: the host bridge returns 0xFFFF as Vendor ID on a master abort).
    /// </summary>
    public uint ReadConfig(int devfn, int register, int size)
    {
        PciFunction? f = _functions[devfn & 0xff];
        return f is null ? (size == 4 ? 0xffff_ffffu : (1u << (8 * size)) - 1) : f.ReadConfig(register, size);
    }

    /// <summary>A configuration write of bus 0; writes to absent functions are dropped.</summary>
    public void WriteConfig(int devfn, int register, int size, uint value) =>
        _functions[devfn & 0xff]?.WriteConfig(register, size, value);

    /// <summary>
    /// Maps or unmaps the BARs of <paramref name="function"/> to follow its BAR and command
    /// registers: a BAR decodes when its space is enabled in the command register (PCI 3.0 §6.2.2
    /// bits 0-1) and it holds an address at which the whole range fits. A BAR that would overlap
    /// something else stays unmapped (the guest programmed a conflict; the host does not crash).
    /// </summary>
    public void UpdateMappings(PciFunction function)
    {
        for (int i = 0; i < 6; i++)
        {
            if (function.Bars[i] is not { } bar)
            {
                continue;
            }

            ulong address = function.BarAddress(i);
            bool io = bar.Kind == PciBarKind.Io;
            bool enabled = (function.Command & (io ? PciFunction.CommandIoSpace : PciFunction.CommandMemorySpace)) != 0;
            ulong limit = io ? 0x1_0000UL : 0x1_0000_0000UL;
            bool wanted = enabled && address != 0 && address + bar.Size <= limit;
            _mappings.TryGetValue((function, i), out Mapping? current);
            if (current is not null && wanted && current.Address == address)
            {
                continue;
            }

            if (current is not null)
            {
                Unmap(bar, current);
                _mappings.Remove((function, i));
            }

            if (wanted && Map(function, bar, address) is { } mapping)
            {
                _mappings[(function, i)] = mapping;
            }
        }
    }

    /// <summary>Where BAR <paramref name="index"/> of <paramref name="function"/> is decoded now, or null.</summary>
    public ulong? MappedAddress(PciFunction function, int index) =>
        _mappings.TryGetValue((function, index), out Mapping? m) ? m.Address : null;

    /// <summary>
    /// Does what PC firmware does before an operating system runs (emu boots kernels without a BIOS):
    /// places every BAR, largest first and naturally aligned, in the memory window from
    /// <paramref name="memoryBase"/> and the I/O window from <paramref name="ioBase"/>, then enables
    /// decoding and bus mastering in each function's command register.
    /// </summary>
    public void AssignResources(ulong memoryBase, ulong memoryLimit, ushort ioBase, ushort ioLimit)
    {
        ulong nextMemory = memoryBase, nextIo = ioBase;
        var bars = Functions.SelectMany(f => f.Bars.OfType<PciBar>().Select(b => (Function: f, Bar: b)))
            .OrderByDescending(x => x.Bar.Size).ToList();
        foreach ((PciFunction f, PciBar bar) in bars)
        {
            bool io = bar.Kind == PciBarKind.Io;
            ulong next = io ? nextIo : nextMemory;
            ulong at = (next + bar.Size - 1) & ~((ulong)bar.Size - 1);
            if (at + bar.Size > (io ? ioLimit + 1UL : memoryLimit + 1))
            {
                throw new InvalidOperationException($"PCI: no room for BAR {bar.Index} of {f.Name} ({bar.Size} bytes)");
            }

            f.WriteConfig(PciFunction.Bar0Offset + (4 * bar.Index), 4, (uint)at);
            if (io)
            {
                nextIo = at + bar.Size;
            }
            else
            {
                nextMemory = at + bar.Size;
            }
        }

        foreach (PciFunction f in Functions)
        {
            ushort command = (ushort)(f.Command | PciFunction.CommandBusMaster
                | (f.Bars.Any(b => b?.Kind == PciBarKind.Io) ? PciFunction.CommandIoSpace : 0)
                | (f.Bars.Any(b => b?.Kind == PciBarKind.Memory32) ? PciFunction.CommandMemorySpace : 0));
            f.WriteConfig(PciFunction.CommandOffset, 2, command);
        }
    }

    private Mapping? Map(PciFunction function, PciBar bar, ulong address)
    {
        try
        {
            if (bar.Kind == PciBarKind.Io)
            {
                _io.Register((ushort)address, (int)bar.Size, bar.Device);
                return new Mapping(address, null);
            }

            MemoryRegion region = _memory.AddMmio($"{function.Name} BAR{bar.Index}", new GuestPhysicalAddress(address), bar.Size, bar.Device);
            return new Mapping(address, region);
        }
        catch (InvalidOperationException)
        {
            ConflictingBars++;
            _errors.Report(function.Name, $"BAR{bar.Index} at 0x{address:x} ({bar.Size} bytes) overlaps RAM or another device: not decoded");
            return null;
        }
    }

    private void Unmap(PciBar bar, Mapping mapping)
    {
        if (mapping.Region is { } region)
        {
            _memory.RemoveRegion(region);
        }
        else
        {
            _io.Unregister((ushort)mapping.Address, (int)bar.Size, bar.Device);
        }
    }

    private sealed record Mapping(ulong Address, MemoryRegion? Region);
}
