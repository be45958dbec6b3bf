using Emulator.Core.Devices;
using Emulator.Core.Memory;
using Emulator.Devices.Timers;
using Emulator.Kvm;

namespace Emulator.Machines.Pc;

/// <summary>
/// The HPET at 0xFED00000 (<see cref="PcConfig.Hpet"/>, on by default as on QEMU's <c>pc</c>
/// machine): the 8254's IRQ 0 and the RTC's IRQ 8 pass through it, so that its legacy
/// replacement route can take both wires; its other routes are IOAPIC inputs 16-23.
/// </summary>
public sealed partial class PcMachine
{
    private readonly List<IoApicOnlyLine> _hpetIoApicLines = [];

    /// <summary>The HPET, or null with <c>--machine hpet=off</c>.</summary>
    public Hpet? Hpet { get; private set; }

    // Returns the wires the PIT and the RTC drive.
    private (IInterruptLine Irq0, IInterruptLine Irq8) AddHpet()
    {
        if (!_config.Hpet)
        {
            return (IsaIrq(0), IsaIrq(8));
        }

        Hpet = new Hpet(Platform.Timers, IsaIrq(0), IsaIrq(8), Platform.GuestErrors);
        Platform.Memory.AddMmio("hpet", new GuestPhysicalAddress(Hpet.DefaultBase), Hpet.WindowSize, Hpet);
        _devices.Add(Hpet);
        return (Hpet.Irq0FromPit, Hpet.Irq8FromRtc);
    }

    private void ConnectHpet()
    {
        if (Hpet is null)
        {
            return;
        }

        var inputs = new IInterruptLine[IoApicOnlyLineBase + IoApicOnlyLineCount];
        Array.Fill(inputs, UnconnectedLine.Instance);
        for (int gsi = IoApicOnlyLineBase; gsi < inputs.Length; gsi++)
        {
            var line = new IoApicOnlyLine(gsi);
            line.ConnectIoApic(IoApic);
            _hpetIoApicLines.Add(line);
            inputs[gsi] = line;
        }

        Hpet.ConnectIoApic(inputs);
        Hpet.LegacyReplacementChanged += OnHpetLegacyReplacement;
    }

    private const int IoApicOnlyLineBase = 16, IoApicOnlyLineCount = 8;

    // Under the in-kernel irqchip the 8254 is KVM's, which must be told to stay quiet.
    private void OnHpetLegacyReplacement(bool on)
    {
        if (_inKernelIrqchip is { } kvm)
        {
            try
            {
                kvm.SetPitHpetLegacy(on);
            }
            catch (KvmException e)
            {
                // A device never throws at the guest: the PIT keeps interrupting, and the user hears why.
                _config.Notice?.Invoke($"--kvm-irqchip kernel: the HPET's legacy replacement route could not silence KVM's PIT: {e.Message}");
            }
        }
    }

    private void ForwardHpetLinesToKvm(KvmAccelerator kvm)
    {
        foreach (IoApicOnlyLine line in _hpetIoApicLines)
        {
            line.ForwardTo(SetInKernelIrqLine);
        }

        if (Hpet is { LegacyReplacement: true })
        {
            kvm.SetPitHpetLegacy(true);
        }
    }
}
