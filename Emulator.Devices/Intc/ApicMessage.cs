namespace Emulator.Devices.Intc;

/// <summary>
/// Delivery modes of an interrupt message on the APIC bus: the ICR and LVT field (Intel SDM Vol. 3A
/// 11.6.1, 11.5.1) and the IOAPIC redirection entry (82093AA datasheet, 3.2.4) share the encoding.
/// </summary>
public enum ApicDeliveryMode
{
    /// <summary>The vector to every destination.</summary>
    Fixed = 0,
    /// <summary>The vector to the destination running at the lowest priority.</summary>
    LowestPriority = 1,
    /// <summary>System management interrupt (not modelled: accepted and ignored).</summary>
    Smi = 2,
    /// <summary>Non-maskable interrupt; the vector is ignored.</summary>
    Nmi = 4,
    /// <summary>INIT: resets the processor; an application processor then waits for a startup IPI.</summary>
    Init = 5,
    /// <summary>Startup IPI: a processor waiting for SIPI starts in real mode at VV00:0000.</summary>
    Startup = 6,
    /// <summary>The vector comes from an external 8259A, read in the INTA cycle.</summary>
    ExtInt = 7,
}

/// <summary>The destination shorthand of the ICR (Intel SDM Vol. 3A 11.6.1, bits 18-19).</summary>
public enum ApicShorthand
{
    /// <summary>The destination field selects the targets.</summary>
    None = 0,
    /// <summary>The sending APIC only.</summary>
    Self = 1,
    /// <summary>Every APIC, the sender too.</summary>
    AllIncludingSelf = 2,
    /// <summary>Every APIC but the sender.</summary>
    AllExcludingSelf = 3,
}

/// <summary>One interrupt message on the APIC bus, from a local APIC's ICR or from the IOAPIC.</summary>
/// <param name="Vector">The vector (ignored for NMI and INIT; the start page for SIPI).</param>
/// <param name="Mode">The delivery mode.</param>
/// <param name="Logical">True for logical destination mode (LDR/DFR matching), false for physical (APIC ID).</param>
/// <param name="Destination">The destination field: 8 bits in an xAPIC-format message (0xFF is a broadcast in physical and in logical mode), 32 bits in an x2APIC-format one (FFFFFFFFH is the broadcast).</param>
/// <param name="LevelTriggered">Level-triggered: the target sets its TMR bit and broadcasts the EOI.</param>
/// <param name="Assert">The ICR level bit; an INIT with this clear and level trigger is the INIT level de-assert.</param>
/// <param name="Shorthand">The ICR destination shorthand.</param>
/// <param name="Source">Index of the sending local APIC, or -1 for the IOAPIC.</param>
/// <param name="X2ApicFormat">Sent by an APIC in x2APIC mode: a 32-bit destination (Intel SDM Vol. 3A 11.12.9).</param>
public readonly record struct ApicMessage(
    byte Vector,
    ApicDeliveryMode Mode,
    bool Logical,
    uint Destination,
    bool LevelTriggered = false,
    bool Assert = true,
    ApicShorthand Shorthand = ApicShorthand.None,
    int Source = -1,
    bool X2ApicFormat = false);
