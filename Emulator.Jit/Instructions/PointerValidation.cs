using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The pointer-validation instructions that report in ZF instead of faulting (Intel SDM Vol. 3A
/// 5.10): ARPL adjusts a selector's RPL, LAR and LSL read a descriptor's access rights and limit.
/// VERR and VERW are in <see cref="SegmentChecks"/>. All of them are #UD in real-address and
/// virtual-8086 mode; opcode 63h is ARPL only outside 64-bit mode (there it is MOVSXD, which Iced
/// decodes as such).
/// </summary>
internal static unsafe class PointerValidation
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Arpl, &Arpl);
        r.Add(Mnemonic.Lar, &Lar);
        r.Add(Mnemonic.Lsl, &Lsl);
    }

    private static void RequireProtectedMode(CpuCore cpu)
    {
        if (!cpu.ProtectedMode || cpu.V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    private static void SetZf(CpuCore cpu, bool set)
    {
        uint flags = cpu.Flags.Get() & ~LazyFlags.ZF;
        cpu.Flags.SetAll(flags | (set ? LazyFlags.ZF : 0));
    }

    // ARPL r/m16, r16 (Intel SDM Vol. 2A ARPL): when the destination's RPL (bits 1:0) is below the
    // source's, it is raised to the source's and ZF is set; otherwise ZF is cleared. Only ZF changes.
    // The operand is 16 bits whatever the operand size (Iced's Arpl_r32m16_r32 is the same
    // instruction without a 66h prefix in 32-bit code): a register destination keeps bits 31:16.
    // A memory destination is written only when its RPL is raised, as the SDM's Operation says
    // (DEST[RPL] <- SRC[RPL] in the THEN branch alone); the #GP(0) for a destination in a
    // non-writable segment (and a write #PF) therefore comes with that write. An ARPL that leaves
    // the selector alone reads it through a read-only segment without faulting and writes nothing
    // (the public test386.asm tester checks exactly this).
    private static void Arpl(CpuCore cpu, ref Instruction ins)
    {
        RequireProtectedMode(cpu);
        int source = (int)cpu.ReadReg(ins.Op1Register) & 3;
        if (ins.Op0Kind == OpKind.Register)
        {
            int index = RegisterMap.Index[(int)ins.Op0Register];
            ulong value = cpu.R[index];
            bool adjust = (int)(value & 3) < source;
            if (adjust)
            {
                cpu.R[index] = (value & ~3UL) | (uint)source;
            }

            SetZf(cpu, adjust);
            return;
        }

        ulong selector = cpu.ReadSized(cpu.MemoryLinear(ins, 2), 2);
        bool raise = (int)(selector & 3) < source;
        if (raise)
        {
            cpu.WriteSized(cpu.MemoryLinearWrite(ins, 2), 2, (selector & ~3UL) | (uint)source);
        }

        SetZf(cpu, raise);
    }

    // LAR (Intel SDM Vol. 2A LAR and its "Segment and Gate Types" table): the second doubleword of the descriptor, masked to
    // its access rights: FF00h with a 16-bit operand, 00FxFF00h (type, S, DPL, P, AVL, L, D/B, G)
    // zero-extended otherwise. The AMD APM (Vol. 3 LAR) also accepts an LDT in long mode; Intel's
    // table does not, and this CPU is Intel.
    private static void Lar(CpuCore cpu, ref Instruction ins)
    {
        RequireProtectedMode(cpu);
        ushort selector = (ushort)cpu.ReadOp(ins, 1, 2);
        ulong? descriptor = VisibleDescriptor(cpu, selector, cpu.LongMode ? LarTypesIa32e : LarTypesProtected);
        if (descriptor is { } d)
        {
            uint high = (uint)(d >> 32);
            int size = CpuCore.OpSize(ins, 0);
            cpu.WriteReg(ins.Op0Register, size == 2 ? high & 0xff00 : high & 0x00f0_ff00);
        }

        SetZf(cpu, descriptor is not null);
    }

    // LSL (Intel SDM Vol. 2A LSL and its "Segment and Gate Descriptor Types" table): the segment limit in bytes, scaled to 4-KByte units
    // with the low 12 bits set when G = 1; a 16-bit operand receives its low 16 bits.
    private static void Lsl(CpuCore cpu, ref Instruction ins)
    {
        RequireProtectedMode(cpu);
        ushort selector = (ushort)cpu.ReadOp(ins, 1, 2);
        ulong? descriptor = VisibleDescriptor(cpu, selector, cpu.LongMode ? LslTypesIa32e : LslTypesProtected);
        if (descriptor is { } d)
        {
            uint limit = CpuCore.FromDescriptor(selector, d).Limit;
            int size = CpuCore.OpSize(ins, 0);
            cpu.WriteReg(ins.Op0Register, size == 2 ? limit & 0xffff : limit);
        }

        SetZf(cpu, descriptor is not null);
    }

    // System-descriptor types (bits 3:0 of the type field with S = 0) each instruction accepts,
    // one bit per type. Protected mode, LAR: 16-bit TSS (1, 3), LDT (2), 16-bit call gate (4), task
    // gate (5), 32-bit TSS (9, B), 32-bit call gate (C). IA-32e mode, LAR: 64-bit TSS (9, B) and
    // 64-bit call gate (C). LSL takes the types that have a limit: protected mode 1, 2, 3, 9, B;
    // IA-32e mode LDT (2), 64-bit TSS (9, B) and type 0, "upper 8 bytes of a 16-byte descriptor",
    // which Intel's table lists as valid.
    private const ushort LarTypesProtected = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
    private const ushort LarTypesIa32e = (1 << 9) | (1 << 0xb) | (1 << 0xc);
    private const ushort LslTypesProtected = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 0xb);
    private const ushort LslTypesIa32e = (1 << 0) | (1 << 2) | (1 << 9) | (1 << 0xb);

    /// <summary>
    /// The descriptor <paramref name="selector"/> names when LAR/LSL may report on it: a non-null
    /// selector inside its table's limit, a code or data segment or a system type in
    /// <paramref name="systemTypes"/>, and, unless it is a conforming code segment, DPL at least
    /// CPL and RPL. Null when any check fails (ZF = 0, destination unchanged). Reading the
    /// descriptor may still page-fault.
    /// </summary>
    private static ulong? VisibleDescriptor(CpuCore cpu, ushort selector, ushort systemTypes)
    {
        bool local = (selector & 4) != 0;
        if (!local && (selector & ~3) == 0)
        {
            return null;
        }

        uint limit = local ? cpu.Ldtr.Limit : cpu.Gdtr.Limit;
        bool ldtUnusable = local && (cpu.Ldtr.Attributes & 0x10000) != 0;
        if (ldtUnusable || (uint)(selector & ~7) + 7 > limit)
        {
            return null;
        }

        ulong d = cpu.ReadDescriptor(selector);
        int access = (int)(d >> 40) & 0xff;
        int type = access & 0xf;
        bool segment = (access & 0x10) != 0;
        if (!segment && (systemTypes & (1 << type)) == 0)
        {
            return null;
        }

        bool conformingCode = segment && (type & 0xc) == 0xc;
        int dpl = (access >> 5) & 3;
        if (!conformingCode && (cpu.Cpl > dpl || (selector & 3) > dpl))
        {
            return null;
        }

        return d;
    }
}
