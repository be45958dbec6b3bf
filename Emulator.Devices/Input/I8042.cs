using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Input;

/// <summary>
/// The Intel 8042 keyboard controller of a PC/AT (with the PS/2 auxiliary-port commands), seen at
/// offset <see cref="DataOffset"/> (port 0x60) and <see cref="CommandOffset"/> (port 0x64). It holds
/// the command byte in its internal RAM, answers the controller commands, passes data to and from a
/// <see cref="Ps2Keyboard"/> (translating set 2 into set 1 when command byte bit 6 asks), raises
/// IRQ 1 for keyboard data and IRQ 12 for auxiliary data, and drives the A20 gate (output port
/// bit 1) and the CPU reset line (output port bit 0, pulsed by command 0xFE). No mouse is attached:
/// the auxiliary port exists (its loopback and interface test work) but a byte sent to the device
/// times out, which the controller reports as 0xFE with the time-out status bit.
/// Commands are carried out at once, so the input buffer is never seen full.
/// </summary>
public sealed class I8042 : IBusDevice
{
    /// <summary>The data port.</summary>
    public const ushort DataPort = 0x60;

    /// <summary>The status/command port.</summary>
    public const ushort CommandPort = 0x64;

    /// <summary>Device offset of the data port.</summary>
    public const ulong DataOffset = 0;

    /// <summary>Device offset of the status/command port (register port 0x64 with this offset).</summary>
    public const ulong CommandOffset = 4;

    /// <summary>Status register bits.</summary>
    public const byte StatusOutputFull = 0x01, StatusInputFull = 0x02, StatusSystemFlag = 0x04, StatusCommand = 0x08,
        StatusNotInhibited = 0x10, StatusAuxOutputFull = 0x20, StatusTimeout = 0x40, StatusParityError = 0x80;

    /// <summary>Command byte bits.</summary>
    public const byte CommandKeyboardInterrupt = 0x01, CommandAuxInterrupt = 0x02, CommandSystemFlag = 0x04,
        CommandKeyboardDisabled = 0x10, CommandAuxDisabled = 0x20, CommandTranslate = 0x40;

    /// <summary>Output port bits.</summary>
    public const byte OutputPortReset = 0x01, OutputPortA20 = 0x02, OutputPortKeyboardFull = 0x10, OutputPortAuxFull = 0x20;

    /// <summary>Self-test passed.</summary>
    public const byte SelfTestPassed = 0x55;

    private const int RamSize = 32;

    // The chip holds one reply and stalls while its output buffer is full; replies queued here for
    // a guest that never reads are bounded instead.
    private const int PendingCapacity = 16;
    private const int StateVersion = 1;

    // The output port's pins float high after reset (reset inactive, A20 enabled, keyboard and aux lines idle).
    private const byte OutputPortAtReset = 0xCF;

    // Input port: bit 7 set is "keyboard not inhibited"; the IBM AT strap bits read 0.
    private const byte InputPort = 0x80;

    private readonly Ps2Keyboard _keyboard;
    private readonly IInterruptLine _irq1;
    private readonly IInterruptLine _irq12;
    private readonly MachineControl _control;
    private readonly A20Gate.Input _a20;
    private readonly GuestErrorLog _errors;
    private readonly byte[] _ram = new byte[RamSize];
    private readonly Queue<(byte Value, bool Aux)> _pending = new();

    private byte _outputPort;
    private byte _outputBuffer;
    private bool _outputFull, _outputAux, _timeout, _lastWasCommand;
    private byte _awaitingData;
    private bool _breakPrefix;
    private bool _irq1Level, _irq12Level;

