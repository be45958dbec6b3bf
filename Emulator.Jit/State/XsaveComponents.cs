using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;

namespace Emulator.Jit.State;

/// <summary>
/// One state component as the software CPU's XSAVE-family instructions handle it (Intel SDM Vol. 1
/// 13.5): the bytes it occupies in a standard-format XSAVE area, how it is saved, loaded and put in
/// its initial configuration, and whether the processor tracks it as in use (XINUSE, 13.6).
/// MXCSR belongs to the SSE component but follows rules of its own (saved and loaded whenever SSE
/// or AVX state is requested), which the instructions apply.
/// </summary>
internal abstract class XsaveComponent(int index)
{
    /// <summary>The component number: its bit in XCR0, XSTATE_BV and the instruction mask.</summary>
    public int Index => index;

    public ulong Bit => 1UL << index;

    /// <summary>
    /// The (offset, length) pieces of the area this component occupies for a processor whose mode
    /// has <paramref name="registers"/> vector registers (16 in 64-bit mode, else 8: XMM8-15 and
    /// YMM8-15 are neither saved nor loaded outside 64-bit mode, Vol. 1 13.5.2, 13.5.3).
    /// </summary>
    public abstract (int Offset, int Length)[] Pieces(int registers);

    /// <summary>Writes the component into <paramref name="area"/> (a whole standard-format area); <paramref name="wide"/> selects the 64-bit x87 pointer format (REX.W).</summary>
    public abstract void Save(CpuCore cpu, Span<byte> area, bool wide, int registers);

    public abstract void Load(CpuCore cpu, ReadOnlySpan<byte> area, bool wide, int registers);

    /// <summary>Puts the component in its initial configuration (Vol. 1 13.6).</summary>
    public abstract void Initialize(CpuCore cpu, int registers);

    /// <summary>XINUSE[i]: false only when the component is in its initial configuration.</summary>
    public abstract bool InUse(CpuCore cpu);
}

/// <summary>The components of the software CPU, by number; an extended one's pieces come from its row in <see cref="XsaveLayout"/>.</summary>
internal static class XsaveComponents
{
    /// <summary>Every component the model supports (<see cref="XsaveLayout.Supported"/>), in ascending order.</summary>
    public static IReadOnlyList<XsaveComponent> All { get; } = [new X87State(), new SseState(), new AvxState(), new PkruState()];

    /// <summary>
    /// x87 state: FCW, FSW, the abridged tag word, FOP, FIP/FCS, FDP/FDS (bytes 0-23) and ST0-ST7
    /// (32-159). Initial configuration: FCW 037FH, everything else 0, every register empty.
    /// </summary>
    private sealed class X87State() : XsaveComponent(0)
    {
        public override (int Offset, int Length)[] Pieces(int registers) => [(0, 24), (32, 128)];

        public override void Save(CpuCore cpu, Span<byte> area, bool wide, int registers) => cpu.StoreX87Image(area, wide);

        public override void Load(CpuCore cpu, ReadOnlySpan<byte> area, bool wide, int registers) => cpu.LoadX87Image(area, wide);

        public override void Initialize(CpuCore cpu, int registers)
        {
            cpu.ResetFpu();
            Array.Clear(cpu.FpSignificand);
            Array.Clear(cpu.FpSignExponent);
        }

        public override bool InUse(CpuCore cpu) =>
            cpu.Fcw != CpuCore.FcwDefault || cpu.FswWithTop != 0 || cpu.FpValid != 0 || cpu.Fop != 0 || cpu.Fip != 0 || cpu.Fdp != 0
            || cpu.Fcs != 0 || cpu.Fds != 0 || cpu.FpSignificand.AsSpan().ContainsAnyExcept(0UL) || cpu.FpSignExponent.AsSpan().ContainsAnyExcept((ushort)0);
    }

    /// <summary>SSE state: XMM0-XMM15 at bytes 160-415 (MXCSR, at 24, is handled by the instructions). Initial configuration: every XMM register 0.</summary>
    private sealed class SseState() : XsaveComponent(1)
    {
        public override (int Offset, int Length)[] Pieces(int registers) => [(160, 16 * registers)];

        public override void Save(CpuCore cpu, Span<byte> area, bool wide, int registers) => cpu.StoreXmmImage(area, registers);

        public override void Load(CpuCore cpu, ReadOnlySpan<byte> area, bool wide, int registers) => cpu.LoadXmmImage(area, registers);

        public override void Initialize(CpuCore cpu, int registers) => cpu.Xmm[..registers].Clear();

        public override bool InUse(CpuCore cpu) => cpu.Xmm.ContainsAnyExcept(Vector128<byte>.Zero);
    }

    /// <summary>AVX state: bits 255:128 of YMM0-YMM15, 16 bytes each (Vol. 1 13.5.3). Initial configuration: all 0.</summary>
    private sealed class AvxState() : XsaveComponent(2)
    {
        private static readonly int Offset = XsaveLayout.Find(2)!.Value.Offset;

        public override (int Offset, int Length)[] Pieces(int registers) => [(Offset, 16 * registers)];

        public override void Save(CpuCore cpu, Span<byte> area, bool wide, int registers)
        {
            for (int i = 0; i < registers; i++)
            {
                cpu.YmmHigh[i].CopyTo(area.Slice(Offset + (16 * i), 16));
            }
        }

        public override void Load(CpuCore cpu, ReadOnlySpan<byte> area, bool wide, int registers)
        {
            for (int i = 0; i < registers; i++)
            {
                cpu.YmmHigh[i] = Vector128.Create(area.Slice(Offset + (16 * i), 16));
            }
        }

        public override void Initialize(CpuCore cpu, int registers) => cpu.YmmHigh[..registers].Clear();

        public override bool InUse(CpuCore cpu) => cpu.YmmHigh.ContainsAnyExcept(Vector128<byte>.Zero);
    }

    /// <summary>
    /// PKRU state (Intel SDM Vol. 1 13.5.7): PKRU in bytes 3:0 of the 8-byte component, bytes 7:4
    /// reserved (the software CPU's XSAVE writes them as 0; XRSTOR ignores them). Initial
    /// configuration: PKRU = 0 (13.6). The XSAVE feature set manages the component when XCR0[9] is
    /// set (13.3), whatever CR4.PKE says; a load goes
    /// through <see cref="Instructions.ProtectionKeys.SetPkru"/> so that translations the old
    /// rights allowed are dropped, as after WRPKRU.
    /// </summary>
    private sealed class PkruState() : XsaveComponent(9)
    {
        private static readonly int Offset = XsaveLayout.Find(9)!.Value.Offset;

        public override (int Offset, int Length)[] Pieces(int registers) => [(Offset, 8)];

        public override void Save(CpuCore cpu, Span<byte> area, bool wide, int registers) =>
            BinaryPrimitives.WriteUInt64LittleEndian(area[Offset..], cpu.Pkru);

        public override void Load(CpuCore cpu, ReadOnlySpan<byte> area, bool wide, int registers) =>
            Instructions.ProtectionKeys.SetPkru(cpu, BinaryPrimitives.ReadUInt32LittleEndian(area[Offset..]));

        public override void Initialize(CpuCore cpu, int registers) => Instructions.ProtectionKeys.SetPkru(cpu, 0);

        public override bool InUse(CpuCore cpu) => cpu.Pkru != 0;
    }
}
