using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Devices.Pci;

namespace Emulator.Devices.Chipset;

/// <summary>
/// The PCI-to-ISA bridge function of the Intel 82371SB PIIX3 (8086:7000, class 06.01.00, a
/// multi-function device) at 01.0, with its PCI interrupt steering. Each PCI INTx# pin is wired
/// to one of four PIRQ lines, and the PIRQ Route Control registers PIRQRC[A:D] at 0x60-0x63
/// (PIIX3 datasheet §2.2.13) steer PIRQ A-D to an ISA IRQ: bits 3:0 the IRQ, bit 7 set disables
/// the routing (the reset value 0x80). IRQs 0-2, 8 and 13 are reserved and act as disabled.
/// PCI interrupts are level-triggered and shareable (PCI 3.0 §2.2.6): a PIRQ is asserted while any
/// pin wired to it is, and an ISA IRQ while any PIRQ routed to it is.
/// <para>
/// Wiring: INTx# pin <c>p</c> (1 = INTA#) of slot <c>s</c> drives PIRQ <c>(s + p - 2) mod 4</c>, the
/// rotation QEMU's PC uses (its <c>pci_slot_get_pirq</c>), so a DSDT _PRT modelled on QEMU's matches.
/// The ISA IRQ sinks are the machine's (the 8259 and IOAPIC inputs of the same number).
/// </para>
/// </summary>
public sealed class Piix3 : PciFunction
{
    /// <summary>82371SB PCI-to-ISA bridge device ID.</summary>
    public const ushort Piix3DeviceId = 0x7000;

    /// <summary>Offset of PIRQRC[A].</summary>
    public const int PirqRouteControl = 0x60;

    private const byte RoutingDisabled = 0x80;
    private const int StateVersionPiix3 = 1;

    private readonly IReadOnlyList<IInterruptLine> _isaIrqs;
    private readonly HashSet<(int Slot, int Pin)> _assertedPins = [];
    private readonly bool[] _isaLevels = new bool[16];
    private readonly GuestErrorLog _errors;

    /// <summary>Creates the bridge; <paramref name="isaIrqs"/> are the 16 ISA IRQ inputs PIRQs can be steered to; PIRQs steered to reserved IRQs are reported to <paramref name="errors"/>.</summary>
    public Piix3(IReadOnlyList<IInterruptLine> isaIrqs, GuestErrorLog? errors = null)
        : base("piix3", I440fx.IntelVendorId, Piix3DeviceId, revision: 0x00, classCode: 0x06_01_00, headerType: 0x80)
    {
        _errors = errors ?? new GuestErrorLog();
        if (isaIrqs.Count != 16)
        {
            throw new ArgumentException("the PIIX3 steers PIRQs to 16 ISA IRQ lines", nameof(isaIrqs));
        }

        _isaIrqs = isaIrqs;
        SetWritable(PirqRouteControl, 0x8f8f_8f8f, 4);
        Reset();
    }

    /// <summary>The ISA IRQs <see cref="ProgramDefaultRouting"/> steers PIRQ A-D to (the ACPI _PRT names the same).</summary>
    public static readonly IReadOnlyList<int> DefaultIrqs = [10, 10, 11, 11];

    /// <summary>The PIRQ (0 = A ... 3 = D) that INTx# <paramref name="pin"/> (1-4) of <paramref name="slot"/> drives.</summary>
    public static int PirqOf(int slot, int pin) => (slot + pin - 2) & 3;

    /// <summary>The wire for INTx# <paramref name="pin"/> of <paramref name="slot"/>; give this to <see cref="PciBus.IntxRouter"/>.</summary>
    public IInterruptLine IntxLine(int slot, int pin) => new PinLine(this, slot, pin);

    /// <summary>The ISA IRQ PIRQ <paramref name="pirq"/> is steered to, or null when its routing is disabled.</summary>
    public int? RoutedIrq(int pirq)
    {
        byte r = Config[PirqRouteControl + pirq];
        int irq = r & 0x0f;
        return (r & RoutingDisabled) != 0 || irq is 0 or 1 or 2 or 8 or 13 ? null : irq;
    }

    /// <summary>
    /// Programs PIRQ A-D to IRQ 10, 10, 11, 11 and writes each function's Interrupt Line register,
    /// as SeaBIOS does on QEMU's PC; emu does it itself when it boots a kernel without firmware.
    /// </summary>
    public void ProgramDefaultRouting()
    {
        WriteConfig(PirqRouteControl, 4, (uint)(DefaultIrqs[0] | (DefaultIrqs[1] << 8) | (DefaultIrqs[2] << 16) | (DefaultIrqs[3] << 24)));
        if (Bus is null)
        {
            return;
        }

        foreach (PciFunction f in Bus.Functions)
        {
            if (f.InterruptPin != 0 && RoutedIrq(PirqOf(f.Slot, f.InterruptPin)) is int irq)
            {
                f.WriteConfig(InterruptLineOffset, 1, (uint)irq);
            }
        }
    }

    /// <inheritdoc/>
    public override void WriteConfig(int offset, int size, uint value)
    {
        base.WriteConfig(offset, size, value);
        if (offset < PirqRouteControl + 4 && offset + size > PirqRouteControl)
        {
            for (int pirq = 0; pirq < 4; pirq++)
            {
                byte r = Config[PirqRouteControl + pirq];
                bool written = offset <= PirqRouteControl + pirq && offset + size > PirqRouteControl + pirq;
                if (written && (r & RoutingDisabled) == 0 && RoutedIrq(pirq) is null)
                {
                    _errors.Report(Name, $"PIRQ{(char)('A' + pirq)} routed to IRQ {r & 0x0f}, which the PIIX3 reserves: not routed");
                }
            }

            UpdateIsaLevels();
        }
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        for (int i = 0; i < 4; i++)
        {
            Config[PirqRouteControl + i] = RoutingDisabled;
        }

        // Pins are driven by the other functions, which reset themselves; what they assert stays valid.
        UpdateIsaLevels();
    }

    /// <inheritdoc/>
    protected override int StateVersion => StateVersionPiix3;

    /// <inheritdoc/>
    protected override void RestoreState(BinaryReader reader) => UpdateIsaLevels();

    private void SetPin(int slot, int pin, bool asserted)
    {
        bool changed = asserted ? _assertedPins.Add((slot, pin)) : _assertedPins.Remove((slot, pin));
        if (changed)
        {
            UpdateIsaLevels();
        }
    }

    private void UpdateIsaLevels()
    {
        Span<bool> levels = stackalloc bool[16];
        foreach ((int slot, int pin) in _assertedPins)
        {
            if (RoutedIrq(PirqOf(slot, pin)) is int irq)
            {
                levels[irq] = true;
            }
        }

        for (int irq = 0; irq < 16; irq++)
        {
            if (levels[irq] != _isaLevels[irq])
            {
                _isaLevels[irq] = levels[irq];
                _isaIrqs[irq].Set(levels[irq]);
            }
        }
    }

    private sealed class PinLine(Piix3 bridge, int slot, int pin) : IInterruptLine
    {
        public void Set(bool asserted) => bridge.SetPin(slot, pin, asserted);
    }
}
