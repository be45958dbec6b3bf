using Emulator.Core.Cpu;
using Emulator.Core.Memory;

namespace Emulator.Machines.Loaders;

/// <summary>
/// The flat 4 GiB segments both kernel boot protocols enter with, the GDT that backs them in guest
/// memory, and the entry <see cref="CpuState"/>. Selectors are the Linux ones (Documentation/arch/x86/boot.rst,
/// "32-bit Boot Protocol": __BOOT_CS = 0x10, __BOOT_DS = 0x18); multiboot accepts any flat segments.
/// </summary>
public static class FlatSegments
{
    /// <summary>Where the GDT is written: just after the BIOS data area (400-4FF).</summary>
    public const ulong GdtAddress = 0x500;

    /// <summary>Bytes the GDT takes: four descriptors.</summary>
    public const ulong GdtSize = 4 * 8;

    /// <summary>__BOOT_CS.</summary>
    public const ushort CodeSelector = 0x10;

    /// <summary>__BOOT_DS.</summary>
    public const ushort DataSelector = 0x18;

    // Descriptor attributes in SegmentRegister layout (Intel SDM Vol. 3A 3.4.5): G=1, D/B=1, P=1,
    // S=1, type execute/read accessed (B) or read/write accessed (3).
    private const uint Code32 = 0xc09b;
    private const uint Code64 = 0xa09b; // G=1, L=1, D=0
    private const uint Data = 0xc093;

    /// <summary>Writes a GDT of four descriptors (null, null, code, data) at <see cref="GdtAddress"/>.</summary>
    public static void WriteGdt(AddressSpace memory, bool longMode)
    {
        memory.WriteUInt(new GuestPhysicalAddress(GdtAddress), 8, 0);
        memory.WriteUInt(new GuestPhysicalAddress(GdtAddress + 8), 8, 0);
        memory.WriteUInt(new GuestPhysicalAddress(GdtAddress + CodeSelector), 8, Descriptor(longMode ? Code64 : Code32));
        memory.WriteUInt(new GuestPhysicalAddress(GdtAddress + DataSelector), 8, Descriptor(Data));
    }

    /// <summary>
    /// 32-bit protected mode, paging off, interrupts off, flat segments loaded from the GDT written by
    /// <see cref="WriteGdt"/>: the state of both the multiboot (0.6.96 3.2) and the Linux 32-bit entry.
    /// </summary>
    public static CpuState ProtectedMode(uint entry)
    {
        CpuState s = CpuState.AtReset();
        s.Gpr[(int)Gpr.Rdx] = 0;
        s.Rip = entry;
        s.Rflags = 2; // IF, VM clear
        s.Cr0 = 0x11; // PE, ET; PG clear
        SetSegments(s, Code32);
        return s;
    }

    /// <summary>
    /// 64-bit mode with paging on through <paramref name="pml4"/>: CR0.PG|PE, CR4.PAE, EFER.LME|LMA
    /// (Intel SDM Vol. 3A 9.8.5), CS a 64-bit code segment (the Linux 64-bit boot protocol).
    /// </summary>
    public static CpuState LongMode(ulong entry, ulong pml4)
    {
        CpuState s = CpuState.AtReset();
        s.Gpr[(int)Gpr.Rdx] = 0;
        s.Rip = entry;
        s.Rflags = 2;
        s.Cr0 = 0x8000_0011;
        s.Cr3 = pml4;
        s.Cr4 = 0x20;
        s.Efer = 0x500;
        SetSegments(s, Code64);
        return s;
    }

    private static void SetSegments(CpuState s, uint codeAttributes)
    {
        var data = new SegmentRegister { Selector = DataSelector, Base = 0, Limit = 0xffff_ffff, Attributes = Data };
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = data;
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = CodeSelector, Base = 0, Limit = 0xffff_ffff, Attributes = codeAttributes };
        s.Gdtr = new TableRegister { Base = GdtAddress, Limit = (DataSelector + 8) - 1 };
        s.Idtr = new TableRegister { Base = 0, Limit = 0 };
    }

    // A descriptor with base 0 and limit FFFFF (4 GiB with G=1).
    private static ulong Descriptor(uint attributes) =>
        0xffffUL | (0xfUL << 48) | ((ulong)(attributes & 0xff) << 40) | ((ulong)((attributes >> 12) & 0xf) << 52);
}
