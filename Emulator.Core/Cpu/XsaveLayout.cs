namespace Emulator.Core.Cpu;

/// <summary>
/// The state components the model manages with the XSAVE feature set (Intel SDM Vol. 1 ch. 13):
/// x87 (component 0) and SSE (1) live in the 512-byte legacy region of an XSAVE area; every
/// other component is one row of <see cref="Extended"/>, with the size and the offset it has in
/// the standard (non-compacted) format, which CPUID.(EAX=0DH,ECX=i) reports (Vol. 1 13.4.3). A
/// component the software CPU learns to save is one more row here and one more entry in the
/// software CPU's component table.
/// </summary>
public static class XsaveLayout
{
    /// <summary>XCR0 bit of the x87 state (always set: Intel SDM Vol. 1 13.3).</summary>
    public const ulong X87 = 1;

    /// <summary>XCR0 bit of the SSE state (XMM0-15 and MXCSR).</summary>
    public const ulong Sse = 2;

    /// <summary>XCR0 bit of the AVX state (bits 255:128 of YMM0-15).</summary>
    public const ulong Avx = 4;

    /// <summary>XCR0 bit of the PKRU state (component 9, Intel SDM Vol. 1 13.5.7).</summary>
    public const ulong Pkru = 1UL << 9;

    /// <summary>Bytes of the legacy region (the FXSAVE image, Intel SDM Vol. 1 13.4.1).</summary>
    public const int LegacyRegionSize = 512;

    /// <summary>Offset of the XSAVE header (XSTATE_BV at +0, XCOMP_BV at +8; 64 bytes, Intel SDM Vol. 1 13.4.2).</summary>
    public const int HeaderOffset = 512;

    /// <summary>Bytes of the XSAVE header.</summary>
    public const int HeaderSize = 64;

    /// <summary>The size of an area holding only the legacy region and the header.</summary>
    public const int MinimumSize = HeaderOffset + HeaderSize;

    /// <summary>An extended state component: its XCR0 bit index, a description, and where it lies in the standard format.</summary>
    /// <param name="Index">The component number i (XCR0 bit i, CPUID.(EAX=0DH,ECX=i)).</param>
    /// <param name="Name">What the component holds.</param>
    /// <param name="Offset">Its offset from the start of a standard-format XSAVE area.</param>
    /// <param name="Size">Its size in bytes.</param>
    public readonly record struct Component(int Index, string Name, int Offset, int Size)
    {
        /// <summary>The component's XCR0 / XSTATE_BV bit.</summary>
        public ulong Bit => 1UL << Index;
    }

    /// <summary>
    /// The extended components of the model, by index, with the sizes and standard-format offsets of
    /// Intel SDM Vol. 1 Table 13-1 (AVX: 256 bytes at 576; PKRU: 8 bytes at 2688, whatever
    /// components 3-8 the processor lacks, since the standard format fixes every offset).
    /// </summary>
    public static IReadOnlyList<Component> Extended { get; } =
    [
        new(2, "AVX: YMM_Hi128, bits 255:128 of YMM0-YMM15", 576, 256),
        new(9, "PKRU: the protection-key rights register (bytes 3:0; 7:4 reserved)", 2688, 8),
    ];

    /// <summary>Every component the model supports: the XCR0 bits that may be set (CPUID.(EAX=0DH,ECX=0):EDX:EAX).</summary>
    public static ulong Supported { get; } = Extended.Aggregate(X87 | Sse, (mask, c) => mask | c.Bit);

    /// <summary>
    /// The size of a standard-format area that holds the components in <paramref name="components"/>:
    /// the legacy region, the header, and the end of the last extended component (CPUID.(EAX=0DH,ECX=0):EBX
    /// for the components enabled in XCR0, and ECX for all supported ones).
    /// </summary>
    public static int StandardSize(ulong components)
    {
        int size = MinimumSize;
        foreach (Component c in Extended)
        {
            if ((components & c.Bit) != 0)
            {
                size = Math.Max(size, c.Offset + c.Size);
            }
        }

        return size;
    }

    /// <summary>The extended component numbered <paramref name="index"/>, if the model has it.</summary>
    public static Component? Find(int index)
    {
        foreach (Component c in Extended)
        {
            if (c.Index == index)
            {
                return c;
            }
        }

        return null;
    }
}
