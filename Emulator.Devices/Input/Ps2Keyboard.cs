using Emulator.Core.Devices;
using Emulator.Core.Input;

namespace Emulator.Devices.Input;

/// <summary>
/// A PS/2 (MF2) keyboard behind an <see cref="I8042"/>. It answers the host commands of the IBM
/// PS/2 keyboard interface (reset, echo, identify, LEDs, typematic rate, scan code set 1 or 2,
/// enable/disable/defaults, resend) and sends make and break codes for keys pressed on the host
/// through <see cref="KeyDown"/> and <see cref="KeyUp"/>. There is no typematic repeat. Like the
/// keyboard's own buffer, at most 16 bytes of key data wait for the controller; on overflow the
/// last byte becomes the overrun code (0x00 in set 2, 0xFF in set 1). Scan code set 3 is refused.
/// </summary>
public sealed class Ps2Keyboard : IDevice, IKeyboardInput
{
    /// <summary>Command acknowledge.</summary>
    public const byte Ack = 0xFA;

    /// <summary>Basic assurance test passed.</summary>
    public const byte BatPassed = 0xAA;

    /// <summary>Resend / invalid input.</summary>
    public const byte Resend = 0xFE;

    /// <summary>Echo reply.</summary>
    public const byte EchoReply = 0xEE;

    private const int BufferCapacity = 16;

    // Command replies do not count against the key buffer, but a host that never reads cannot grow them without bound.
    private const int ReplyCapacity = 64;
    private const byte DefaultTypematic = 0x2B; // 10.9 characters/s after 500 ms
    private const int StateVersion = 1;

    private readonly Lock _deviceLock;
    private readonly List<byte> _output = [];
    private Parameter _expecting;
    private int _set;
    private bool _scanning;
    private byte _lastSent;

    /// <summary>Creates a keyboard; <paramref name="deviceLock"/> is taken by the host-input methods.</summary>
    public Ps2Keyboard(Lock deviceLock)
    {
        _deviceLock = deviceLock;
        Reset();
    }

    private enum Parameter : byte
    {
        None,
        Leds,
        Typematic,
        ScancodeSet,
    }

    /// <summary>Raised (under the device lock) when a byte becomes available to the controller.</summary>
    public event Action? DataAvailable;

    /// <inheritdoc/>
    public string Name => "ps2-keyboard";

    /// <summary>True while bytes wait for the controller.</summary>
    public bool HasData => _output.Count > 0;

    /// <summary>The scan code set in use (1 or 2).</summary>
    public int ScancodeSet => _set;

    /// <summary>The LED bits last set (bit 0 Scroll Lock, bit 1 Num Lock, bit 2 Caps Lock).</summary>
    public byte Leds { get; private set; }

    /// <summary>The typematic rate/delay byte last set.</summary>
    public byte Typematic { get; private set; }

    /// <summary>Presses <paramref name="key"/> on the host. Thread-safe.</summary>
    public void KeyDown(Ps2Key key)
    {
        lock (_deviceLock)
        {
            InjectKeyData(Ps2Scancodes.Make(key, _set));
        }
    }

    /// <summary>Releases <paramref name="key"/> on the host. Thread-safe.</summary>
    public void KeyUp(Ps2Key key)
    {
        lock (_deviceLock)
        {
            InjectKeyData(Ps2Scancodes.Break(key, _set));
        }
    }

    /// <summary>Sends raw key data as if typed (e.g. a PrintScreen sequence). Thread-safe.</summary>
    public void InjectKeyData(ReadOnlySpan<byte> bytes)
    {
        lock (_deviceLock)
        {
            if (!_scanning)
            {
                return;
            }

            foreach (byte b in bytes)
            {
                if (_output.Count < BufferCapacity - 1)
                {
                    _output.Add(b);
                }
                else if (_output.Count == BufferCapacity - 1)
                {
                    _output.Add(_set == 1 ? (byte)0xFF : (byte)0x00);
                }
            }

            DataAvailable?.Invoke();
        }
    }

