using Emulator.Jit.Execution;
using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// The SIMD instruction forms of the differential harness, from Iced's encoding tables: every
/// encoding valid in 64-bit mode of the SSE to SSE4.2, AVX, AVX2, FMA and F16C instructions that the
/// software CPU implements, legacy and VEX, with a register and a memory variant of each r/m
/// operand. Encodings it leaves out are listed with the reason.
/// </summary>
internal static class VectorFormCatalog
{
    /// <summary>The extensions whose instructions are covered; a form needs only these.</summary>
    private static readonly HashSet<CpuidFeature> Extensions =
    [
        CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.SSE3, CpuidFeature.SSSE3, CpuidFeature.SSE4_1, CpuidFeature.SSE4_2,
        CpuidFeature.AVX, CpuidFeature.AVX2, CpuidFeature.FMA, CpuidFeature.F16C,
    ];

    // Not run natively here, each for its reason.
    private static readonly Dictionary<Mnemonic, string> NotRun = new()
    {
        [Mnemonic.Crc32] = "a general-register instruction (the integer harness's domain)",
        [Mnemonic.Maskmovdqu] = "stores through the implicit DS:RDI",
        [Mnemonic.Vmaskmovdqu] = "stores through the implicit DS:RDI",
        [Mnemonic.Lfence] = "no architectural result",
        [Mnemonic.Sfence] = "no architectural result",
        [Mnemonic.Mfence] = "no architectural result",
        [Mnemonic.Clflush] = "no architectural result",
        [Mnemonic.Prefetchnta] = "no architectural result",
        [Mnemonic.Prefetcht0] = "no architectural result",
        [Mnemonic.Prefetcht1] = "no architectural result",
        [Mnemonic.Prefetcht2] = "no architectural result",
        [Mnemonic.Movnti] = "a general-register store (the integer harness's domain)",
    };

    private static readonly Lazy<(List<DiffForm> Forms, Dictionary<Code, string> Excluded)> Built = new(Build);

    public static IReadOnlyList<DiffForm> Forms => Built.Value.Forms;

    public static IReadOnlyDictionary<Code, string> Excluded => Built.Value.Excluded;

    /// <summary>The CPUID features <paramref name="m"/>'s forms need (AVX, FMA...), for skipping on a host without them.</summary>
    public static IEnumerable<CpuidFeature> FeaturesOf(Mnemonic m) => Forms.Where(f => f.Mnemonic == m).SelectMany(f => f.Code.CpuidFeatures()).Distinct();

    private static (List<DiffForm>, Dictionary<Code, string>) Build()
    {
        var forms = new List<DiffForm>();
        var excluded = new Dictionary<Code, string>();
        foreach (Code code in Enum.GetValues<Code>())
        {
            OpCodeInfo info = code.ToOpCode();
            CpuidFeature[] features = code.CpuidFeatures();
            if (!info.IsInstruction || code == Code.INVALID || features.Length == 0 || !features.All(Extensions.Contains))
            {
                continue;
            }

            OperandShape[] shapes = [.. Enumerable.Range(0, info.OpCount).Select(i => FormCatalog.Shape(info.GetOpKind(i)))];
            string? reason = !info.Mode64 ? "not valid in 64-bit mode"
                : info.DecoderOption != DecoderOptions.None ? $"decoded only with {info.DecoderOption}"
                : !HandlerTable.IsImplemented(code) ? "not implemented"
                : NotRun.TryGetValue(code.Mnemonic(), out string? why) ? why
                : Array.FindIndex(shapes, s => s.Role == OperandRole.Unsupported) is int u and >= 0 ? $"operand {info.GetOpKind(u)} (MMX registers and x87 state are not in the register image)"
                : null;
            if (reason is not null)
            {
                excluded[code] = reason;
                continue;
            }

            bool hasRm = shapes.Any(s => s.Role is OperandRole.RegisterOrMemory or OperandRole.VectorOrMemory);
            bool hasMemory = shapes.Any(s => s.Role is OperandRole.Memory or OperandRole.Vsib);
            if (hasRm)
            {
                forms.Add(new DiffForm(code, Memory: false, HasRm: true, Simd: true));
                forms.Add(new DiffForm(code, Memory: true, HasRm: true, Simd: true));
            }
            else
            {
                forms.Add(new DiffForm(code, hasMemory, HasRm: false, Simd: true));
            }
        }

        return (forms, excluded);
    }
}
