using System.Text;
using System.Text.Json;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The 80286 real-mode hardware test vectors (Conformance/80286-real, see its README.md): every
/// instruction form runs on the software CPU in real mode and must end in the state the real chip
/// reached. Where a modern x86-64 in real mode must differ from a 286, the form or the case is
/// skipped with a named reason, or (for #SS) the modern outcome is what is expected.
/// </summary>
public sealed class Conformance286Tests(ITestOutputHelper output)
{
    private const string Folder = "Conformance/80286-real";
    private const ulong RamSize = 16 << 20;
    private const int MaxBlocks = 1000;
    private const int FailuresShown = 5;

    // The 286 holds FLAGS bits 12-15 clear in real mode; later CPUs let IOPL and NT be written there.
    private const int RealModeFlagsMask = 0x0fff;

    private static readonly string[] Gprs = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
    private static readonly string[] Sregs = ["es", "cs", "ss", "ds"];

    /// <summary>
    /// Whole forms a modern x86-64 in real mode must execute differently from the 286. None today:
    /// the set holds no 0F (286 system instruction) forms and no ENTER (C8), and the undocumented
    /// and alias forms (82, C0-D3 /6, D6 SALC, F6/F7 /1) behave the same on later Intel processors.
    /// </summary>
    private static readonly Dictionary<string, string> FormSkips = [];

    /// <summary>Single cases a modern x86-64 in real mode must execute differently from the 286.</summary>
    private static readonly (string Reason, Func<string, SingleStepCase, Instruction, bool> Applies)[] CaseSkips =
    [
        ("longer than 10 bytes: #GP on the 286, legal up to 15 bytes since the 386 (Intel SDM Vol. 2A 2.3.11)",
            (_, c, _) => c.Bytes.Length - 1 > 10),
        ("LOCK on a non-lockable instruction or register destination: #UD since the 386 (Intel SDM Vol. 2A LOCK)",
            (_, c, ins) => ins.IsInvalid && Prefixes(c.Bytes).Contains(0xf0)),
        ("string instruction faulting at offset FFFFh: the 286 has already stepped SI/DI (and CX); later CPUs fault before any update (Intel SDM Vol. 3A 6.5)",
            (_, c, ins) => ins.IsStringInstruction && c.Exception?.Number == 13 && (c.Final.Regs.ContainsKey("si") || c.Final.Regs.ContainsKey("di"))),
        ("MOV to or from FS/GS (Sreg 4, 5): #UD on the 286, valid since the 386 (Intel SDM Vol. 2A MOV)",
            (form, _, ins) => form is "8C" or "8E" && (ins.Op0Register is Register.FS or Register.GS || ins.Op1Register is Register.FS or Register.GS)),
    ];

