using Emulator.Core.Memory;

namespace Emulator.Machines.Pc;

/// <summary>
/// The real-mode interrupt vector table (0-3FF) a directly booted multiboot kernel finds, as firmware
/// leaves it: no vector is left at 0000:0000, every one reaches firmware code. A kernel that returns
/// to real mode and enables interrupts (kvm-unit-tests' realmode.flat) takes the PIT's IRQ 0 through
/// INT 08h; with an empty table the CPU ran the table itself as code and nothing acknowledged the
/// interrupt at the PIC, so its ISR bit stayed set and no IRQ 0 came again. As a PC BIOS does (and
/// SeaBIOS: its default for every vector is an IRET, its hardware interrupt handlers end with an EOI):
/// <list type="bullet">
/// <item>INT 08h (IRQ 0): the BIOS timer tick. Adds one to the tick count at 40:6C (a doubleword in
/// the BIOS data area), calls the user hook INT 1Ch, then a non-specific EOI to the master 8259A.
/// Unlike a full BIOS it does not wrap the count at midnight (40:70).</item>
/// <item>INT 09h-0Fh (IRQ 1-7): a non-specific EOI to the master.</item>
/// <item>INT 70h-77h (IRQ 8-15): a non-specific EOI to the slave, then to the master whose IR2 it
/// came through (8259A data sheet, cascade mode: both chips hold the request in service).</item>
/// <item>Every other vector: IRET.</item>
/// </list>
/// The handlers sit in padding of the F segment below the RSDP, which a reset reloads from the ROM
/// before they are written again. Only interrupts are answered: there are no BIOS services
/// (INT 10h, 13h, 15h...) for a kernel that calls them.
/// </summary>
public static class BiosInterruptVectors
{
    /// <summary>Where the handlers go: F000:FD00, in the built-in ROM's padding and the E820 map's reserved F segment.</summary>
    public const ulong HandlersAddress = 0xf_fd00;

    /// <summary>The vectors of IRQ 0-7 (master) and IRQ 8-15 (slave), as <see cref="BiosInterruptSetup"/> programs the PICs.</summary>
    public const byte MasterBase = BiosInterruptSetup.MasterVectorBase, SlaveBase = BiosInterruptSetup.SlaveVectorBase;

    /// <summary>Offsets of the handlers from <see cref="HandlersAddress"/>.</summary>
    public const ushort IretOffset = 0, MasterEoiOffset = 1, SlaveEoiOffset = 8, TimerTickOffset = 0x11;

    private const ushort Segment = 0xf000;

    // 16-bit code, assembled with nasm from the listing beside each line.
    private static readonly byte[] Handlers =
    [
        0xcf,                         // +00 iret
        0x50,                         // +01 push ax
        0xb0, 0x20,                   //     mov al, 20h        ; OCW2: non-specific EOI
        0xe6, 0x20,                   //     out 20h, al        ; master
        0x58,                         //     pop ax
        0xcf,                         //     iret
        0x50,                         // +08 push ax
        0xb0, 0x20,                   //     mov al, 20h
        0xe6, 0xa0,                   //     out 0A0h, al       ; slave
        0xe6, 0x20,                   //     out 20h, al        ; master
        0x58,                         //     pop ax
        0xcf,                         //     iret
        0x1e,                         // +11 push ds
        0x50,                         //     push ax
        0x31, 0xc0,                   //     xor ax, ax
        0x8e, 0xd8,                   //     mov ds, ax
        0x83, 0x06, 0x6c, 0x04, 0x01, //     add word [046Ch], 1
        0x83, 0x16, 0x6e, 0x04, 0x00, //     adc word [046Eh], 0
        0xcd, 0x1c,                   //     int 1Ch
        0xb0, 0x20,                   //     mov al, 20h
        0xe6, 0x20,                   //     out 20h, al
        0x58,                         //     pop ax
        0x1f,                         //     pop ds
        0xcf,                         //     iret
    ];

    /// <summary>The handler offset (from F000:0000) of <paramref name="vector"/>.</summary>
    public static ushort HandlerFor(int vector)
    {
        ushort at = (ushort)(HandlersAddress - ((ulong)Segment << 4));
        return vector switch
        {
            MasterBase => (ushort)(at + TimerTickOffset),
            > MasterBase and < MasterBase + 8 => (ushort)(at + MasterEoiOffset),
            >= SlaveBase and < SlaveBase + 8 => (ushort)(at + SlaveEoiOffset),
            _ => (ushort)(at + IretOffset),
        };
    }

    /// <summary>Writes the handlers and points all 256 vectors at them.</summary>
    public static void Set(AddressSpace memory)
    {
        memory.Write(new GuestPhysicalAddress(HandlersAddress), Handlers);
        byte[] table = new byte[256 * 4];
        for (int vector = 0; vector < 256; vector++)
        {
            // A vector is offset then segment, each a little-endian word (SDM Vol. 3B, 8086 Emulation, "Interrupt and Exception Handling").
            BitConverter.TryWriteBytes(table.AsSpan(vector * 4), HandlerFor(vector));
            BitConverter.TryWriteBytes(table.AsSpan((vector * 4) + 2), Segment);
        }

        memory.Write(new GuestPhysicalAddress(0), table);
    }
}
