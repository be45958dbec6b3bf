using Emulator.Core.Devices;

namespace Emulator.Devices.Diagnostics;

/// <summary>
/// QEMU's <c>pc-testdev</c>, the ISA test device that kvm-unit-tests' x86 kernels expect next to
/// isa-debug-exit (QEMU hw/misc/pc-testdev.c, read for its guest-visible behaviour):
/// <list type="bullet">
/// <item>ports 0xE0-0xE3 and 0xE8-0xEB: two views of one 32-bit scratch register, byte by byte
/// (a test reads back what it wrote with IN/OUT and INS/OUTS of every width);</item>
/// <item>ports 0xE4-0xE7: "flush page", a dword write names a guest page that QEMU unmaps and maps
/// again on the host; nothing a guest can see, so a no-op here; reads return 0;</item>
/// <item>ports 0x2000-0x2017: one port per interrupt line, a byte write of non-zero raises ISA IRQ n
/// and zero lowers it; QEMU's region takes single bytes, so its memory core splits a wider OUT
/// into byte writes to consecutive lines (OUT DX, EAX = 1 at 0x200B raises IRQ 11 and lowers
/// IRQs 12-14), and so does this device; reads return 0;</item>
/// <item>64 KiB at physical 0xFF000000 (<see cref="Memory"/>): memory behind MMIO, which a test
/// maps to run instructions on operands that the CPU must reach through the bus.</item>
/// </list>
/// Only IRQs 0-15 have ISA wires; lines 16-23 (QEMU asserts on those) are ignored.
/// </summary>
public sealed class PcTestdev : IBusDevice
{
    /// <summary>The scratch register's ports.</summary>
    public const ushort ScratchPort = 0xe0;

    /// <summary>The ports from <see cref="ScratchPort"/> up to the byte view's end (scratch, flush page, byte view).</summary>
    public const int ScratchPortCount = 12;

    /// <summary>The first interrupt-line port.</summary>
    public const ushort IrqLinePort = 0x2000;

    /// <summary>The interrupt-line ports.</summary>
    public const int IrqLineCount = 24;

    /// <summary>Where the MMIO window is.</summary>
    public const ulong MemoryBase = 0xff00_0000;

    /// <summary>The MMIO window's size.</summary>
    public const int MemorySize = 0x1_0000;

    private const int StateVersion = 1;
    private const ulong FlushPageOffset = 0x04, ByteViewOffset = 0x08;

    private readonly IInterruptLine[] _isaIrqs;
    private readonly bool[] _levels;
    private readonly byte[] _scratch = new byte[4];
    private readonly byte[] _memory = new byte[MemorySize];

    /// <summary>
    /// Creates the device. Its port ranges are registered with offsets equal to the port numbers
    /// (<see cref="ScratchPort"/> at offset 0xE0, <see cref="IrqLinePort"/> at 0x2000);
    /// <paramref name="isaIrqs"/> are the wires of ISA IRQs 0-15 (an unconnected line for the cascade).
    /// </summary>
    public PcTestdev(IReadOnlyList<IInterruptLine> isaIrqs)
    {
        ArgumentNullException.ThrowIfNull(isaIrqs);
        _isaIrqs = [.. isaIrqs];
        _levels = new bool[_isaIrqs.Length];
        Memory = new MemoryWindow(this);
    }

    /// <inheritdoc/>
    public string Name => "pc-testdev";

    /// <summary>The 64 KiB MMIO window at <see cref="MemoryBase"/>; its contents are saved with this device.</summary>
    public IBusDevice Memory { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = ScratchIndex(offset + (ulong)i) is int k ? _scratch[k] : (byte)0;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset >= IrqLinePort)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong line = offset - IrqLinePort + (ulong)i;
                if (line < (ulong)_isaIrqs.Length)
                {
                    bool level = data[i] != 0;
                    _levels[line] = level;
                    _isaIrqs[line].Set(level);
                }
            }

            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            if (ScratchIndex(offset + (ulong)i) is int k)
            {
                _scratch[k] = data[i];
            }
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_scratch);
        Array.Clear(_memory);
        for (int i = 0; i < _isaIrqs.Length; i++)
        {
            if (_levels[i])
            {
                _levels[i] = false;
                _isaIrqs[i].Set(false);
            }
        }
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(_scratch);
            w.Write(_levels.Length);
            foreach (bool level in _levels)
            {
                w.Write(level);
            }

            w.Write(_memory);
        }

        return new DeviceState(Name, StateVersion, stream.ToArray());
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version}");
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(state.Data));
            r.ReadBytes(_scratch.Length).CopyTo(_scratch, 0);
            int lines = r.ReadInt32();
            if (lines != _levels.Length)
            {
                throw new InvalidDataException($"{Name}: saved state has {lines} interrupt lines, this device {_levels.Length}");
            }

            for (int i = 0; i < lines; i++)
            {
                _levels[i] = r.ReadBoolean();
                _isaIrqs[i].Set(_levels[i]);
            }

            byte[] memory = r.ReadBytes(MemorySize);
            if (memory.Length != MemorySize)
            {
                throw new EndOfStreamException();
            }

            memory.CopyTo(_memory, 0);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }
    }

    // Both views (0xE0 and 0xE8) address the same register: byte (port & 3); the flush-page port
    // between them and anything past the byte view hold nothing.
    private static int? ScratchIndex(ulong offset)
    {
        ulong rel = offset - ScratchPort;
        if (offset < ScratchPort || rel >= ScratchPortCount || (rel >= FlushPageOffset && rel < ByteViewOffset))
        {
            return null;
        }

        return (int)(rel & 3);
    }

    // The MMIO window: plain bytes, every width, the accesses bounded by the window.
    private sealed class MemoryWindow(PcTestdev owner) : IBusDevice
    {
        public string Name => "pc-testdev-iomem";

        public AccessSizes SupportedSizes => AccessSizes.All;

        public void Read(ulong offset, Span<byte> data)
        {
            data.Clear();
            if (offset < MemorySize)
            {
                int n = (int)Math.Min((ulong)data.Length, MemorySize - offset);
                owner._memory.AsSpan((int)offset, n).CopyTo(data);
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (offset < MemorySize)
            {
                int n = (int)Math.Min((ulong)data.Length, MemorySize - offset);
                data[..n].CopyTo(owner._memory.AsSpan((int)offset, n));
            }
        }

        // The owner resets and saves the bytes.
        public void Reset()
        {
        }

        public DeviceState Save() => new(Name, 1, []);

        public void Restore(DeviceState state)
        {
        }
    }
}
