using System.Buffers.Binary;
using Emulator.Devices.Timers;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The HPET Description Table (IA-PC HPET 1.0a 3.2.4, Table 3; signature "HPET", revision 1): how
/// an OS finds the event timer block. The Event Timer Block ID repeats bits 31:0 of the block's
/// General Capabilities and ID register (hardware revision, comparator count - 1, 64-bit counter,
/// legacy replacement capable, vendor), the base address is a Generic Address Structure in system
/// memory, and the minimum clock tick is the shortest period promised to work in periodic mode.
/// </summary>
public static class HpetTable
{
    /// <summary>Offsets of the fields after the header.</summary>
    public const int EventTimerBlockIdOffset = 36, BaseAddressOffset = 40, HpetNumberOffset = 52, MinimumTickOffset = 53, PageProtectionOffset = 55;

    /// <summary>The table's length.</summary>
    public const int Size = 56;

    /// <summary>Main Counter Minimum Clock_tick in Periodic Mode: the device's <see cref="Hpet.MinimumPeriodTicks"/>.</summary>
    public const ushort MinimumTick = Hpet.MinimumPeriodTicks;

    /// <summary>Builds the table for the block at <see cref="Hpet.DefaultBase"/>.</summary>
    public static byte[] Build()
    {
        byte[] t = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(EventTimerBlockIdOffset), unchecked((uint)Hpet.Capabilities));
        GenericAddress.WriteMemory(t.AsSpan(BaseAddressOffset), Hpet.DefaultBase, 64);
        t[HpetNumberOffset] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(MinimumTickOffset), MinimumTick);
        t[PageProtectionOffset] = 0; // no page protection guarantee, no OEM attributes
        SdtHeader.Finish(t, "HPET", 1);
        return t;
    }
}
