using Emulator.Core.Cpu;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// The CPUID table a KVM vCPU is given (KVM_SET_CPUID2): exactly the leaves of <see cref="CpuModel"/>,
/// so that a guest sees the same processor under KVM as under the software CPU. Feature bits the
/// host's KVM cannot provide (KVM_GET_SUPPORTED_CPUID) are cleared and reported; the local APIC's
/// bits (x2APIC, TSC-deadline) follow the APIC the guest really talks to (<see cref="KvmApicFeatures"/>).
/// </summary>
internal static class KvmCpuidTable
{
    /// <summary>
    /// The entries for the vCPU whose initial APIC ID is <paramref name="apicId"/> in a machine of
    /// <paramref name="processorCount"/> vCPUs (leaves 01H and 0BH carry the APIC ID and the
    /// topology, so every vCPU has its own table), and the model's feature bits the host lacks.
    /// </summary>
    public static (KvmCpuidEntry2[] Entries, IReadOnlyList<string> Missing) Build(int apicId, int processorCount, IReadOnlyList<KvmCpuidEntry2> supported, KvmApicFeatures apic)
    {
        var entries = new List<KvmCpuidEntry2>();
        var missing = new List<string>();
        foreach (uint leaf in CpuModel.Leaves)
        {
            foreach (uint subleaf in CpuModel.Subleaves(leaf))
            {
                (uint a, uint b, uint c, uint d) = CpuModel.Query(leaf, subleaf, apicId, processorCount);
                (uint fa, uint fb, uint fc, uint fd) = CpuModel.FeatureBits(leaf, subleaf);
                KvmCpuidEntry2 host = supported.FirstOrDefault(e => e.Function == leaf && e.Index == subleaf);
                if (leaf == 1)
                {
                    host.Ecx = apic.Apply(host.Ecx);
                }

                string name = subleaf == 0 ? $"{leaf:X}H" : $"{leaf:X}H.{subleaf}";
                entries.Add(new KvmCpuidEntry2
                {
                    Function = leaf,
                    Index = subleaf,
                    // Leaves 04H, 07H, 0BH and 0DH are indexed by ECX: KVM_CPUID_FLAG_SIGNIFCANT_INDEX says the entry is for this subleaf only.
                    Flags = CpuModel.IsIndexed(leaf) ? 1u : 0u,
                    Eax = Filter(name, "EAX", a, fa, host.Eax, missing),
                    Ebx = Filter(name, "EBX", b, fb, host.Ebx, missing),
                    Ecx = Filter(name, "ECX", c, fc, host.Ecx, missing),
                    Edx = Filter(name, "EDX", d, fd, host.Edx, missing),
                });
            }
        }

        return ([.. entries], missing);
    }

    private static uint Filter(string leaf, string register, uint model, uint featureMask, uint host, List<string> missing)
    {
        uint lacking = model & featureMask & ~host;
        for (int bit = 0; bit < 32; bit++)
        {
            if ((lacking & (1u << bit)) != 0)
            {
                missing.Add($"CPUID.{leaf}:{register}[{bit}]");
            }
        }

        return model & ~lacking;
    }
}
