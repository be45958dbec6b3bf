using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>
/// The 16-bit (80286) TSS of Intel SDM Vol. 3A 8.7 and Figure 8-11, for task switches to and from
/// TSS descriptors of type 1 (available) and 3 (busy): link 0, SP0-SS2 2-12, IP 14, FLAGS 16,
/// AX CX DX BX SP BP SI DI 18-32, ES 34, CS 36, SS 38, DS 40, LDT 42. It holds no CR3 (a 16-bit task
/// keeps the current page directory), no FS or GS, and no I/O permission bitmap.
/// </summary>
internal sealed partial class CpuCore
{
    // The last byte of the format is offset 0x2B (the LDT selector's high byte).
    private const uint Tss16MinimumLimit = 0x2B;
    private const uint Tss16Ip = 14, Tss16Flags = 16, Tss16Gprs = 18, Tss16Es = 34, Tss16Ldt = 42;

    // The segment registers the 16-bit TSS holds, in its order, as Seg indices.
    private static ReadOnlySpan<byte> Tss16Segments => [(byte)SegIndex.Es, (byte)SegIndex.Cs, (byte)SegIndex.Ss, (byte)SegIndex.Ds];

    /// <summary>
    /// Reads a 16-bit task's state. The upper halves of EIP and EFLAGS become 0. The SDM says the
    /// upper 16 bits of the general registers are "modified and not maintained" by a 16-bit TSS
    /// (Vol. 3A 8.7); they are loaded as ones, the value processors are reported to leave there.
    /// FS and GS are not in the TSS and become null.
    /// </summary>
    private void ReadTss16(ulong tss, Span<uint> gprs, Span<ushort> selectors, out uint ip, out uint flags, out ushort ldt)
    {
        ip = (ushort)SystemRead(tss + Tss16Ip, 2);
        flags = (ushort)SystemRead(tss + Tss16Flags, 2);
        for (int i = 0; i < 8; i++)
        {
            gprs[i] = 0xffff_0000 | (ushort)SystemRead(tss + Tss16Gprs + (uint)(i * 2), 2);
        }

        selectors.Clear();
        for (int i = 0; i < Tss16Segments.Length; i++)
        {
            selectors[Tss16Segments[i]] = (ushort)SystemRead(tss + Tss16Es + (uint)(i * 2), 2);
        }

        ldt = (ushort)SystemRead(tss + Tss16Ldt, 2);
    }

    /// <summary>Saves the current task into its 16-bit TSS: the low halves of IP, FLAGS and the general registers, ES, CS, SS, DS.</summary>
    private void SaveTss16(ulong tss, ulong flags)
    {
        SystemWrite(tss + Tss16Ip, 2, (ushort)Rip);
        SystemWrite(tss + Tss16Flags, 2, (ushort)flags);
        for (int i = 0; i < 8; i++)
        {
            SystemWrite(tss + Tss16Gprs + (uint)(i * 2), 2, (ushort)R[i]);
        }

        for (int i = 0; i < Tss16Segments.Length; i++)
        {
            SystemWrite(tss + Tss16Es + (uint)(i * 2), 2, Seg[Tss16Segments[i]].Selector);
        }
    }
}
