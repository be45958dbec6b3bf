using Emulator.Core.Devices;
using Emulator.Core.Time;

namespace Emulator.Devices.Timers;

/// <summary>
/// One HPET timer (comparator) and its registers: Timer N Configuration and Capabilities
/// (IA-PC HPET 1.0a 2.3.8), the comparator value with the periodic accumulator (2.3.9), and the FSB
/// interrupt route, which is kept but never used (no FSB delivery). The block (<see cref="Hpet"/>)
/// owns the main counter and the interrupt status register and drives this state.
/// </summary>
internal sealed class HpetTimer
{
    // Tn_CONF bits (2.3.8).
    public const ulong IntTypeLevel = 1 << 1, IntEnable = 1 << 2, Periodic = 1 << 3, PeriodicCapable = 1 << 4,
        Size64Capable = 1 << 5, ValueSet = 1 << 6, Mode32 = 1 << 8, FsbEnable = 1 << 14, FsbCapable = 1 << 15;

    public const int RouteShift = 9;
    public const ulong RouteMask = 0x1Ful << RouteShift;

    /// <summary>What software may write: type, enable, periodic, value-set, 32-bit mode, route. FSB_EN stays 0 (FSB_INT_DEL_CAP is 0).</summary>
    public const ulong Writable = IntTypeLevel | IntEnable | Periodic | ValueSet | Mode32 | RouteMask;

    /// <summary>
    /// Tn_INT_ROUTE_CAP: IOAPIC inputs 16-23, which no ISA device drives on this PC (PCI interrupts
    /// reach the IOAPIC through the PIIX3's steering onto ISA IRQs), so a timer never shares a pin.
    /// </summary>
    public const uint RouteCapability = 0x00FF_0000;

    public HpetTimer(int index, TimerService timers, Action<HpetTimer> fire)
    {
        Index = index;
        Timer = timers.CreateTimer($"hpet-timer{index}", () => fire(this));
    }

    public int Index { get; }

    public VirtualTimer Timer { get; }

    /// <summary>The writable configuration bits.</summary>
    public ulong Config { get; set; }

    /// <summary>The comparator (the accumulator in periodic mode); 32 bits wide in 32-bit mode.</summary>
    public ulong Comparator { get; set; }

    /// <summary>The period a periodic timer adds to its comparator at each match (not readable).</summary>
    public ulong Period { get; set; }

    /// <summary>Tn_FSB_ROUTE, stored and read back.</summary>
    public ulong FsbRoute { get; set; }

    /// <summary>An edge-triggered timer's wire is held high from one interrupt to the next (see <see cref="Hpet"/>).</summary>
    public bool EdgeHigh { get; set; }

    /// <summary>Whether the armed event is a comparator match (false: the 32-bit counter's wrap of a one-shot timer).</summary>
    public bool PendingIsMatch { get; set; }

    /// <summary>The wire this timer drives now and the level it last drove there.</summary>
    public IInterruptLine? DrivenLine { get; set; }

    public bool DrivenLevel { get; set; }

    /// <summary>The register as software reads it: the configuration and the read-only capabilities.</summary>
    public ulong ConfigRegister => Config | PeriodicCapable | Size64Capable | ((ulong)RouteCapability << 32);

    public bool IsPeriodic => (Config & Periodic) != 0;

    public bool IsLevel => (Config & IntTypeLevel) != 0;

    public bool InterruptEnabled => (Config & IntEnable) != 0;

    public int Route => (int)((Config & RouteMask) >> RouteShift);

    /// <summary>The comparator's width: 32 bits in 32-bit mode (Tn_32MODE_CNF), else 64.</summary>
    public int Width => (Config & Mode32) != 0 ? 32 : 64;

    public ulong WidthMask => Width == 32 ? uint.MaxValue : ulong.MaxValue;

    public static bool CanRouteTo(int route) => ((RouteCapability >> route) & 1) != 0;

    /// <summary>Power-on: all configuration bits 0, comparator all ones, no period.</summary>
    public void Reset()
    {
        Config = 0;
        Comparator = ulong.MaxValue;
        Period = 0;
        FsbRoute = 0;
        EdgeHigh = false;
        PendingIsMatch = false;
        Timer.Cancel();
    }

    public void Save(BinaryWriter w)
    {
        w.Write(Config);
        w.Write(Comparator);
        w.Write(Period);
        w.Write(FsbRoute);
        w.Write(EdgeHigh);
    }

    public void Restore(BinaryReader r)
    {
        Config = r.ReadUInt64() & Writable;
        ulong mask = WidthMask;
        Comparator = r.ReadUInt64() & mask;
        Period = r.ReadUInt64() & mask;
        FsbRoute = r.ReadUInt64();
        EdgeHigh = r.ReadBoolean();
    }
}
