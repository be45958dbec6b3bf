using Emulator.Core.Chardev;
using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Devices.Char;

namespace Emulator.Tests.Serial;

/// <summary>An interrupt wire that remembers every level driven on it.</summary>
internal sealed class RecordingLine : IInterruptLine
{
    public List<bool> Levels { get; } = [];

    public bool Level { get; private set; }

    public void Set(bool asserted)
    {
        Level = asserted;
        Levels.Add(asserted);
    }
}

/// <summary>A backend that keeps the guest's output.</summary>
internal sealed class CapturingBackend : ISerialBackend
{
    public List<byte> Output { get; } = [];

    public void Write(ReadOnlySpan<byte> data) => Output.AddRange(data);

    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>A UART at COM1 (0x3F8) on a port bus, reached as the guest would with IN and OUT.</summary>
internal sealed class Com1
{
    public const ushort Base = 0x3f8;
    public const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    public Com1(int inputQueueCapacity = Uart16550.DefaultInputQueueCapacity)
    {
        Bus = new IoPortBus(DeviceLock);
        Uart = new Uart16550("uart16550@0x3f8", DeviceLock, Line, Backend, inputQueueCapacity);
        Bus.Register(Base, 8, Uart);
    }

    public Lock DeviceLock { get; } = new();

    public IoPortBus Bus { get; }

    public RecordingLine Line { get; } = new();

    public CapturingBackend Backend { get; } = new();

    public Uart16550 Uart { get; }

    public byte In(int register) => (byte)Bus.Read((ushort)(Base + register), 1);

    public void Out(int register, byte value) => Bus.Write((ushort)(Base + register), 1, value);
}
