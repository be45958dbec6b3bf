using Emulator.Core.Memory;

namespace Emulator.Machines.Pc;

/// <summary>
/// The PC's legacy BIOS window 0xC0000-0xFFFFF, which the 440FX's PAM registers switch between the
/// firmware ROM and RAM (82441FX datasheet 3.2.18). emu keeps it RAM at all times (the RAM behind
/// it, which the memory map otherwise skips, is the guest RAM mapping's own), loaded at power-on
/// and at every reset with the top of the firmware image, which is what the window shows after
/// SeaBIOS's first act: "make_bios_writable" opens the PAMs and copies the image from its 4 GiB
/// alias into them. Deviation, accepted: the PAM registers are stored but not acted on, so the
/// window stays writable after firmware locks it, and reads show RAM where a PC with shadowing
/// disabled would show the ROM (the same bytes until firmware writes there).
/// </summary>
public static class ShadowRam
{
    /// <summary>First byte of the window (the option ROM area, then the BIOS at 0xE0000-0xFFFFF).</summary>
    public const ulong Start = 0xc_0000;

    /// <summary>Bytes in the window.</summary>
    public const ulong Size = PcMemoryMap.ExtendedStart - Start;

    /// <summary>Maps the window as RAM backed by <paramref name="ram"/> at the same offset.</summary>
    public static void Map(AddressSpace memory, HostMapping ram) =>
        memory.AddRam("bios-shadow", new GuestPhysicalAddress(Start), Size, ram, Start);

    /// <summary>Fills the window with zeros and the last up to 256 KiB of <paramref name="firmware"/>, ending at 1 MiB.</summary>
    public static void Load(AddressSpace memory, ReadOnlySpan<byte> firmware)
    {
        int n = (int)Math.Min((ulong)firmware.Length, Size);
        memory.Write(new GuestPhysicalAddress(Start), new byte[Size - (ulong)n]);
        memory.Write(new GuestPhysicalAddress(PcMemoryMap.ExtendedStart - (ulong)n), firmware[^n..]);
    }
}