    /// <summary>Takes the next byte for the controller; only when <see cref="HasData"/>.</summary>
    public byte ReadByte()
    {
        byte b = _output[0];
        _output.RemoveAt(0);
        if (b != Resend)
        {
            _lastSent = b;
        }

        return b;
    }

    /// <summary>A byte the host sent to the keyboard through the controller's data port.</summary>
    public void WriteFromHost(byte value)
    {
        if (_expecting != Parameter.None && value < 0xED)
        {
            AcceptParameter(value);
        }
        else
        {
            _expecting = Parameter.None;
            Command(value);
        }

        DataAvailable?.Invoke();
    }

    /// <summary>Power-on: defaults (set 2, scanning enabled, LEDs off), nothing to send.</summary>
    public void Reset()
    {
        _output.Clear();
        SetDefaults();
        Leds = 0;
        _lastSent = 0;
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        var data = new List<byte> { (byte)_expecting, (byte)_set, _scanning ? (byte)1 : (byte)0, _lastSent, Leds, Typematic, (byte)_output.Count };
        data.AddRange(_output);
        return new DeviceState(Name, StateVersion, [.. data]);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        byte[] d = state.Data;
        if (state.Version != StateVersion || d.Length < 7 || d.Length != 7 + d[6] || d[6] > ReplyCapacity
            || d[0] > (byte)Parameter.ScancodeSet || d[1] is not (1 or 2))
        {
            throw new InvalidDataException($"{Name}: unknown or corrupt state (version {state.Version}, {d.Length} bytes)");
        }

        _expecting = (Parameter)d[0];
        _set = d[1];
        _scanning = d[2] != 0;
        _lastSent = d[3];
        Leds = d[4];
        Typematic = d[5];
        _output.Clear();
        _output.AddRange(d.AsSpan(7).ToArray());
    }

    private void Command(byte command)
    {
        switch (command)
        {
            case 0xFF:
                // Reset: ACK, defaults, then the basic assurance test result.
                _output.Clear();
                SetDefaults();
                Reply(Ack, BatPassed);
                break;
            case 0xFE:
                Reply(_lastSent);
                break;
            case 0xF6:
                _output.Clear();
                SetDefaults();
                Reply(Ack);
                break;
            case 0xF5:
                _output.Clear();
                SetDefaults();
                _scanning = false;
                Reply(Ack);
                break;
            case 0xF4:
                _output.Clear();
                _scanning = true;
                Reply(Ack);
                break;
            case 0xF3:
                _expecting = Parameter.Typematic;
                Reply(Ack);
                break;
            case 0xF2:
                // MF2 keyboard identification.
                Reply(Ack, 0xAB, 0x83);
                break;
            case 0xF0:
                _expecting = Parameter.ScancodeSet;
                Reply(Ack);
                break;
            case 0xEE:
                Reply(EchoReply);
                break;
            case 0xED:
                _expecting = Parameter.Leds;
                Reply(Ack);
                break;
            case >= 0xF7 and <= 0xFD:
                // Set 3 key-type commands: acknowledged, meaningless in sets 1 and 2.
                Reply(Ack);
                break;
            default:
                Reply(Resend);
                break;
        }
    }

    private void AcceptParameter(byte value)
    {
        Parameter expecting = _expecting;
        _expecting = Parameter.None;
        switch (expecting)
        {
            case Parameter.Leds:
                Leds = (byte)(value & 0x07);
                Reply(Ack);
                break;
            case Parameter.Typematic:
                Typematic = (byte)(value & 0x7F);
                Reply(Ack);
                break;
            default:
                if (value == 0)
                {
                    Reply(Ack, (byte)_set);
                }
                else if (value is 1 or 2)
                {
                    _set = value;
                    Reply(Ack);
                }
                else
                {
                    Reply(Resend);
                }

                break;
        }
    }

    private void SetDefaults()
    {
        _expecting = Parameter.None;
        _set = 2;
        _scanning = true;
        Typematic = DefaultTypematic;
    }

    private void Reply(params ReadOnlySpan<byte> bytes)
    {
        if (_output.Count + bytes.Length <= ReplyCapacity)
        {
            _output.AddRange(bytes);
        }
    }
}
