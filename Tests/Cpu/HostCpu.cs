using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Who made the host CPU that the host-oracle tests compare against. The software CPU reports
/// GenuineIntel; where AMD processors behave differently from Intel's (documented or observed), a
/// test masks exactly that field, only on an AMD host, and names the reason (see
/// <c>Differential.VendorDifferences</c> and <c>Simd.FxsaveTests</c>).
/// </summary>
internal static class HostCpu
{
    /// <summary>The vendor string of CPUID leaf 0 (EBX, EDX, ECX), e.g. GenuineIntel or AuthenticAMD; empty off x86.</summary>
    public static string Vendor { get; } = ReadVendor();

    /// <summary>True on an AMD host (AuthenticAMD; Hygon's HygonGenuine follows AMD's design too).</summary>
    public static bool IsAmd => Vendor is "AuthenticAMD" or "HygonGenuine";

    /// <summary>True on an Intel host.</summary>
    public static bool IsIntel => Vendor == "GenuineIntel";

    /// <summary>Vendor, brand string and family/model/stepping, for test output.</summary>
    public static string Description { get; } = Describe();

    /// <summary>Whether CPUID leaf <paramref name="leaf"/> (subleaf 0) has bit <paramref name="bit"/> set in register 0-3 (EAX, EBX, ECX, EDX).</summary>
    public static bool Has(int leaf, int register, int bit)
    {
        if (!X86Base.IsSupported || (uint)Cpuid(leaf & unchecked((int)0x8000_0000)).Eax < (uint)leaf)
        {
            return false;
        }

        (int eax, int ebx, int ecx, int edx) = Cpuid(leaf);
        int value = register switch { 0 => eax, 1 => ebx, 2 => ecx, _ => edx };
        return (value & (1 << bit)) != 0;
    }

    private static (int Eax, int Ebx, int Ecx, int Edx) Cpuid(int leaf) => X86Base.CpuId(leaf, 0);

    private static string ReadVendor()
    {
        if (!X86Base.IsSupported)
        {
            return "";
        }

        (_, int ebx, int ecx, int edx) = Cpuid(0);
        Span<int> words = [ebx, edx, ecx];
        return Encoding.ASCII.GetString(MemoryMarshal.AsBytes(words));
    }

    private static string Describe()
    {
        if (!X86Base.IsSupported)
        {
            return $"not x86 ({RuntimeInformation.ProcessArchitecture})";
        }

        // Family and model with their extended fields (Intel SDM Vol. 2A CPUID leaf 1, Figure 3-6;
        // AMD APM Vol. 3 Appendix E.3.2: the same rule, extended family added when family is 0Fh).
        int signature = Cpuid(1).Eax;
        int family = (signature >> 8) & 0xf, model = (signature >> 4) & 0xf;
        if (family == 0xf)
        {
            family += (signature >> 20) & 0xff;
        }

        if (family is 0x6 or >= 0xf)
        {
            model |= ((signature >> 16) & 0xf) << 4;
        }

        var brand = new StringBuilder();
        if ((uint)Cpuid(unchecked((int)0x8000_0000)).Eax >= 0x8000_0004)
        {
            for (int leaf = unchecked((int)0x8000_0002); leaf <= unchecked((int)0x8000_0004); leaf++)
            {
                (int a, int b, int c, int d) = Cpuid(leaf);
                Span<int> words = [a, b, c, d];
                brand.Append(Encoding.ASCII.GetString(MemoryMarshal.AsBytes(words)).TrimEnd('\0'));
            }
        }

        return $"{Vendor} \"{brand.ToString().Trim()}\" family {family:x}h model {model:x}h stepping {signature & 0xf}";
    }
}
