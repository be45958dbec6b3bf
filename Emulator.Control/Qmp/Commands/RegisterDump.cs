using System.Globalization;
using System.Text;
using Emulator.Core.Cpu;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// The text of the monitor's <c>info registers</c>: general registers (64-bit names when the CPU is
/// in IA-32e mode, 32-bit otherwise), flags, segment caches, descriptor tables, control and debug
/// registers, EFER. Lines end in CR LF, as monitor output does.
/// </summary>
internal static class RegisterDump
{
    private static readonly string[] Names64 = ["RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"];
    private static readonly Gpr[] Order64 = [Gpr.Rax, Gpr.Rbx, Gpr.Rcx, Gpr.Rdx, Gpr.Rsi, Gpr.Rdi, Gpr.Rbp, Gpr.Rsp, Gpr.R8, Gpr.R9, Gpr.R10, Gpr.R11, Gpr.R12, Gpr.R13, Gpr.R14, Gpr.R15];
    private static readonly string[] SegmentNames = ["ES", "CS", "SS", "DS", "FS", "GS"];

    // EFER.LMA (Intel SDM Vol. 3A 2.2.1, Table 2-1 is EFER: bit 10).
    private const ulong EferLma = 1 << 10;

    public static string Format(int index, CpuState s)
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"\r\nCPU#{index}\r\n");
        bool wide = (s.Efer & EferLma) != 0;
        int perLine = 4;
        int count = wide ? 16 : 8;
        for (int i = 0; i < count; i++)
        {
            string name = wide ? Names64[i] : "E" + Names64[i][1..];
            ulong value = s.Gpr[(int)Order64[i]];
            b.Append(name).Append('=').Append(Hex(value, wide));
            b.Append(i % perLine == perLine - 1 ? "\r\n" : " ");
        }

        int cpl = s.Segments[(int)Seg.Ss].Dpl;
        b.Append(wide ? "RIP=" : "EIP=").Append(Hex(s.Rip, wide))
            .Append(wide ? " RFL=" : " EFL=").Append(Hex(s.Rflags, wide: false))
            .Append(' ').Append(Flags(s.Rflags))
            .Append(CultureInfo.InvariantCulture, $" CPL={cpl} HLT={(s.Halted ? 1 : 0)}\r\n");
        for (int i = 0; i < 6; i++)
        {
            AppendSegment(b, SegmentNames[i].PadRight(3), s.Segments[i], wide);
        }

        AppendSegment(b, "LDT", s.Ldtr, wide);
        AppendSegment(b, "TR ", s.Tr, wide);
        b.Append("GDT=     ").Append(Hex(s.Gdtr.Base, wide)).Append(' ').Append(s.Gdtr.Limit.ToString("x8", CultureInfo.InvariantCulture)).Append("\r\n");
        b.Append("IDT=     ").Append(Hex(s.Idtr.Base, wide)).Append(' ').Append(s.Idtr.Limit.ToString("x8", CultureInfo.InvariantCulture)).Append("\r\n");
        b.Append("CR0=").Append(Hex(s.Cr0, false)).Append(" CR2=").Append(Hex(s.Cr2, wide))
            .Append(" CR3=").Append(Hex(s.Cr3, wide)).Append(" CR4=").Append(Hex(s.Cr4, false)).Append("\r\n");
        b.Append(CultureInfo.InvariantCulture, $"DR0={s.Dr0:x16} DR1={s.Dr1:x16} DR2={s.Dr2:x16} DR3={s.Dr3:x16}\r\n");
        b.Append(CultureInfo.InvariantCulture, $"DR6={s.Dr6:x16} DR7={s.Dr7:x16}\r\n");
        b.Append(CultureInfo.InvariantCulture, $"EFER={s.Efer:x16}\r\n");
        return b.ToString();
    }

    private static void AppendSegment(StringBuilder b, string name, SegmentRegister r, bool wide) =>
        b.Append(name).Append('=').Append(r.Selector.ToString("x4", CultureInfo.InvariantCulture)).Append(' ')
            .Append(Hex(r.Base, wide)).Append(' ').Append(r.Limit.ToString("x8", CultureInfo.InvariantCulture))
            .Append(' ').Append((r.Attributes << 8).ToString("x8", CultureInfo.InvariantCulture)).Append("\r\n");

    private static string Hex(ulong value, bool wide) => wide
        ? value.ToString("x16", CultureInfo.InvariantCulture)
        : ((uint)value).ToString("x8", CultureInfo.InvariantCulture);

    // The arithmetic flags as letters, a dash where clear (Intel SDM Vol. 1 3.4.3: OF DF SF ZF AF PF CF).
    private static string Flags(ulong f)
    {
        static char Bit(ulong f, int bit, char c) => (f & (1UL << bit)) != 0 ? c : '-';
        return $"[{Bit(f, 11, 'O')}{Bit(f, 10, 'D')}{Bit(f, 7, 'S')}{Bit(f, 6, 'Z')}{Bit(f, 4, 'A')}{Bit(f, 2, 'P')}{Bit(f, 0, 'C')}]";
    }
}