    private static readonly Lazy<JsonElement> Metadata = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, Folder, "metadata.json"))).RootElement.GetProperty("opcodes"));

    public static TheoryData<string> Forms()
    {
        var forms = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, Folder), "*.jsonl.gz").Order(StringComparer.Ordinal))
        {
            forms.Add(Path.GetFileName(path)[..^".jsonl.gz".Length]);
        }

        return forms;
    }

    [SkippableTheory]
    [MemberData(nameof(Forms))]
    public void InstructionForm(string form)
    {
        Skip.If(FormSkips.TryGetValue(form, out string? formReason), formReason);

        List<SingleStepCase> cases = SingleStepCase.Load(Path.Combine(AppContext.BaseDirectory, Folder, form + ".jsonl.gz"));
        int flagsMask = FlagsMask(form) & RealModeFlagsMask;
        var skipped = new Dictionary<string, int>();
        var failures = new List<string>();
        int passed = 0, stackFaults = 0;
        using var machine = new RealModeMachine();
        foreach (SingleStepCase c in cases)
        {
            Instruction ins = DecodeReal(c.Bytes);
            string? reason = CaseSkips.FirstOrDefault(s => s.Applies(form, c, ins)).Reason;
            if (reason is not null)
            {
                skipped[reason] = skipped.GetValueOrDefault(reason) + 1;
                continue;
            }

            // The 286 raises interrupt 13 for an access past offset FFFFh through SS too; later CPUs
            // raise #SS (Intel SDM Vol. 2A, Real-Address Mode Exceptions), so #SS is what is expected here.
            bool stackFault = c.Exception?.Number == 13 && FaultsThroughStackSegment(ins);
            if (stackFault)
            {
                stackFaults++;
            }

            string? failure = machine.Run(c, flagsMask, stackFault);
            if (failure is null)
            {
                passed++;
            }
            else
            {
                failures.Add(failure);
            }
        }

        output.WriteLine($"{form}: {passed} passed, {failures.Count} failed, {skipped.Values.Sum()} skipped of {cases.Count}");
        if (stackFaults > 0)
        {
            output.WriteLine($"  expected #SS where the 286 raised interrupt 13 (SS-relative access past FFFFh): {stackFaults}");
        }

        foreach ((string why, int count) in skipped)
        {
            output.WriteLine($"  skipped {count}: {why}");
        }

        Assert.True(failures.Count == 0, $"{form}: {failures.Count} of {cases.Count - skipped.Values.Sum()} cases failed; first ones:\n{string.Join("\n", failures.Take(FailuresShown))}");
    }

    private static IEnumerable<int> Prefixes(int[] bytes) => bytes.TakeWhile(b => b is 0x26 or 0x2e or 0x36 or 0x3e or 0xf0 or 0xf2 or 0xf3);

    // An explicit memory operand is accessed first (PUSH m, CALL m), so its segment decides; otherwise the stack does.
    private static bool FaultsThroughStackSegment(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Memory)
            {
                return ins.MemorySegment == Register.SS;
            }
        }

        return ins.IsStackInstruction;
    }

    private static Instruction DecodeReal(int[] bytes)
    {
        var decoder = Iced.Intel.Decoder.Create(16, new ByteArrayCodeReader([.. bytes.Select(b => (byte)b)]));
        decoder.Decode(out Instruction ins);
        return ins;
    }

    /// <summary>The metadata's FLAGS mask of a form ("F6.4" looks under opcode F6, ModRM reg 4); undefined flags are cleared in it.</summary>
    private static int FlagsMask(string form)
    {
        string[] parts = form.Split('.');
        JsonElement entry = Metadata.Value.GetProperty(parts[0]);
        if (parts.Length > 1)
        {
            entry = entry.GetProperty("reg").GetProperty(parts[1]);
        }

        return entry.TryGetProperty("flags-mask", out JsonElement mask) ? mask.GetInt32() : 0xffff;
    }

    /// <summary>A software CPU in real mode over 16 MiB of RAM, reused across the cases of one form.</summary>
    private sealed class RealModeMachine : IDisposable
    {
        private readonly HostMapping _ram = new(RamSize);
        private readonly MachinePlatform _platform = new(deterministicTime: true);
        private readonly CpuCore _core;
        private readonly HashSet<int> _touched = [];

        public RealModeMachine()
        {
            _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), RamSize, _ram);
            var code = new BlockCache();
            _platform.Memory.ObserveRamWrites(code.OnWrite);
            _core = new CpuCore(0, _platform.Memory, _platform.Io, code);
            code.AttachTlb(_core.Tlb);
        }

        /// <summary>Runs one case; returns null when it ended in the expected state, else a description of the differences.</summary>
        public string? Run(SingleStepCase c, int flagsMask, bool stackFault)
        {
            // Writes go through the address space so that blocks decoded from the previous case's code are dropped.
            foreach (int address in _touched)
            {
                _platform.Memory.Write(new GuestPhysicalAddress((ulong)address), [0]);
            }

            _touched.Clear();
            foreach (int[] pair in c.Initial.Ram)
            {
                WriteByte(pair[0], (byte)pair[1]);
            }

            foreach (int[] pair in c.Final.Ram)
            {
                _touched.Add(pair[0]);
            }

            // For an expected #SS, vector 12 gets the handler the vectors gave 13, and 13 is pointed
            // away from it for the run (then restored): delivering 13 instead does not reach HLT.
            Span<byte> gpVector = stackalloc byte[4];
            if (stackFault)
            {
                _platform.Memory.Read(new GuestPhysicalAddress(Vectors.GP * 4), gpVector);
                for (int b = 0; b < 4; b++)
                {
                    WriteByte((Vectors.SS * 4) + b, gpVector[b]);
                    WriteByte((Vectors.GP * 4) + b, 0);
                }
            }

            _core.LoadState(RealModeState(c.Initial.Regs));
            _core.InternalError = null;
            _core.TripleFault = false;
            for (int i = 0; i < MaxBlocks && !_core.Halted && _core.InternalError is null && !_core.TripleFault; i++)
            {
                _core.ExecuteBlock();
            }

            if (stackFault)
            {
                _platform.Memory.Write(new GuestPhysicalAddress(Vectors.GP * 4), gpVector);
            }

            return Compare(c, flagsMask);
        }

        public void Dispose()
        {
            _platform.Dispose();
            _ram.Dispose();
        }

        private static CpuState RealModeState(Dictionary<string, int> regs)
        {
            var s = new CpuState { Cr0 = 0x10, Rip = (ulong)regs["ip"], Rflags = (ulong)(regs["flags"] & RealModeFlagsMask) | 2 };
            for (int i = 0; i < Gprs.Length; i++)
            {
                s.Gpr[i] = (ulong)regs[Gprs[i]];
            }

            for (int i = 0; i < 6; i++)
            {
                s.Segments[i] = SegmentRegister.RealMode(i < Sregs.Length ? (ushort)regs[Sregs[i]] : (ushort)0, i == (int)Seg.Cs ? 0xbu : 0x3u);
            }

            s.Idtr = new TableRegister { Base = 0, Limit = 0x3ff };
            s.Gdtr = new TableRegister { Base = 0, Limit = 0xffff };
            s.Ldtr = new SegmentRegister { Limit = 0xffff, Attributes = 0x82 };
            s.Tr = new SegmentRegister { Limit = 0xffff, Attributes = 0x8b };
            return s;
        }

        private string? Compare(SingleStepCase c, int flagsMask)
        {
            var diff = new StringBuilder();
            if (_core.InternalError is { } error)
            {
                diff.Append($" internal error: {error};");
            }

            if (_core.TripleFault)
            {
                diff.Append(" triple fault;");
            }

            if (!_core.Halted)
            {
                diff.Append(" did not reach HLT;");
            }

            CpuState actual = _core.SaveState();
            foreach ((string name, int initial) in c.Initial.Regs)
            {
                int expected = c.Final.Regs.GetValueOrDefault(name, initial);
                int got = Register(actual, name);
                int mask = name == "flags" ? flagsMask : 0xffff;
                if (name == "flags")
                {
                    expected |= 2;
                }

                if ((expected & mask) != (got & mask))
                {
                    diff.Append($" {name} {expected:x4}!={got:x4}");
                }
            }

            var expectedRam = new Dictionary<int, int>();
            foreach (int[] pair in c.Initial.Ram.Concat(c.Final.Ram))
            {
                expectedRam[pair[0]] = pair[1];
            }

            // Where the exception pushed FLAGS: above the CS and IP it pushed after it (exception.flag_address
            // is off by one when SP was odd).
            int flagsImage = c.Exception is null ? -1
                : (c.Final.Regs.GetValueOrDefault("ss", c.Initial.Regs["ss"]) << 4) + ((c.Final.Regs["sp"] + 4) & 0xffff);
            foreach ((int address, int expected) in expectedRam)
            {
                int mask = c.Exception is null ? 0xff : PushedFlagsMask(address - flagsImage, flagsMask);
                int got = ReadByte(address);
                if ((expected & mask) != (got & mask))
                {
                    diff.Append($" [{address:x6}] {expected:x2}!={got:x2}");
                }
            }

            if (diff.Length == 0)
            {
                return null;
            }

            string exception = c.Exception is { } ex ? $" (expects exception {ex.Number})" : "";
            return $"  {c.Name} [{string.Join(' ', c.Bytes.Select(b => b.ToString("x2")))}]{exception}:{diff}";
        }

        // The FLAGS image an exception pushes carries the same undefined bits as the FLAGS register.
        private static int PushedFlagsMask(int byteOfImage, int flagsMask) => byteOfImage switch
        {
            0 => flagsMask & 0xff,
            1 => flagsMask >> 8,
            _ => 0xff,
        };

        private static int Register(CpuState s, string name)
        {
            int gpr = Array.IndexOf(Gprs, name);
            if (gpr >= 0)
            {
                return (ushort)s.Gpr[gpr];
            }

            int sreg = Array.IndexOf(Sregs, name);
            return sreg >= 0 ? s.Segments[sreg].Selector
                : name == "ip" ? (ushort)s.Rip
                : (ushort)s.Rflags;
        }

        private void WriteByte(int address, byte value)
        {
            _platform.Memory.Write(new GuestPhysicalAddress((ulong)address), [value]);
            _touched.Add(address);
        }

        private int ReadByte(int address)
        {
            Span<byte> b = stackalloc byte[1];
            _platform.Memory.Read(new GuestPhysicalAddress((ulong)address), b);
            return b[0];
        }
    }
}