    /// <summary>Creates the controller with <paramref name="keyboard"/> on its keyboard port; commands it does not know are reported to <paramref name="errors"/>.</summary>
    public I8042(Ps2Keyboard keyboard, IInterruptLine irq1, IInterruptLine irq12, MachineControl control, A20Gate.Input a20, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        _keyboard = keyboard;
        _irq1 = irq1;
        _irq12 = irq12;
        _control = control;
        _a20 = a20;
        keyboard.DataAvailable += OnKeyboardData;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "i8042";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>The command byte (internal RAM byte 0).</summary>
    public byte CommandByte => _ram[0];

    /// <summary>The output port as last written (bits 4 and 5 excluded).</summary>
    public byte OutputPort => _outputPort;

    /// <summary>The status register as the guest reads it.</summary>
    public byte Status
    {
        get
        {
            byte s = StatusNotInhibited;
            s |= _outputFull ? StatusOutputFull : (byte)0;
            s |= _outputFull && _outputAux ? StatusAuxOutputFull : (byte)0;
            s |= (byte)(_ram[0] & CommandSystemFlag);
            s |= _lastWasCommand ? StatusCommand : (byte)0;
            s |= _timeout ? StatusTimeout : (byte)0;
            return s;
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (offset == CommandOffset)
        {
            data[0] = Status;
            return;
        }

        if (offset != DataOffset)
        {
            data[0] = 0xFF;
            return;
        }

        // An empty buffer returns the stale byte, as the latch does.
        data[0] = _outputBuffer;
        _outputFull = false;
        _outputAux = false;
        _timeout = false;
        UpdateIrqs();
        Fill();
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == CommandOffset)
        {
            _lastWasCommand = true;
            ControllerCommand(data[0]);
        }
        else if (offset == DataOffset)
        {
            _lastWasCommand = false;
            DataWrite(data[0]);
        }
    }

    /// <summary>Controller reset: command byte and RAM zero (SYS flag clear: a cold boot), buffers empty, output port pins high.</summary>
    public void Reset()
    {
        Array.Clear(_ram);
        _pending.Clear();
        _outputBuffer = 0;
        _outputFull = _outputAux = _timeout = _lastWasCommand = _breakPrefix = false;
        _awaitingData = 0;
        _outputPort = OutputPortAtReset;
        _a20.Set(true);
        _irq1Level = _irq12Level = true;
        UpdateIrqs();
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(_ram);
            w.Write(_outputPort);
            w.Write(_outputBuffer);
            w.Write(_outputFull);
            w.Write(_outputAux);
            w.Write(_timeout);
            w.Write(_lastWasCommand);
            w.Write(_awaitingData);
            w.Write(_breakPrefix);
            w.Write((byte)_pending.Count);
            foreach ((byte value, bool aux) in _pending)
            {
                w.Write(value);
                w.Write(aux);
            }
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
            r.ReadBytes(RamSize).CopyTo(_ram, 0);
            _outputPort = r.ReadByte();
            _outputBuffer = r.ReadByte();
            _outputFull = r.ReadBoolean();
            _outputAux = r.ReadBoolean();
            _timeout = r.ReadBoolean();
            _lastWasCommand = r.ReadBoolean();
            _awaitingData = r.ReadByte();
            _breakPrefix = r.ReadBoolean();
            _pending.Clear();
            int count = r.ReadByte();
            if (count > PendingCapacity)
            {
                throw new InvalidDataException($"{Name}: saved state holds {count} replies, more than {PendingCapacity}");
            }

            for (int i = 0; i < count; i++)
            {
                _pending.Enqueue((r.ReadByte(), r.ReadBoolean()));
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }

        _a20.Set((_outputPort & OutputPortA20) != 0);

        // Drive both wires whatever their last level: the interrupt controller was restored too.
        _irq1Level = !Irq1Wanted;
        _irq12Level = !Irq12Wanted;
        UpdateIrqs();
    }

    private void ControllerCommand(byte command)
    {
        _awaitingData = 0;
        switch (command)
        {
            case >= 0x20 and <= 0x3F:
                // Read internal RAM; 0x20 reads the command byte.
                Respond(_ram[command & 0x1F]);
                break;
            case >= 0x60 and <= 0x7F:
            case 0xD1:
            case 0xD2:
            case 0xD3:
            case 0xD4:
                _awaitingData = command;
                break;
            case 0xA7:
                _ram[0] |= CommandAuxDisabled;
                break;
            case 0xA8:
                _ram[0] &= unchecked((byte)~CommandAuxDisabled);
                break;
            case 0xA9:
            case 0xAB:
                // Auxiliary / keyboard interface test: 0x00 means no clock or data line is stuck.
                Respond(0x00);
                break;
            case 0xAA:
                Respond(SelfTestPassed);
                break;
            case 0xAD:
                _ram[0] |= CommandKeyboardDisabled;
                break;
            case 0xAE:
                _ram[0] &= unchecked((byte)~CommandKeyboardDisabled);
                Fill();
                break;
            case 0xC0:
                Respond(InputPort);
                break;
            case 0xD0:
                Respond(OutputPortValue());
                break;
            case 0xDD:
                WriteOutputPort((byte)(_outputPort & ~OutputPortA20));
                break;
            case 0xDF:
                WriteOutputPort((byte)(_outputPort | OutputPortA20));
                break;
            case >= 0xF0:
                // Pulse output port bits 0-3 that are 0 in the command for about 6 us; bit 0 is the CPU reset line.
                if ((command & OutputPortReset) == 0)
                {
                    _control.Raise(MachineRequest.Reset);
                }

                break;
            default:
                _errors.Report(Name, $"unknown controller command 0x{command:x2} ignored");
                break;
        }
    }

    private void DataWrite(byte value)
    {
        byte command = _awaitingData;
        _awaitingData = 0;
        switch (command)
        {
            case >= 0x60 and <= 0x7F:
                _ram[command & 0x1F] = value;
                UpdateIrqs();
                Fill();
                break;
            case 0xD1:
                WriteOutputPort(value);
                break;
            case 0xD2:
                Respond(value);
                break;
            case 0xD3:
                Respond(value, aux: true);
                break;
            case 0xD4:
                // No device on the auxiliary port: the transmission times out.
                _timeout = true;
                Respond(Ps2Keyboard.Resend, aux: true);
                break;
            default:
                // To the keyboard. Sending it data enables the keyboard interface again, as controllers
                // observed by QEMU do (hw/input/pckbd.c, kbd_write_data).
                _ram[0] &= unchecked((byte)~CommandKeyboardDisabled);
                _keyboard.WriteFromHost(value);
                break;
        }
    }

    private void WriteOutputPort(byte value)
    {
        _outputPort = (byte)(value & ~(OutputPortKeyboardFull | OutputPortAuxFull));
        _a20.Set((value & OutputPortA20) != 0);
        if ((value & OutputPortReset) == 0)
        {
            _control.Raise(MachineRequest.Reset);
        }
    }

    private byte OutputPortValue()
    {
        byte value = _outputPort;
        value |= _outputFull && !_outputAux ? OutputPortKeyboardFull : (byte)0;
        value |= _outputFull && _outputAux ? OutputPortAuxFull : (byte)0;
        return value;
    }

    private void Respond(byte value, bool aux = false)
    {
        if (_pending.Count < PendingCapacity)
        {
            _pending.Enqueue((value, aux));
        }
        else
        {
            _errors.Report(Name, $"reply 0x{value:x2} dropped: {PendingCapacity} replies already wait to be read");
        }

        Fill();
    }

    private void OnKeyboardData() => Fill();

    /// <summary>Moves the next byte into the empty output buffer: the controller's own replies first, then keyboard data while the interface is enabled.</summary>
    private void Fill()
    {
        while (!_outputFull)
        {
            if (_pending.TryDequeue(out var reply))
            {
                Load(reply.Value, reply.Aux);
            }
            else if ((_ram[0] & CommandKeyboardDisabled) == 0 && _keyboard.HasData)
            {
                byte b = _keyboard.ReadByte();
                if ((_ram[0] & CommandTranslate) == 0)
                {
                    Load(b, aux: false);
                }
                else if (b == Ps2Scancodes.Set2Break)
                {
                    // The controller swallows the set 2 break prefix and sets bit 7 of the next code instead.
                    _breakPrefix = true;
                }
                else
                {
                    Load((byte)(Ps2Scancodes.Translate(b) | (_breakPrefix ? Ps2Scancodes.Set1Break : 0)), aux: false);
                    _breakPrefix = false;
                }
            }
            else
            {
                break;
            }
        }

        UpdateIrqs();
    }

    private void Load(byte value, bool aux)
    {
        _outputBuffer = value;
        _outputFull = true;
        _outputAux = aux;
    }

    private bool Irq1Wanted => _outputFull && !_outputAux && (_ram[0] & CommandKeyboardInterrupt) != 0;

    private bool Irq12Wanted => _outputFull && _outputAux && (_ram[0] & CommandAuxInterrupt) != 0;

    private void UpdateIrqs()
    {
        bool irq1 = Irq1Wanted;
        bool irq12 = Irq12Wanted;
        if (irq1 != _irq1Level)
        {
            _irq1Level = irq1;
            _irq1.Set(irq1);
        }

        if (irq12 != _irq12Level)
        {
            _irq12Level = irq12;
            _irq12.Set(irq12);
        }
    }
}
