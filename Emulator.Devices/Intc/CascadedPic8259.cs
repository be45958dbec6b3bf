using Emulator.Core.Cpu;
using Emulator.Core.Devices;

namespace Emulator.Devices.Intc;

/// <summary>
/// The PC/AT pair of 8259As: the master at 0x20-0x21 drives the CPU's INTR pin, the slave at
/// 0xA0-0xA1 drives the master's IR2, so ISA IRQs 0-7 enter the master and 8-15 the slave. This
/// is the wiring, not a chip: the state lives in <see cref="Master"/> and <see cref="Slave"/>
/// (and their ELCR bits). As the CPU's <see cref="IInterruptSource"/> it performs the INTA cycle;
/// <see cref="IntrRaised"/> tells the machine when INTR rises so that a halted vCPU wakes.
/// </summary>
public sealed class CascadedPic8259 : IInterruptSource
{
    /// <summary>The master input that carries the slave.</summary>
    public const int CascadeInput = 2;

    /// <summary>Master ports.</summary>
    public const ushort MasterPort = 0x20;

    /// <summary>Slave ports.</summary>
    public const ushort SlavePort = 0xA0;

    // PIIX3 datasheet, ELCR1/ELCR2: IRQ0, 1, 2, 8 and 13 are edge-only; their bits are reserved.
    private const byte MasterLevelCapable = 0xF8;
    private const byte SlaveLevelCapable = 0xDE;

    private readonly Lock _deviceLock;
    private readonly IInterruptLine[] _lines = new IInterruptLine[16];
    private volatile bool _intr;

    /// <summary>Creates the pair; <paramref name="deviceLock"/> is taken by <see cref="Acknowledge"/>, which a vCPU calls from its own thread.</summary>
    public CascadedPic8259(Lock deviceLock)
    {
        _deviceLock = deviceLock;
        Master = new Pic8259("pic8259-master", master: true, MasterLevelCapable);
        Slave = new Pic8259("pic8259-slave", master: false, SlaveLevelCapable);
        Slave.OutputChanged += level => Master.SetInput(CascadeInput, level);
        Master.OutputChanged += OnMasterOutput;
        for (int irq = 0; irq < 16; irq++)
        {
            _lines[irq] = irq < 8 ? new Line(Master, irq) : new Line(Slave, irq - 8);
        }
    }

    /// <summary>Raised (under the device lock) each time INTR goes from low to high.</summary>
    public event Action? IntrRaised;

    /// <summary>The master chip (IRQ 0-7).</summary>
    public Pic8259 Master { get; }

    /// <summary>The slave chip (IRQ 8-15).</summary>
    public Pic8259 Slave { get; }

    /// <inheritdoc/>
    public bool HasInterrupt => _intr;

    /// <summary>The wire of ISA IRQ <paramref name="irq"/> (0-15 but 2, which carries the slave).</summary>
    public IInterruptLine Irq(int irq)
    {
        if ((uint)irq > 15 || irq == CascadeInput)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), irq, "ISA IRQs are 0-15; IRQ 2 is the cascade from the slave");
        }

        return _lines[irq];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The master resolves first; when the winning input carries the slave (ICW3), the slave supplies
    /// the vector. A request that vanished before the acknowledge yields the chip's IR7 vector with no
    /// ISR bit set (8259A datasheet, Interrupt Sequence): IRQ 7 from the master, IRQ 15 from the slave,
    /// the latter leaving the master's IR2 in service.
    /// </remarks>
    public int Acknowledge()
    {
        lock (_deviceLock)
        {
            int level = Master.Acknowledge();
            if (level < 0)
            {
                return Master.SpuriousVector;
            }

            if (level == CascadeInput && Master.IsCascadeInput(level))
            {
                int slaveLevel = Slave.Acknowledge();
                return slaveLevel < 0 ? Slave.SpuriousVector : Slave.VectorFor(slaveLevel);
            }

            return Master.VectorFor(level);
        }
    }

    private void OnMasterOutput(bool level)
    {
        _intr = level;
        if (level)
        {
            IntrRaised?.Invoke();
        }
    }

    private sealed class Line(Pic8259 chip, int input) : IInterruptLine
    {
        public void Set(bool asserted) => chip.SetInput(input, asserted);
    }
}
