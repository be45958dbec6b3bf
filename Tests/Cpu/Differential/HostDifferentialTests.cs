using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>What a host differential suite runs: its forms, how many cases each, and what the host must support.</summary>
public interface IHostDifferentialSuite
{
    /// <summary>The instruction forms, one test per mnemonic among them.</summary>
    internal static abstract IReadOnlyList<DiffForm> Forms { get; }

    /// <summary>Random cases per form.</summary>
    internal static abstract int CasesPerForm { get; }

    /// <summary>The CPUID feature <paramref name="m"/> needs when the host lacks it, else null.</summary>
    internal static abstract string? HostLacks(Mnemonic m);
}

/// <summary>
/// The harness of a differential suite: one test per mnemonic of <typeparamref name="TSuite"/>'s forms,
/// run on the interpreter and on the translator; every form runs natively and on the software CPU
/// from the same random states (<see cref="DifferentialRunner"/>; cases that fault natively in a
/// forked child) and a failure lists the failing forms with their first cases.
/// </summary>
public abstract class HostDifferentialTests<TSuite>(ITestOutputHelper output)
    where TSuite : IHostDifferentialSuite
{
    protected ITestOutputHelper Output => output;

    /// <summary>The mnemonics of <typeparamref name="TSuite"/>'s forms: static, as xunit's MemberData wants, and so one per suite.</summary>
    [SuppressMessage("Design", "CA1000:Do not declare static members on generic types", Justification = "xunit's MemberData reads a static member of the test class")]
    public static TheoryData<string> Mnemonics()
    {
        var data = new TheoryData<string>();
        foreach (Mnemonic m in TSuite.Forms.Select(f => f.Mnemonic).Distinct())
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
        string? missing = TSuite.HostLacks(m);
        Skip.If(missing is not null, $"the host CPU does not support {missing}");

        output.WriteLine($"host CPU: {HostCpu.Description}");
        int cases = TSuite.CasesPerForm;
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        using var runner = new DifferentialRunner(translate);
        foreach (DiffForm form in TSuite.Forms.Where(f => f.Mnemonic == m))
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
}
