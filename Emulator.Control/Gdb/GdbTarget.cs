using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Cpu;

namespace Emulator.Control.Gdb;

/// <summary>
/// A target description for gdb (<c>qXfer:features:read:target.xml</c>) and the registers it lists:
/// x86-64 for a guest in IA-32e mode, i386 otherwise (chosen when gdb connects, since gdb reads it
/// once). Besides gdb's core, SSE and segment-base features it lists the control registers and EFER
/// (<c>org.emu.x86.system</c>), so <c>p $cr3</c> works.
/// </summary>
internal sealed class GdbTarget
{
    // FXSAVE image offsets (Intel SDM Vol. 1 Table 10-2, 64-bit format).
    private const int Fcw = 0, Fsw = 2, Ftw = 4, Fop = 6, Fip = 8, Fdp = 16, Mxcsr = 24, St0 = 32, Xmm0 = 160;

    private GdbTarget(string architecture, IReadOnlyList<GdbRegister> registers)
    {
        Architecture = architecture;
        Registers = registers;
        Xml = BuildXml(architecture, registers);
    }

    /// <summary>gdb's architecture name: i386:x86-64 or i386.</summary>
    public string Architecture { get; }

    /// <summary>The registers in gdb's numbering.</summary>
    public IReadOnlyList<GdbRegister> Registers { get; }

    /// <summary>The description document.</summary>
    public string Xml { get; }

    /// <summary>True for the 64-bit description.</summary>
    public bool Is64 => Architecture == "i386:x86-64";

    /// <summary>The description for a guest whose vCPU is in <paramref name="state"/>.</summary>
    public static GdbTarget For(CpuState state) => (state.Efer & (1UL << 10)) != 0 ? X86_64() : I386();

    /// <summary>The x86-64 description: 64-bit general registers, XMM0-15.</summary>
    public static GdbTarget X86_64()
    {
        var r = new List<GdbRegister>();
        foreach ((string name, Gpr gpr) in (ReadOnlySpan<(string, Gpr)>)[("rax", Gpr.Rax), ("rbx", Gpr.Rbx), ("rcx", Gpr.Rcx), ("rdx", Gpr.Rdx), ("rsi", Gpr.Rsi), ("rdi", Gpr.Rdi)])
        {
            r.Add(GdbRegister.Gpr(name, gpr, 64));
        }

        r.Add(GdbRegister.Gpr("rbp", Gpr.Rbp, 64, "data_ptr"));
        r.Add(GdbRegister.Gpr("rsp", Gpr.Rsp, 64, "data_ptr"));
        for (int i = 8; i < 16; i++)
        {
            r.Add(GdbRegister.Gpr($"r{i}", (Gpr)i, 64));
        }

        r.Add(GdbRegister.Field("rip", 64, "code_ptr", GdbFeatures.Core, s => s.Rip, (s, v) => s.Rip = v));
        AddCommon(r, xmmCount: 16, baseBits: 64);
        return new GdbTarget("i386:x86-64", r);
    }

    /// <summary>The i386 description: 32-bit general registers in gdb's i386 order, XMM0-7.</summary>
    public static GdbTarget I386()
    {
        var r = new List<GdbRegister>();
        foreach ((string name, Gpr gpr) in (ReadOnlySpan<(string, Gpr)>)[("eax", Gpr.Rax), ("ecx", Gpr.Rcx), ("edx", Gpr.Rdx), ("ebx", Gpr.Rbx), ("esp", Gpr.Rsp), ("ebp", Gpr.Rbp), ("esi", Gpr.Rsi), ("edi", Gpr.Rdi)])
        {
            r.Add(GdbRegister.Gpr(name, gpr, 32));
        }

        r.Add(GdbRegister.Field("eip", 32, "code_ptr", GdbFeatures.Core, s => s.Rip, (s, v) => s.Rip = v & 0xFFFF_FFFF));
        AddCommon(r, xmmCount: 8, baseBits: 32);
        return new GdbTarget("i386", r);
    }

    /// <summary>All registers as the <c>g</c> packet carries them.</summary>
    public byte[] ReadAll(CpuState state)
    {
        byte[] all = new byte[Registers.Sum(r => r.Bytes)];
        int at = 0;
        foreach (GdbRegister reg in Registers)
        {
            reg.Get(state, all.AsSpan(at, reg.Bytes));
            at += reg.Bytes;
        }

        return all;
    }

