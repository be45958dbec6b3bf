using System.Diagnostics;
using System.Runtime.InteropServices;
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
{
    public static TheoryData<string> Mnemonics()
    {
        var data = new TheoryData<string>();
        foreach (Mnemonic m in FormCatalog.Forms.Select(f => f.Mnemonic).Distinct())
        {
            data.Add(m.ToString());
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Mnemonics))]
    public void MatchesHost(string mnemonic) => Compare(mnemonic, translate: false);

    /// <summary>
    /// The same cases through the translator: each instruction becomes a one-instruction block of
    /// host code (or a call of its interpreter handler from host code), entered from the dispatcher.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Mnemonics))]
    public void TranslatedMatchesHost(string mnemonic) => Compare(mnemonic, translate: true);

    private void Compare(string mnemonic, bool translate)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64, "needs an x86-64 Linux host to run instructions natively");
        Mnemonic m = Enum.Parse<Mnemonic>(mnemonic);
        string? missing = HostLacks(m);
        Skip.If(missing is not null, $"the host CPU does not support {missing}");

        output.WriteLine($"host CPU: {HostCpu.Description}");
        int cases = DifferentialRunner.CasesPerForm;
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        using var runner = new DifferentialRunner(translate);
        foreach (DiffForm form in FormCatalog.Forms.Where(f => f.Mnemonic == m))
        {
            FormResult r = runner.Run(form, cases);
            string faults = r.Faulted > 0 ? $" ({r.Faulted} of them faulting, in a child process)" : "";
            output.WriteLine($"{form.Name}: {r.Passed} passed{faults}, {r.Failed} failed{(r.Unrunnable is { } u ? $", stopped: {u}" : "")}");
            if (r.Failed > 0 || r.Passed < cases)
            {
                failures.Add($"{form.Name}: {r.Failed} of {r.Passed + r.Failed} failed{(r.Unrunnable is { } why ? $"; only {r.Passed + r.Failed} of {cases} cases generated: {why}" : "")}\n  {string.Join("\n  ", r.Failures)}");
            }
        }

        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s{(translate ? $", {runner.TranslatedInstructions} instructions ran as host code" : "")}");
        Assert.True(failures.Count == 0, $"{failures.Count} forms of {mnemonic} differ from the host:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void CatalogCoversEveryIntegerForm()
    {
        output.WriteLine($"host CPU: {HostCpu.Description}");
        foreach ((Code code, string reason) in FormCatalog.Excluded.OrderBy(e => e.Key))
        {
            output.WriteLine($"not run: {code}: {reason}");
        }

        output.WriteLine($"{FormCatalog.Forms.Count} forms");
        Assert.True(FormCatalog.Forms.Count > 500, $"only {FormCatalog.Forms.Count} forms");
        Mnemonic[] uncovered = [.. FormCatalog.Mnemonics.Where(m => !FormCatalog.Forms.Any(f => f.Mnemonic == m))];
        Assert.True(uncovered.Length == 0, $"no runnable form: {string.Join(", ", uncovered)}");
    }

    /// <summary>The CPUID feature an instruction needs when the host lacks it (Intel SDM Vol. 2A CPUID, Table 3-8 ff.).</summary>
    private static string? HostLacks(Mnemonic m) => m switch
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
