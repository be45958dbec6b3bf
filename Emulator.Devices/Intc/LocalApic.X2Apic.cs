using Emulator.Core.Cpu;

namespace Emulator.Devices.Intc;

/// <summary>
/// The x2APIC access path of the local APIC (Intel SDM Vol. 3A 11.12): with IA32_APIC_BASE.EXTD
/// set, the registers are MSRs 800H-8FFH (MSR = 800H + MMIO offset / 16) instead of the register
/// page, with a 32-bit x2APIC ID, a read-only logical ID derived from it, a 64-bit ICR with a 32-bit
/// destination, and the SELF IPI register. The MSRs reach the same registers as the xAPIC page
/// (<see cref="Read"/>/<see cref="Write"/>): one model, two ways in.
/// </summary>
public sealed partial class LocalApic
{
    /// <summary>The first and last MSR of the x2APIC register space (11.12.1.2; 800H-8FFH in Intel SDM Vol. 4 Table 2-2).</summary>
    public const uint X2ApicMsrFirst = 0x800, X2ApicMsrLast = 0x8FF;

    // MMIO offsets of the registers that exist only in one mode (Table 11-6): ICR[63:32] at 310H is
    // part of the 64-bit ICR MSR, SELF IPI (3F0H) exists only as an MSR.
    private const int RegSelfIpi = 0x3F0;

    // ICR bits an x2APIC write may set (Figure 11-28): vector, delivery mode, destination mode,
    // level, trigger mode, shorthand; the delivery status bit (12) no longer exists there.
    private const uint X2ApicIcrWritable = 0xFF | (7u << 8) | (1u << 11) | (1u << 14) | (1u << 15) | (3u << 18);

    /// <summary>
    /// Whether software may enter x2APIC mode (CPUID.01H:ECX[21] is advertised); when false, setting
    /// IA32_APIC_BASE.EXTD raises #GP, as on a processor without x2APIC. True unless the machine clears it.
    /// </summary>
    public bool X2ApicAvailable { get; set; } = true;

    /// <summary>
    /// Whether the timer offers TSC-deadline mode (CPUID.01H:ECX[24] is advertised); when false, LVT
    /// timer mode 10b is reserved and reads back as one-shot. True unless the machine clears it.
    /// </summary>
    public bool TscDeadlineAvailable { get; set; } = true;

    /// <summary>IA32_APIC_BASE.EN and EXTD both set: the registers are MSRs and the register page is gone.</summary>
    public bool X2ApicMode => (_apicBase & (BaseEnable | BaseExtd)) == (BaseEnable | BaseExtd);

    /// <summary>The x2APIC ID (11.12.5.1): assigned at reset (the vCPU number, which is also the initial xAPIC ID), read-only.</summary>
    public uint X2ApicId => (uint)Index;

    // The logical x2APIC ID (11.12.10.2): cluster ID = x2APIC ID[19:4] in bits 31:16, and one bit in
    // 15:0 selected by x2APIC ID[3:0].
    private uint X2ApicLogicalId => ((X2ApicId >> 4) << 16) | (1u << (int)(X2ApicId & 0xF));

    // xAPIC -> x2APIC (11.12.5.1, "State Changes From xAPIC Mode to x2APIC Mode"): the LDR is derived
    // from the x2APIC ID, an ID written through the page and ICR[63:32] are not kept; the rest is.
    private void EnterX2ApicMode()
    {
        _icrHigh = 0;
        _id = (X2ApicId & 0xFF) << 24;
    }

    private bool TryReadX2ApicMsr(uint index, out ulong value)
    {
        value = 0;
        lock (_deviceLock)
        {
            X2ApicRegister r = X2ApicRegisterMap.Registers[index - X2ApicMsrFirst];
            if (!X2ApicMode || !r.Readable)
            {
                return false;
            }

            int reg = (int)(index - X2ApicMsrFirst) << 4;
            value = reg switch
            {
                RegId => X2ApicId,
                RegLdr => X2ApicLogicalId,
                RegIcrLow => ((ulong)_icrHigh << 32) | _icrLow,
                _ => ReadRegister(reg, inRegister: true),
            };
            return true;
        }
    }

