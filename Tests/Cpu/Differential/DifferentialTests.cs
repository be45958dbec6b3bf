using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Hardware is the oracle: every general-purpose integer instruction form runs natively and on
/// the software CPU from the same random state (seeded, edge values weighted in) and must end in
/// the same state, undefined flags aside; cases that fault natively (run in a forked child) must
/// raise the same exception. One test per mnemonic; a failure lists the failing forms with their
/// first cases. EMU_DIFF_CASES sets the cases per form (default 256; the long mode is e.g.
/// EMU_DIFF_CASES=1000000), EMU_DIFF_SEED explores other seeds.
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output)
    : HostDifferentialTests<DifferentialTests>(output), IHostDifferentialSuite
{
    static IReadOnlyList<DiffForm> IHostDifferentialSuite.Forms => FormCatalog.Forms;

    static int IHostDifferentialSuite.CasesPerForm => DifferentialRunner.CasesPerForm;

    [Fact]
    public void CatalogCoversEveryIntegerForm()
    {
        Output.WriteLine($"host CPU: {HostCpu.Description}");
        foreach ((Code code, string reason) in FormCatalog.Excluded.OrderBy(e => e.Key))
        {
            Output.WriteLine($"not run: {code}: {reason}");
        }

        Output.WriteLine($"{FormCatalog.Forms.Count} forms");
        Assert.True(FormCatalog.Forms.Count > 500, $"only {FormCatalog.Forms.Count} forms");
        Mnemonic[] uncovered = [.. FormCatalog.Mnemonics.Where(m => !FormCatalog.Forms.Any(f => f.Mnemonic == m))];
        Assert.True(uncovered.Length == 0, $"no runnable form: {string.Join(", ", uncovered)}");
    }

    /// <summary>The CPUID feature an instruction needs when the host lacks it (Intel SDM Vol. 2A CPUID, Table 3-8 ff.).</summary>
    static string? IHostDifferentialSuite.HostLacks(Mnemonic m) => m switch
    {
        Mnemonic.Lzcnt when !Lzcnt.IsSupported => "LZCNT",
        Mnemonic.Tzcnt or Mnemonic.Andn or Mnemonic.Bextr or Mnemonic.Blsi or Mnemonic.Blsmsk or Mnemonic.Blsr when !Bmi1.IsSupported => "BMI1",
        Mnemonic.Bzhi or Mnemonic.Mulx or Mnemonic.Pdep or Mnemonic.Pext or Mnemonic.Rorx or Mnemonic.Sarx or Mnemonic.Shlx or Mnemonic.Shrx
            when !HostCpu.Has(7, 1, 8) => "BMI2",
        Mnemonic.Popcnt when !Popcnt.IsSupported => "POPCNT",
        Mnemonic.Movbe when !HostCpu.Has(1, 2, 22) => "MOVBE",
        Mnemonic.Cmpxchg16b when !HostCpu.Has(1, 2, 13) => "CMPXCHG16B",
        Mnemonic.Adcx or Mnemonic.Adox when !HostCpu.Has(7, 1, 19) => "ADX",
        _ => null,
    };
}
