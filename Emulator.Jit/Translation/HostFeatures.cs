using System.Runtime.Intrinsics.X86;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// Whether the host can run an instruction the translator would keep as a host instruction: the
/// extensions the guest's CPU model offers that a host may lack are checked (SSE3 to AVX2, BMI1,
/// BMI2, LZCNT, POPCNT, MOVBE); the base instruction set always is there. The check is not
/// optional: a host without BMI1 runs TZCNT as BSF (an F3 prefix it ignores).
/// </summary>
internal static class HostFeatures
{
    // CPUID.01H:ECX.MOVBE[bit 22] of the host (Intel SDM Vol. 2A, Table 3-10); .NET has no flag for it.
    private static readonly bool Movbe = (X86Base.CpuId(1, 0).Ecx & (1 << 22)) != 0;

    /// <summary>True when the host has every extension <paramref name="code"/> needs.</summary>
    public static bool Has(Code code)
    {
        foreach (CpuidFeature f in code.CpuidFeatures())
        {
            bool has = f switch
            {
                CpuidFeature.SSE3 => Sse3.IsSupported,
                CpuidFeature.SSSE3 => Ssse3.IsSupported,
                CpuidFeature.SSE4_1 => Sse41.IsSupported,
                CpuidFeature.SSE4_2 => Sse42.IsSupported,
                CpuidFeature.AVX => Avx.IsSupported,
                CpuidFeature.AVX2 => Avx2.IsSupported,
                CpuidFeature.BMI1 => Bmi1.IsSupported,
                CpuidFeature.BMI2 => Bmi2.IsSupported,
                CpuidFeature.LZCNT => Lzcnt.IsSupported,
                CpuidFeature.POPCNT => Popcnt.IsSupported,
                CpuidFeature.MOVBE => Movbe,
                _ => true,
            };
            if (!has)
            {
                return false;
            }
        }

        return true;
    }
}