    private MsrWriteResult WriteX2ApicMsr(uint index, ulong value)
    {
        lock (_deviceLock)
        {
            X2ApicRegister r = X2ApicRegisterMap.Registers[index - X2ApicMsrFirst];
            int reg = (int)(index - X2ApicMsrFirst) << 4;
            if (!X2ApicMode || !r.Writable)
            {
                return MsrWriteResult.Fault;
            }

            // The upper 32 bits of every x2APIC MSR but the ICR are reserved (11.12.1.2).
            ulong allowed = reg == RegIcrLow ? 0xFFFF_FFFF_0000_0000ul | X2ApicIcrWritable : r.WritableBits;
            if ((value & ~allowed) != 0)
            {
                return MsrWriteResult.Fault;
            }

            switch (reg)
            {
                case RegIcrLow:
                    // One WRMSR writes the whole ICR and sends the IPI (11.12.9).
                    _icrHigh = (uint)(value >> 32);
                    _icrLow = (uint)value & X2ApicIcrWritable;
                    SendIpi();
                    break;
                case RegSelfIpi:
                    // A fixed, edge-triggered IPI to this APIC only (11.12.11).
                    SendIpi(((uint)value & 0xFF) | ((uint)ApicShorthand.Self << 18), 0, x2ApicFormat: true);
                    break;
                default:
                    WriteRegister(reg, (uint)value);
                    break;
            }

            return MsrWriteResult.Done;
        }
    }

    /// <summary>
    /// The x2APIC registers by MSR (index - 800H): whether RDMSR and WRMSR may access them and, for
    /// writes, the bits that are not reserved (a write that sets a reserved bit raises #GP, 11.12.1.3).
    /// Every index not listed is reserved: both RDMSR and WRMSR raise #GP (11.12.1.2), including
    /// APR (809H), RRD (80CH), DFR (80EH), CMCI (82FH, no such LVT entry here) and ICR[63:32] (831H).
    /// A nested class, so that the table is built after the LVT masks it reads.
    /// </summary>
    private static class X2ApicRegisterMap
    {
        public static readonly X2ApicRegister[] Registers = Build();

        private static X2ApicRegister[] Build()
        {
            var table = new X2ApicRegister[X2ApicMsrLast - X2ApicMsrFirst + 1];
            void Add(int mmioOffset, bool read, bool write, uint writableBits = 0) =>
                table[mmioOffset >> 4] = new X2ApicRegister(read, write, writableBits);

            Add(RegId, read: true, write: false);
            Add(RegVersion, read: true, write: false);
            Add(RegTpr, read: true, write: true, 0xFF);                      // bits 31:8 reserved
            Add(RegPpr, read: true, write: false);
            Add(RegEoi, read: false, write: true, 0);                        // WRMSR of a non-zero value: #GP(0)
            Add(RegLdr, read: true, write: false);
            Add(RegSvr, read: true, write: true, SvrWritable);
            for (int i = 0; i < 8; i++)
            {
                Add(RegIsr + (i << 4), read: true, write: false);
                Add(RegTmr + (i << 4), read: true, write: false);
                Add(RegIrr + (i << 4), read: true, write: false);
            }

            Add(RegEsr, read: true, write: true, 0);                         // WRMSR of a non-zero value: #GP(0)
            Add(RegIcrLow, read: true, write: true);                         // 64 bits: see WriteX2ApicMsr
            for (int i = 0; i < LvtCount; i++)
            {
                // The delivery status (12) and remote IRR (14) bits are read-only, not reserved: written, they are ignored.
                Add(RegLvtTimer + (i << 4), read: true, write: true, LvtWritable[i] | (1u << 12) | LvtRemoteIrr);
            }

            Add(RegInitialCount, read: true, write: true, 0xFFFF_FFFF);
            Add(RegCurrentCount, read: true, write: false);
            Add(RegDcr, read: true, write: true, 0xB);
            Add(RegSelfIpi, read: false, write: true, 0xFF);                 // write-only; bits 31:8 reserved
            return table;
        }
    }

    /// <summary>One x2APIC MSR: which accesses exist, and the bits a write may set.</summary>
    private readonly record struct X2ApicRegister(bool Readable, bool Writable, uint WritableBits);
}
