using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Random bytes run as code (the way a fuzzer feeds firmware) may fault, reset or hang the guest,
/// but must never stop the software CPU with an internal error (exit status 4: a code it does not
/// classify) nor throw a .NET exception out of it. Seeded and reproducible; each seed fills the low
/// 1 MiB with random bytes and starts in real mode (its IVT random too), 32-bit protected mode or
/// 64-bit mode (with a valid GDT, and an IDT whose gates all lead to more random code, so every
/// exception starts another random run), until the guest halts, triple-faults or a block budget
/// runs out. EMU_RANDOM_CODE_SEEDS sets the number of seeds per mode (default 24).
/// </summary>
public sealed class RandomCodeTests(ITestOutputHelper output)
{
    private const int BlockBudget = 20_000;

    public static TheoryData<string> Modes() => ["real", "protected32", "long64"];

    [Theory]
    [MemberData(nameof(Modes))]
    public void RandomBytesNeverStopTheCpu(string mode)
    {
        int seeds = int.TryParse(Environment.GetEnvironmentVariable("EMU_RANDOM_CODE_SEEDS"), out int n) && n > 0 ? n : 24;
        var stops = new List<string>();
        long blocks = 0;
        int halted = 0, tripleFaults = 0;
        using var m = new LongModeMachine();
        byte[] image = new byte[1 << 20];
        for (int seed = 1; seed <= seeds; seed++)
        {
            new Random(seed).NextBytes(image);
            if (mode != "real")
            {
                WriteTables(image, mode == "long64", seed);
            }

            m.Write(0, image);
            m.Core.LoadState(InitialState(mode, seed));
            m.Core.UpdateMode();
            m.Core.InternalError = null;
            m.Core.TripleFault = false;
            int b = 0;
            for (; b < BlockBudget && !m.Core.Halted && !m.Core.TripleFault && m.Core.InternalError is null; b++)
            {
                m.Core.ExecuteBlock();
            }

            blocks += b;
            halted += m.Core.Halted ? 1 : 0;
            tripleFaults += m.Core.TripleFault ? 1 : 0;
            if (m.Core.InternalError is { } error)
            {
                stops.Add($"seed {seed}: {error} at {m.Core.Rip:x}");
            }
        }

        output.WriteLine($"{mode}: {seeds} seeds, {blocks} blocks, {halted} halted, {tripleFaults} triple faults, {stops.Count} internal errors");
        Assert.True(stops.Count == 0, string.Join("\n", stops));
    }

    private const int GdtBase = 0x800, IdtBase = 0x1000;

    // GDT: null, 0x08 code (64-bit when long), 0x10 data; IDT: 256 present ring-0 interrupt gates
    // (Intel SDM Vol. 3A 6.11, 6.14.1) to random addresses from 64 KiB to 960 KiB.
    private static void WriteTables(byte[] image, bool long64, int seed)
    {
        var random = new Random(seed * 7919);
        BitConverter.TryWriteBytes(image.AsSpan(GdtBase), 0UL);
        BitConverter.TryWriteBytes(image.AsSpan(GdtBase + 8), long64 ? 0x00af_9a00_0000_ffffUL : 0x00cf_9a00_0000_ffffUL);
        BitConverter.TryWriteBytes(image.AsSpan(GdtBase + 16), 0x00cf_9200_0000_ffffUL);
        int gate = long64 ? 16 : 8;
        for (int v = 0; v < 256; v++)
        {
            uint target = (uint)random.Next(0x1_0000, 0xf_0000);
            Span<byte> g = image.AsSpan(IdtBase + (v * gate), gate);
            g.Clear();
            BitConverter.TryWriteBytes(g, (ushort)target);
            BitConverter.TryWriteBytes(g[2..], (ushort)0x08);
            g[5] = 0x8e;
            BitConverter.TryWriteBytes(g[6..], (ushort)(target >> 16));
        }
    }

    private static CpuState InitialState(string mode, int seed)
    {
        ulong rip = (ulong)new Random(-seed).Next(0x1000, 0xf000);
        switch (mode)
        {
            case "real":
            {
                CpuState s = CpuState.AtReset();
                s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
                s.Rip = rip;
                s.Gpr[(int)Gpr.Rsp] = 0x7000;
                return s;
            }

            case "protected32":
            {
                CpuState s = LongModeMachine.InitialState();
                s.Efer = 0;
                s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Limit = 0xffff_ffff, Attributes = 0xc09b };
                s.Gdtr = new TableRegister { Base = GdtBase, Limit = 0x17 };
                s.Idtr = new TableRegister { Base = IdtBase, Limit = (256 * 8) - 1 };
                s.Rip = rip;
                return s;
            }

            default:
            {
                CpuState s = LongModeMachine.InitialState();
                s.Gdtr = new TableRegister { Base = GdtBase, Limit = 0x17 };
                s.Idtr = new TableRegister { Base = IdtBase, Limit = (256 * 16) - 1 };
                s.Rip = rip;
                return s;
            }
        }
    }
}
