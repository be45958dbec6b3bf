using System.Globalization;
using System.Text;
using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>The outcome of running the cases of one form.</summary>
internal sealed class FormResult(DiffForm form)
{
    public DiffForm Form { get; } = form;

    public int Passed { get; set; }

    public int Failed { get; set; }

    /// <summary>Cases that faulted natively (in a forked child) and raised the same exception on the software CPU.</summary>
    public int Faulted { get; set; }

    /// <summary>Why cases could not be generated, when some could not.</summary>
    public string? Unrunnable { get; set; }

    /// <summary>Descriptions of the first failing cases.</summary>
    public List<string> Failures { get; } = [];
}

/// <summary>
/// Runs generated cases of a form on the host CPU (<see cref="NativeCpu"/>) and on the software
/// CPU (<see cref="EmulatedCpu"/>) from the same registers, flags and buffer contents, and compares
/// every general-purpose register, XMM0-XMM15, RIP (the emulated one must have advanced past the instruction
/// and the HLT after it), the arithmetic flags and DF (masking only <see cref="UndefinedFlags"/>)
/// and the whole data buffer. Where Intel and AMD processors differ and the host is not Intel (the
/// vendor the software CPU reports), <see cref="VendorDifferences"/> masks the bits that differ.
/// </summary>
internal sealed unsafe class DifferentialRunner : IDisposable
{
    /// <summary>Cases per form in the default test run; EMU_DIFF_CASES overrides it (the long mode).</summary>
    public const int DefaultCases = 256;
    private const int FailuresKept = 3;

    private readonly NativeCpu _native = new();
    private readonly HostPages _nativeData = HostPages.Low(CaseGenerator.BufferSize);
    private readonly EmulatedCpu _emulated;
    private readonly byte[] _initial = new byte[CaseGenerator.BufferSize];

    /// <param name="translate">Run the software CPU's side through the translator (each case as host code) instead of the interpreter.</param>
    public DifferentialRunner(bool translate = false) =>
        _emulated = new EmulatedCpu(_native.Page, _native.SlotAddress, _nativeData.Address, CaseGenerator.BufferSize, translate);

    /// <summary>Instructions that ran as translated host code so far.</summary>
    public long TranslatedInstructions => _emulated.TranslatedInstructions;

