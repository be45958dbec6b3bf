namespace Emulator.Kvm;

/// <summary>One CPUID leaf (and subleaf) as a vCPU answers it.</summary>
/// <param name="Leaf">EAX on input.</param>
/// <param name="Subleaf">ECX on input, for leaves that have subleaves.</param>
/// <param name="Eax">EAX on output.</param>
/// <param name="Ebx">EBX on output.</param>
/// <param name="Ecx">ECX on output.</param>
/// <param name="Edx">EDX on output.</param>
public readonly record struct CpuidLeaf(uint Leaf, uint Subleaf, uint Eax, uint Ebx, uint Ecx, uint Edx);

/// <summary>One register of one leaf whose value KVM applies differs from the one asked for.</summary>
/// <param name="Leaf">The leaf.</param>
/// <param name="Subleaf">The subleaf.</param>
/// <param name="Register">EAX, EBX, ECX or EDX.</param>
/// <param name="Asked">The value in KVM_SET_CPUID2.</param>
/// <param name="Applied">The value KVM_GET_CPUID2 reports.</param>
public readonly record struct CpuidChange(uint Leaf, uint Subleaf, string Register, uint Asked, uint Applied)
{
    /// <inheritdoc/>
    public override string ToString() => $"CPUID.{Leaf:X}H:{Register}";
}

/// <summary>How the CPUID a KVM vCPU presents departs from emu's CPU model.</summary>
/// <param name="UnsupportedFeatures">Feature bits of the model the host's KVM cannot give (cleared before KVM_SET_CPUID2), e.g. <c>CPUID.1H:EDX[4]</c>.</param>
/// <param name="Changed">Registers KVM applies with other values than it was given.</param>
/// <param name="Added">Leaves KVM added to the table.</param>
public sealed record CpuidDeviation(IReadOnlyList<string> UnsupportedFeatures, IReadOnlyList<CpuidChange> Changed, IReadOnlyList<CpuidLeaf> Added)
{
    /// <summary>No deviation.</summary>
    public static CpuidDeviation None { get; } = new([], [], []);

    /// <summary>True when the vCPU presents exactly the model.</summary>
    public bool IsEmpty => UnsupportedFeatures.Count == 0 && Changed.Count == 0 && Added.Count == 0;

    /// <summary>Compares the table asked for with the table applied.</summary>
    public static CpuidDeviation Between(IReadOnlyList<CpuidLeaf> asked, IReadOnlyList<CpuidLeaf> applied, IReadOnlyList<string> unsupportedFeatures)
    {
        var changed = new List<CpuidChange>();
        var added = new List<CpuidLeaf>();
        foreach (CpuidLeaf got in applied)
        {
            CpuidLeaf? wanted = asked.Where(a => a.Leaf == got.Leaf && a.Subleaf == got.Subleaf).Select(a => (CpuidLeaf?)a).FirstOrDefault();
            if (wanted is not { } w)
            {
                added.Add(got);
                continue;
            }

            Compare("EAX", w.Eax, got.Eax);
            Compare("EBX", w.Ebx, got.Ebx);
            Compare("ECX", w.Ecx, got.Ecx);
            Compare("EDX", w.Edx, got.Edx);

            void Compare(string register, uint asked, uint applied)
            {
                if (asked != applied)
                {
                    changed.Add(new CpuidChange(got.Leaf, got.Subleaf, register, asked, applied));
                }
            }
        }

        return new CpuidDeviation(unsupportedFeatures, changed, added);
    }

    /// <summary>One line: what is missing, what is changed, what is added.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (UnsupportedFeatures.Count > 0)
        {
            parts.Add($"it cannot give {string.Join(", ", UnsupportedFeatures)}");
        }

        if (Changed.Count > 0)
        {
            parts.Add($"it changes {string.Join(", ", Changed)}");
        }

        if (Added.Count > 0)
        {
            parts.Add($"adds leaf {string.Join(", ", Added.GroupBy(l => l.Leaf).Select(g => $"{g.Key:X}H ({g.Count()} subleaves)"))}");
        }

        return string.Join(" and ", parts);
    }
}
