namespace Emulator.Core.Machine;

/// <summary>
/// The A20M# signal of a PC: address line 20 is passed to memory while any of its sources enables it
/// (the i8042 output port bit 1 and port 0x92 bit 1 are ORed on the board; SMSC FDC37B72x
/// datasheet, Port 92 Register, nA20M truth table). A backend that honours it masks bit 20 of every
/// physical address while <see cref="Enabled"/> is false.
/// </summary>
public sealed class A20Gate
{
    private readonly Lock _lock = new();
    private readonly List<Input> _inputs = [];
    private volatile bool _enabled = true;

    /// <summary>Raised with the new value whenever <see cref="Enabled"/> changes; runs on the thread that drove the input.</summary>
    public event Action<bool>? Changed;

    /// <summary>True while address line 20 reaches memory. With no inputs the line is enabled.</summary>
    public bool Enabled => _enabled;

    /// <summary>Creates one source of the gate, initially driving it enabled (the state of every PC source at power-on but port 0x92's).</summary>
    public Input CreateInput(string name)
    {
        var input = new Input(this, name);
        lock (_lock)
        {
            _inputs.Add(input);
        }

        Recompute();
        return input;
    }

    private void Recompute()
    {
        bool enabled;
        lock (_lock)
        {
            enabled = _inputs.Count == 0 || _inputs.Exists(i => i.Level);
            if (enabled == _enabled)
            {
                return;
            }

            _enabled = enabled;
        }

        Changed?.Invoke(enabled);
    }

    /// <summary>One source of the gate (a device's A20 output pin).</summary>
    public sealed class Input
    {
        private readonly A20Gate _gate;

        internal Input(A20Gate gate, string name)
        {
            _gate = gate;
            Name = name;
        }

        /// <summary>The source, for diagnostics.</summary>
        public string Name { get; }

        /// <summary>The level this source drives: true enables A20.</summary>
        public bool Level { get; private set; } = true;

        /// <summary>Drives this source.</summary>
        public void Set(bool enabled)
        {
            Level = enabled;
            _gate.Recompute();
        }
    }
}