    /// <summary>Stores a <c>G</c> packet's registers; a shorter packet sets the leading registers only.</summary>
    public void WriteAll(CpuState state, ReadOnlySpan<byte> data)
    {
        int at = 0;
        foreach (GdbRegister reg in Registers)
        {
            if (at + reg.Bytes > data.Length)
            {
                break;
            }

            reg.Set(state, data.Slice(at, reg.Bytes));
            at += reg.Bytes;
        }
    }

    // Flags, segments, x87, SSE, segment bases and the system registers, shared by both descriptions.
    private static void AddCommon(List<GdbRegister> r, int xmmCount, int baseBits)
    {
        r.Add(GdbRegister.Field("eflags", 32, "int32", GdbFeatures.Core, s => s.Rflags, (s, v) => s.Rflags = (v & 0xFFFF_FFFF) | 2));
        foreach ((string name, Seg seg) in (ReadOnlySpan<(string, Seg)>)[("cs", Seg.Cs), ("ss", Seg.Ss), ("ds", Seg.Ds), ("es", Seg.Es), ("fs", Seg.Fs), ("gs", Seg.Gs)])
        {
            r.Add(GdbRegister.Segment(name, seg));
        }

        for (int i = 0; i < 8; i++)
        {
            r.Add(GdbRegister.Fx($"st{i}", 80, "i387_ext", GdbFeatures.Core, St0 + (16 * i)));
        }

        r.Add(Fx16("fctrl", Fcw));
        r.Add(Fx16("fstat", Fsw));
        r.Add(new GdbRegister("ftag", 32, "int", GdbFeatures.Core, (s, b) => BinaryPrimitives.WriteUInt32LittleEndian(b, FullTagWord(s.FxState)), (s, b) => s.FxState[Ftw] = AbridgedTagWord(BinaryPrimitives.ReadUInt32LittleEndian(b))));
        // The 64-bit FXSAVE image has no FCS/FDS (Vol. 1 10.5.1.1): the selectors read as 0.
        r.Add(new GdbRegister("fiseg", 32, "int", GdbFeatures.Core, (s, b) => b.Clear(), (_, _) => { }));
        r.Add(Fx32("fioff", Fip));
        r.Add(new GdbRegister("foseg", 32, "int", GdbFeatures.Core, (s, b) => b.Clear(), (_, _) => { }));
        r.Add(Fx32("fooff", Fdp));
        r.Add(Fx16("fop", Fop));
        for (int i = 0; i < xmmCount; i++)
        {
            r.Add(GdbRegister.Fx($"xmm{i}", 128, "vec128", GdbFeatures.Sse, Xmm0 + (16 * i)));
        }

        r.Add(GdbRegister.Fx("mxcsr", 32, "int", GdbFeatures.Sse, Mxcsr));
        r.Add(GdbRegister.Field("fs_base", baseBits, "int", baseBits == 32 ? GdbFeatures.System : GdbFeatures.Segments, s => s.Segments[(int)Seg.Fs].Base, (s, v) => s.Segments[(int)Seg.Fs].Base = v));
        r.Add(GdbRegister.Field("gs_base", baseBits, "int", baseBits == 32 ? GdbFeatures.System : GdbFeatures.Segments, s => s.Segments[(int)Seg.Gs].Base, (s, v) => s.Segments[(int)Seg.Gs].Base = v));
        r.Add(GdbRegister.Field("cr0", baseBits, "int", GdbFeatures.System, s => s.Cr0, (s, v) => s.Cr0 = v));
        r.Add(GdbRegister.Field("cr2", baseBits, "int", GdbFeatures.System, s => s.Cr2, (s, v) => s.Cr2 = v));
        r.Add(GdbRegister.Field("cr3", baseBits, "int", GdbFeatures.System, s => s.Cr3, (s, v) => s.Cr3 = v));
        r.Add(GdbRegister.Field("cr4", baseBits, "int", GdbFeatures.System, s => s.Cr4, (s, v) => s.Cr4 = v));
        r.Add(GdbRegister.Field("cr8", 64, "int", GdbFeatures.System, s => s.Cr8, (s, v) => s.Cr8 = v));
        r.Add(GdbRegister.Field("efer", 64, "int", GdbFeatures.System, s => s.Efer, (s, v) => s.Efer = v));
    }