    public static int CasesPerForm =>
        int.TryParse(Environment.GetEnvironmentVariable("EMU_DIFF_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : DefaultCases;

    /// <summary>
    /// Cases per SIMD form in the default run: fewer than the integer forms', as there are about
    /// 1,700 of them and each case also loads and compares sixteen YMM registers; EMU_DIFF_CASES
    /// overrides it too (256 per form were run, in both tiers, when the AVX forms landed).
    /// </summary>
    public const int DefaultSimdCases = 64;

    public static int SimdCasesPerForm =>
        int.TryParse(Environment.GetEnvironmentVariable("EMU_DIFF_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : DefaultSimdCases;

    /// <summary>Added to every form's seed (EMU_DIFF_SEED), to explore other cases than the fixed default ones.</summary>
    public static int SeedOffset =>
        int.TryParse(Environment.GetEnvironmentVariable("EMU_DIFF_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 0;

    /// <summary>A seed that depends only on the form's name, so runs are reproducible.</summary>
    public static int SeedOf(DiffForm form)
    {
        uint h = 2166136261;
        foreach (char c in form.Name)
        {
            h = (h ^ c) * 16777619;
        }

        return (int)h + SeedOffset;
    }

    public FormResult Run(DiffForm form, int cases)
    {
        var result = new FormResult(form);
        int seed = SeedOf(form);
        var generator = new CaseGenerator(form, seed, _initial, _nativeData.Address, _native.SlotAddress, NativeCpu.CanSetGsBase);
        for (int n = 0; n < cases; n++)
        {
            DiffCase? c = generator.Next(out string? reason);
            if (c is null)
            {
                result.Unrunnable = reason ?? "no case could be generated";
                break;
            }

            string? failure = RunCase(c, out bool faulted);
            if (failure is null)
            {
                result.Passed++;
                result.Faulted += faulted ? 1 : 0;
                continue;
            }

            result.Failed++;
            if (result.Failures.Count < FailuresKept)
            {
                result.Failures.Add($"case {n} of seed {seed}: {failure}");
            }
        }

        return result;
    }

    public void Dispose()
    {
        _native.Dispose();
        _nativeData.Dispose();
        _emulated.Dispose();
    }

    private string? RunCase(DiffCase c, out bool faulted)
    {
        RegisterImage initial = default;
        for (int i = 0; i < 16; i++)
        {
            initial.Gpr[i] = c.Gpr[i];
        }

        initial.Rflags = c.Rflags;
        for (int i = 0; i < 32; i++)
        {
            initial.Xmm[i] = c.Xmm[i];
            initial.YmmHigh[i] = c.YmmHigh[i];
        }

        initial.GsBase = c.GsBase;
        initial.Mxcsr = c.Mxcsr;

        _initial.CopyTo(_nativeData.Span);
        _initial.CopyTo(_emulated.DataBuffer);

        RegisterImage native = initial;
        faulted = false;
        if (c.MayFault)
        {
            int signal = _native.RunInChild(c.Bytes, ref native);
            if (signal != 0)
            {
                faulted = true;
                return CompareFault(c, initial, signal);
            }
        }
        else
        {
            _native.Run(c.Bytes, ref native);
        }

        EmulatedOutcome outcome = _emulated.Run(c.Bytes, initial, out RegisterImage emulated);

        var diff = new StringBuilder();
        if (outcome.InternalError is { } error)
        {
            diff.Append(CultureInfo.InvariantCulture, $" software CPU stopped: {error};");
        }
        else if (outcome.TripleFault)
        {
            diff.Append(" software CPU raised an exception (triple fault);");
        }
        else if (!outcome.Halted)
        {
            diff.Append(" software CPU did not reach the HLT;");
        }
        else if (outcome.Rip != _emulated.CodeAddress + (ulong)c.Bytes.Length + 1)
        {
            diff.Append(CultureInfo.InvariantCulture, $" rip advanced by {outcome.Rip - _emulated.CodeAddress - 1}, not {c.Bytes.Length};");
        }

        for (int i = 0; i < 16; i++)
        {
            (ulong bits, string? reason) = VendorDifferences.RegisterMask(c.Instruction, c.Gpr, i);
            if (((native.Gpr[i] ^ emulated.Gpr[i]) & bits) != 0)
            {
                string masked = reason is null ? "" : $" (compared {bits:x}: {reason})";
                diff.Append(CultureInfo.InvariantCulture, $" {RegisterModel.Name(i)} native {native.Gpr[i]:x} emulated {emulated.Gpr[i]:x}{masked};");
            }
        }

        for (int i = 0; i < 16; i++)
        {
            if (!VendorDifferences.VectorHalvesAgree(c.Instruction, native.Xmm[2 * i], emulated.Xmm[2 * i])
                || !VendorDifferences.VectorHalvesAgree(c.Instruction, native.Xmm[(2 * i) + 1], emulated.Xmm[(2 * i) + 1]))
            {
                diff.Append(CultureInfo.InvariantCulture, $" xmm{i} native {native.Xmm[(2 * i) + 1]:x16}{native.Xmm[2 * i]:x16} emulated {emulated.Xmm[(2 * i) + 1]:x16}{emulated.Xmm[2 * i]:x16};");
            }

            // Bits 255:128 exist natively only on a host with AVX.
            if (NativeCpu.HasAvx && (!VendorDifferences.VectorHalvesAgree(c.Instruction, native.YmmHigh[2 * i], emulated.YmmHigh[2 * i])
                || !VendorDifferences.VectorHalvesAgree(c.Instruction, native.YmmHigh[(2 * i) + 1], emulated.YmmHigh[(2 * i) + 1])))
            {
                diff.Append(CultureInfo.InvariantCulture, $" ymm{i}[255:128] native {native.YmmHigh[(2 * i) + 1]:x16}{native.YmmHigh[2 * i]:x16} emulated {emulated.YmmHigh[(2 * i) + 1]:x16}{emulated.YmmHigh[2 * i]:x16};");
            }
        }

        if (native.Mxcsr != emulated.Mxcsr)
        {
            diff.Append(CultureInfo.InvariantCulture, $" mxcsr native {native.Mxcsr:x4} emulated {emulated.Mxcsr:x4};");
        }

        uint compared = (CaseGenerator.ArithmeticFlags | CaseGenerator.DirectionFlag) & ~UndefinedFlags.For(c.Instruction, c.Gpr);
        uint nativeFlags = (uint)native.Rflags & compared, emulatedFlags = (uint)emulated.Rflags & compared;
        if (nativeFlags != emulatedFlags)
        {
            diff.Append(CultureInfo.InvariantCulture, $" flags native {FlagNames(nativeFlags)} emulated {FlagNames(emulatedFlags)} (compared {FlagNames(compared)});");
        }

        ReadOnlySpan<byte> nativeData = _nativeData.Span, emulatedData = _emulated.DataBuffer;
        int first = nativeData.CommonPrefixLength(emulatedData);
        if (first < nativeData.Length)
        {
            int last = nativeData.Length - 1;
            while (nativeData[last] == emulatedData[last])
            {
                last--;
            }

            diff.Append(CultureInfo.InvariantCulture, $" memory differs at buffer+{first:x}..+{last:x}: native {Hex(nativeData[first..Math.Min(last + 1, first + 16)])} emulated {Hex(emulatedData[first..Math.Min(last + 1, first + 16)])};");
        }

        return diff.Length == 0 ? null : $"{c.Instruction} [{Hex(c.Bytes)}]:{diff}\n    from {Describe(c)}";
    }

    // The signal Linux sends for each exception an unprivileged instruction can raise here.
    private static int? VectorOfSignal(int signal, bool simd) => signal switch
    {
        8 when simd => 19, // SIGFPE: #XM
        8 => 0,   // SIGFPE: #DE
        4 => 6,   // SIGILL: #UD
        11 => 13, // SIGSEGV: #GP (the buffer is mapped, so never #PF)
        7 => 17,  // SIGBUS: #AC
        _ => null,
    };

    // A natively faulting case must raise the same exception on the software CPU, and leave the
    // registers, flags and memory as they were (Intel SDM Vol. 3A 6.5: faults are reported with
    // the state before the instruction).
    private string? CompareFault(DiffCase c, in RegisterImage initial, int signal)
    {
        int? vector = _emulated.RunToFault(c.Bytes, initial, out RegisterImage emulated);
        var diff = new StringBuilder();
        if (vector != VectorOfSignal(signal, c.Simd))
        {
            diff.Append(CultureInfo.InvariantCulture, $" native fault signal {signal} (vector {VectorOfSignal(signal, c.Simd)}), emulated {(vector is { } v ? $"vector {v}" : "no fault")};");
        }

        for (int i = 0; i < 16; i++)
        {
            if (initial.Gpr[i] != emulated.Gpr[i])
            {
                diff.Append(CultureInfo.InvariantCulture, $" {RegisterModel.Name(i)} changed to {emulated.Gpr[i]:x} by a faulting instruction;");
            }
        }

        if (((initial.Rflags ^ emulated.Rflags) & (CaseGenerator.ArithmeticFlags | CaseGenerator.DirectionFlag)) != 0)
        {
            diff.Append(CultureInfo.InvariantCulture, $" flags changed to {FlagNames((uint)emulated.Rflags)} by a faulting instruction;");
        }

        // The destination of a faulting SIMD instruction is unchanged (#XM: Intel SDM Vol. 1 11.5.3; MXCSR does record the flags).
        for (int i = 0; i < 32; i++)
        {
            if (initial.Xmm[i] != emulated.Xmm[i] || initial.YmmHigh[i] != emulated.YmmHigh[i])
            {
                diff.Append(CultureInfo.InvariantCulture, $" ymm{i / 2} changed by a faulting instruction;");
                break;
            }
        }

        if (!_initial.AsSpan().SequenceEqual(_emulated.DataBuffer))
        {
            diff.Append(" memory changed by a faulting instruction;");
        }

        return diff.Length == 0 ? null : $"{c.Instruction} [{Hex(c.Bytes)}]:{diff}\n    from {Describe(c)}";
    }

    private string Describe(DiffCase c)
    {
        var s = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            if (i != RegisterModel.Rsp)
            {
                s.Append(CultureInfo.InvariantCulture, $"{RegisterModel.Name(i)}={c.Gpr[i]:x} ");
            }
        }

        s.Append(CultureInfo.InvariantCulture, $"flags={FlagNames((uint)c.Rflags & (CaseGenerator.ArithmeticFlags | CaseGenerator.DirectionFlag))} gsbase={c.GsBase:x} buffer={_nativeData.Address:x}");
        if (c.Simd)
        {
            s.Append(CultureInfo.InvariantCulture, $" mxcsr={c.Mxcsr:x4}");
            foreach (int r in VectorRegistersOf(c.Instruction))
            {
                s.Append(CultureInfo.InvariantCulture, $" ymm{r}={c.YmmHigh[(2 * r) + 1]:x16}{c.YmmHigh[2 * r]:x16}_{c.Xmm[(2 * r) + 1]:x16}{c.Xmm[2 * r]:x16}");
            }
        }
        return s.ToString();
    }

    // The vector registers an instruction names (operands and a VSIB index), and XMM0 for the legacy variable blends.
    private static IEnumerable<int> VectorRegistersOf(in Iced.Intel.Instruction ins)
    {
        var numbers = new SortedSet<int>();
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == Iced.Intel.OpKind.Register && ins.GetOpRegister(i).IsVectorRegister())
            {
                numbers.Add(ins.GetOpRegister(i).GetNumber());
            }
        }

        if (ins.MemoryIndex.IsVectorRegister())
        {
            numbers.Add(ins.MemoryIndex.GetNumber());
        }

        if (ins.Mnemonic is Iced.Intel.Mnemonic.Pblendvb or Iced.Intel.Mnemonic.Blendvps or Iced.Intel.Mnemonic.Blendvpd)
        {
            numbers.Add(0);
        }

        return numbers;
    }

    private static string FlagNames(uint f)
    {
        var names = new List<string>();
        foreach ((uint bit, string name) in new[] { (1u, "CF"), (4u, "PF"), (0x10u, "AF"), (0x40u, "ZF"), (0x80u, "SF"), (0x400u, "DF"), (0x800u, "OF") })
        {
            if ((f & bit) != 0)
            {
                names.Add(name);
            }
        }

        return names.Count == 0 ? "-" : string.Join('|', names);
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
