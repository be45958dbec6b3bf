using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Hardware is the oracle for the SIMD instructions: every SSE to SSE4.2, AVX, AVX2, FMA and F16C
/// form (<see cref="VectorFormCatalog"/>), legacy and VEX, runs natively and on the software CPU from
/// the same random state (XMM/YMM contents with floating-point edge values, MXCSR with every
/// rounding mode and DAZ/FTZ, general registers, memory operands with random addressing, some
/// crossing a page, misaligned ones for the aligned forms) and must end in the same state: all YMM
/// registers (so the rule for bits 255:128 is checked on every form), MXCSR, flags, general
/// registers and memory. Cases that may fault (an unmasked SIMD exception, a misaligned aligned
/// operand, a gather whose registers coincide) run natively in a forked child and must raise the
/// same exception without changing any register. Both tiers: the interpreter, and the translator
/// (which runs the legacy SSE forms it knows as host instructions and calls the handler for the rest).
/// </summary>
public sealed class VectorDifferentialTests(ITestOutputHelper output)
    : HostDifferentialTests<VectorDifferentialTests>(output), IHostDifferentialSuite
{
    static IReadOnlyList<DiffForm> IHostDifferentialSuite.Forms => VectorFormCatalog.Forms;

    static int IHostDifferentialSuite.CasesPerForm => DifferentialRunner.SimdCasesPerForm;

    static string? IHostDifferentialSuite.HostLacks(Mnemonic m) => VectorFormCatalog.FeaturesOf(m).Select(HostLacks).FirstOrDefault(f => f is not null);

    [Fact]
    public void CatalogCoversEverySimdInstruction()
    {
        foreach ((Code code, string reason) in VectorFormCatalog.Excluded.OrderBy(e => e.Key))
        {
            Output.WriteLine($"not run: {code}: {reason}");
        }

        Output.WriteLine($"{VectorFormCatalog.Forms.Count} forms");
        Assert.True(VectorFormCatalog.Forms.Count > 1500, $"only {VectorFormCatalog.Forms.Count} forms");
        Assert.Contains(VectorFormCatalog.Forms, f => f.Code == Code.VEX_Vfmadd231ps_ymm_ymm_ymmm256);
        Assert.Contains(VectorFormCatalog.Forms, f => f.Code == Code.VEX_Vpgatherdd_ymm_vm32y_ymm);
        Assert.Contains(VectorFormCatalog.Forms, f => f.Code == Code.VEX_Vcvtps2ph_xmmm128_ymm_imm8);
        Assert.DoesNotContain(VectorFormCatalog.Excluded, e => e.Value == "not implemented");
    }

    /// <summary>The extension when the host lacks it (Intel SDM Vol. 2A CPUID, Tables 3-8, 3-10).</summary>
    private static string? HostLacks(CpuidFeature f) => f switch
    {
        CpuidFeature.SSE3 when !Sse3.IsSupported => "SSE3",
        CpuidFeature.SSSE3 when !Ssse3.IsSupported => "SSSE3",
        CpuidFeature.SSE4_1 when !Sse41.IsSupported => "SSE4.1",
        CpuidFeature.SSE4_2 when !Sse42.IsSupported => "SSE4.2",
        CpuidFeature.AVX when !Avx.IsSupported => "AVX",
        CpuidFeature.AVX2 when !Avx2.IsSupported => "AVX2",
        CpuidFeature.FMA when !Fma.IsSupported => "FMA",
        CpuidFeature.F16C when !HostCpu.Has(1, 2, 29) => "F16C",
        _ => null,
    };
}