    private static GdbRegister Fx16(string name, int offset) => new(
        name, 32, "int", GdbFeatures.Core,
        (s, b) => BinaryPrimitives.WriteUInt32LittleEndian(b, BinaryPrimitives.ReadUInt16LittleEndian(s.FxState.AsSpan(offset))),
        (s, b) => BinaryPrimitives.WriteUInt16LittleEndian(s.FxState.AsSpan(offset), (ushort)BinaryPrimitives.ReadUInt32LittleEndian(b)));

    private static GdbRegister Fx32(string name, int offset) => new(
        name, 32, "int", GdbFeatures.Core,
        (s, b) => s.FxState.AsSpan(offset, 4).CopyTo(b),
        (s, b) => b.CopyTo(s.FxState.AsSpan(offset, 4)));

    // FXSAVE keeps one "valid" bit per physical register; gdb wants the full 2-bit tags (Vol. 1
    // 8.1.7, 10.5.1.1): 11 empty, else classified from the contents: 00 valid, 01 zero, 10 special.
    private static uint FullTagWord(byte[] fx)
    {
        int top = (BinaryPrimitives.ReadUInt16LittleEndian(fx.AsSpan(Fsw)) >> 11) & 7;
        uint tags = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            uint tag = 3;
            if ((fx[Ftw] & (1 << physical)) != 0)
            {
                int st = (physical - top) & 7;
                ulong significand = BinaryPrimitives.ReadUInt64LittleEndian(fx.AsSpan(St0 + (16 * st)));
                int exponent = BinaryPrimitives.ReadUInt16LittleEndian(fx.AsSpan(St0 + (16 * st) + 8)) & 0x7FFF;
                tag = exponent == 0x7FFF ? 2u
                    : exponent == 0 ? (significand == 0 ? 1u : 2u)
                    : (significand >> 63) != 0 ? 0u : 2u;
            }

            tags |= tag << (2 * physical);
        }

        return tags;
    }

    private static byte AbridgedTagWord(uint full)
    {
        byte abridged = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            if (((full >> (2 * physical)) & 3) != 3)
            {
                abridged |= (byte)(1 << physical);
            }
        }

        return abridged;
    }

    private static string BuildXml(string architecture, IReadOnlyList<GdbRegister> registers)
    {
        var b = new StringBuilder();
        b.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        b.Append("  <architecture>").Append(architecture).Append("</architecture>\n");
        foreach (IGrouping<string, GdbRegister> feature in registers.GroupBy(r => r.Feature))
        {
            b.Append("  <feature name=\"").Append(feature.Key).Append("\">\n");
            if (feature.Key == GdbFeatures.Sse)
            {
                // The 128-bit view gdb's SSE registers need: the same lanes gdb's own description offers.
                b.Append("""
                        <vector id="v4f" type="ieee_single" count="4"/>
                        <vector id="v2d" type="ieee_double" count="2"/>
                        <vector id="v16i8" type="int8" count="16"/>
                        <vector id="v8i16" type="int16" count="8"/>
                        <vector id="v4i32" type="int32" count="4"/>
                        <vector id="v2i64" type="int64" count="2"/>
                        <union id="vec128">
                          <field name="v4_float" type="v4f"/>
                          <field name="v2_double" type="v2d"/>
                          <field name="v16_int8" type="v16i8"/>
                          <field name="v8_int16" type="v8i16"/>
                          <field name="v4_int32" type="v4i32"/>
                          <field name="v2_int64" type="v2i64"/>
                          <field name="uint128" type="uint128"/>
                        </union>

                    """);
            }

            foreach (GdbRegister r in feature)
            {
                b.Append("    <reg name=\"").Append(r.Name).Append("\" bitsize=\"").Append(r.Bits).Append("\" type=\"").Append(r.Type).Append("\"/>\n");
            }

            b.Append("  </feature>\n");
        }

        b.Append("</target>\n");
        return b.ToString();
    }
}
