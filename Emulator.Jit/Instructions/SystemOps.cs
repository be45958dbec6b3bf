using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>System instructions: HLT, descriptor-table loads and stores, control registers, CPUID, RDTSC, RDPMC, MSRs, cache control.</summary>
internal static unsafe class SystemOps
{
    private const ulong Cr0NW = 1UL << 29, Cr0CD = 1UL << 30;

    // IA32_APIC_BASE (owned by the local APIC) and its global enable bit; CPUID.01H:EDX.APIC.
    private const uint ApicBaseMsr = 0x1b, ApicFeature = 1u << 9;
    private const ulong ApicBaseEnable = 1UL << 11;

    // CR4 bits this CPU model accepts: TSD, DE, PSE, PAE, MCE, PGE, PCE, OSFXSR, OSXMMEXCPT, UMIP,
    // FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP and PKE; the others (VME, PVI, CET...) are reserved because
    // CPUID does not advertise them, so setting one is #GP(0) (Intel SDM Vol. 3A 2.5, 2.6.2.1).
    private const ulong Cr4Known = 0x7fc | CpuCore.Cr4Umip | SegmentBases.Cr4FsGsBase | CpuCore.Cr4Pcide | (1UL << 18)
        | CpuCore.Cr4Smep | CpuCore.Cr4Smap | CpuCore.Cr4Pke;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Hlt, &Hlt);
        r.Add(Mnemonic.Lgdt, &Lgdt);
        r.Add(Mnemonic.Lidt, &Lidt);
        r.Add(Mnemonic.Sgdt, &Sgdt);
        r.Add(Mnemonic.Sidt, &Sidt);
        r.Add(Mnemonic.Lldt, &Lldt);
        r.Add(Mnemonic.Ltr, &Ltr);
        r.Add(Mnemonic.Sldt, &Sldt);
        r.Add(Mnemonic.Str, &Str);
        r.Add(Mnemonic.Lmsw, &Lmsw);
        r.Add(Mnemonic.Smsw, &Smsw);
        r.Add(Mnemonic.Clts, &Clts);
        r.Add(Mnemonic.Cpuid, &Cpuid);
        r.Add(Mnemonic.Rdtsc, &Rdtsc);
        r.Add(Mnemonic.Rdmsr, &Rdmsr);
        r.Add(Mnemonic.Wrmsr, &Wrmsr);
        r.Add(Mnemonic.Invd, &CacheControl);
        r.Add(Mnemonic.Wbinvd, &CacheControl);
        // WBNOINVD (F3 0F 09) is WBINVD with a REP prefix: a processor without the WBNOINVD CPUID
        // bit executes it as WBINVD (its exception list has no CPUID condition; Intel SDM Vol. 2B WBNOINVD).
        r.Add(Mnemonic.Wbnoinvd, &CacheControl);
        r.Add(Mnemonic.Rdpmc, &Rdpmc);
        r.Add(Mnemonic.Invlpg, &Invlpg);
        r.Add(Mnemonic.Wait, &CacheControl);
        r.Add(Mnemonic.Serialize, &Serialize);
        r.Add(Code.Mov_r32_cr, &MovFromCr);
        r.Add(Code.Mov_r64_cr, &MovFromCr);
        r.Add(Code.Mov_cr_r32, &MovToCr);
        r.Add(Code.Mov_cr_r64, &MovToCr);
        r.Add(Code.Mov_r32_dr, &MovFromDr);
        r.Add(Code.Mov_r64_dr, &MovFromDr);
        r.Add(Code.Mov_dr_r32, &MovToDr);
        r.Add(Code.Mov_dr_r64, &MovToDr);
    }

    private static void RequireCpl0(CpuCore cpu)
    {
        if (cpu.ProtectedMode && cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private static void Hlt(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        cpu.Halted = true;
        cpu.EndBlock = true;
    }

    private static (ulong Linear, int OperandSize) TableOperand(CpuCore cpu, in Instruction ins) =>
        (cpu.MemoryLinear(ins, 2), cpu.Bitness == 64 ? 8 : ins.MemorySize == MemorySize.Fword6 ? 4 : 4);

    private static void Lgdt(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        (ushort limit, ulong baseAddress) = ReadTable(cpu, ins);
        cpu.Gdtr.Limit = limit;
        cpu.Gdtr.Base = baseAddress;
    }

    private static void Lidt(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        (ushort limit, ulong baseAddress) = ReadTable(cpu, ins);
        cpu.Idtr.Limit = limit;
        cpu.Idtr.Base = baseAddress;
    }

    // With a 16-bit operand size only 24 bits of the base are loaded (Intel SDM Vol. 2A LGDT).
    private static (ushort Limit, ulong Base) ReadTable(CpuCore cpu, in Instruction ins)
    {
        ulong ea = cpu.EffectiveAddress(ins);
        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        int baseSize = cpu.Bitness == 64 ? 8 : 4;
        ushort limit = cpu.Read16(cpu.Linear(seg, ea, 2));
        ulong baseAddress = cpu.ReadSized(cpu.Linear(seg, ea + 2, baseSize), baseSize);
        bool operand16 = ins.CodeSize != CodeSize.Code64 && (ins.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16);
        return (limit, operand16 ? baseAddress & 0xff_ffff : baseAddress);
    }

    private static void StoreTable(CpuCore cpu, in Instruction ins, Core.Cpu.TableRegister table)
    {
        ulong ea = cpu.EffectiveAddress(ins);
        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        int baseSize = cpu.Bitness == 64 ? 8 : 4;
        cpu.Write16(cpu.LinearWrite(seg, ea, 2), table.Limit);
        cpu.WriteSized(cpu.LinearWrite(seg, ea + 2, baseSize), baseSize, table.Base);
    }

    private static void Sgdt(CpuCore cpu, ref Instruction ins)
    {
        RequireUmipPrivilege(cpu);
        StoreTable(cpu, ins, cpu.Gdtr);
    }

    private static void Sidt(CpuCore cpu, ref Instruction ins)
    {
        RequireUmipPrivilege(cpu);
        StoreTable(cpu, ins, cpu.Idtr);
    }

    // CR4.UMIP: SGDT, SIDT, SLDT, SMSW and STR are #GP(0) at CPL > 0 (Intel SDM Vol. 3A 2.5, UMIP).
    private static void RequireUmipPrivilege(CpuCore cpu)
    {
        if ((cpu.Cr4 & CpuCore.Cr4Umip) != 0 && cpu.Cpl > 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }
    }

    private static void RequireProtected(CpuCore cpu)
    {
        if (!cpu.ProtectedMode || cpu.V86Mode)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    private static void Lldt(CpuCore cpu, ref Instruction ins)
    {
        RequireProtected(cpu);
        RequireCpl0(cpu);
        ushort selector = (ushort)cpu.ReadOp(ins, 0, 2);
        if ((selector & ~3) == 0)
        {
            cpu.Ldtr = new Core.Cpu.SegmentRegister { Selector = selector, Attributes = 0x10000 };
            return;
        }

        if ((selector & 4) != 0)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        Core.Cpu.SegmentRegister ldt = cpu.ReadSystemSegment(selector);
        if ((ldt.Attributes & 0x10) != 0 || ldt.Type != 2)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!ldt.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        cpu.Ldtr = ldt;
    }

    private static void Ltr(CpuCore cpu, ref Instruction ins)
    {
        RequireProtected(cpu);
        RequireCpl0(cpu);
        ushort selector = (ushort)cpu.ReadOp(ins, 0, 2);
        if ((selector & ~3) == 0 || (selector & 4) != 0)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        Core.Cpu.SegmentRegister tss = cpu.ReadSystemSegment(selector);
        // In IA-32e mode only the 64-bit TSS (type 9) exists (Intel SDM Vol. 3A 8.7, Table 3-2).
        bool available = cpu.LongMode ? tss.Type == 9 : tss.Type is 1 or 9;
        if ((tss.Attributes & 0x10) != 0 || !available)
        {
            throw new GuestFault(Vectors.GP, selector & ~3);
        }

        if (!tss.Present)
        {
            throw new GuestFault(Vectors.NP, selector & ~3);
        }

        // LTR marks the TSS busy (type 3 or 11) in the GDT (Intel SDM Vol. 3A 8.2.4).
        cpu.SetTssBusy(selector, true);
        tss.Attributes |= 2;
        cpu.Tr = tss;
    }

    private static void Sldt(CpuCore cpu, ref Instruction ins)
    {
        RequireProtected(cpu);
        RequireUmipPrivilege(cpu);
        cpu.WriteOp(ins, 0, ins.Op0Kind == OpKind.Memory ? 2 : CpuCore.OpSize(ins, 0), cpu.Ldtr.Selector);
    }

    private static void Str(CpuCore cpu, ref Instruction ins)
    {
        RequireProtected(cpu);
        RequireUmipPrivilege(cpu);
        cpu.WriteOp(ins, 0, ins.Op0Kind == OpKind.Memory ? 2 : CpuCore.OpSize(ins, 0), cpu.Tr.Selector);
    }

    // LMSW changes only PE, MP, EM, TS and cannot clear PE (Intel SDM Vol. 2A LMSW).
    private static void Lmsw(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        ulong msw = cpu.ReadOp(ins, 0, 2) & 0xf;
        ulong cr0 = (cpu.Cr0 & ~0xeUL) | msw | (cpu.Cr0 & 1);
        WriteCr0(cpu, cr0);
    }

    private static void Smsw(CpuCore cpu, ref Instruction ins)
    {
        RequireUmipPrivilege(cpu);
        int size = ins.Op0Kind == OpKind.Memory ? 2 : CpuCore.OpSize(ins, 0);
        cpu.WriteOp(ins, 0, size, cpu.Cr0 & Alu.Mask(size));
    }

    private static void Clts(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        cpu.Cr0 &= ~8UL;

        // Translated code checks CR0.TS and EM for SSE at block entry only.
        cpu.EndBlock = true;
    }

    /// <summary>
    /// MOV to CR0 (and LMSW): the paging and long-mode transitions of Intel SDM Vol. 3A 10.8.5
    /// (IA-32e mode is activated by setting PG with EFER.LME set, and left by clearing PG from
    /// compatibility mode) and the #GP(0) conditions of Vol. 2B MOV (Control Registers).
    /// </summary>
    private static void WriteCr0(CpuCore cpu, ulong value)
    {
        // ET (bit 4) is hardwired to 1 on processors after the 386 (Intel SDM Vol. 3A 2.5).
        value |= 0x10;
        ulong old = cpu.Cr0;
        if ((value >> 32) != 0 || ((value & CpuCore.Cr0PG) != 0 && (value & CpuCore.Cr0PE) == 0) || ((value & Cr0NW) != 0 && (value & Cr0CD) == 0))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        bool enablePaging = (value & CpuCore.Cr0PG) != 0 && (old & CpuCore.Cr0PG) == 0;
        bool disablePaging = (value & CpuCore.Cr0PG) == 0 && (old & CpuCore.Cr0PG) != 0;
        if (disablePaging && (cpu.Cr4 & CpuCore.Cr4Pcide) != 0)
        {
            // Paging cannot be turned off while PCIDs are enabled (Intel SDM Vol. 2B MOV, CR0).
            throw new GuestFault(Vectors.GP, 0);
        }
        ulong efer = cpu.Efer;
        if (enablePaging && (efer & CpuCore.EferLME) != 0)
        {
            if ((cpu.Cr4 & CpuCore.Cr4Pae) == 0 || cpu.Seg[(int)Core.Cpu.Seg.Cs].Long)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            efer |= CpuCore.EferLMA;
        }
        else if (disablePaging && (efer & CpuCore.EferLMA) != 0)
        {
            if (cpu.Bitness == 64)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            efer &= ~CpuCore.EferLMA;
        }

        if (enablePaging && (efer & CpuCore.EferLMA) == 0 && (cpu.Cr4 & CpuCore.Cr4Pae) != 0)
        {
            cpu.LoadPdptes(check: true);
        }

        cpu.Cr0 = value;
        cpu.Efer = efer;
        if (((old ^ value) & (CpuCore.Cr0PG | CpuCore.Cr0WP | CpuCore.Cr0PE)) != 0)
        {
            cpu.FlushTlb();
        }

        cpu.UpdateMode();

        // Translated code checks CR0.TS and EM for SSE at block entry only.
        cpu.EndBlock = true;
    }

    private static void WriteCr3(CpuCore cpu, ulong value)
    {
        if (cpu.LongMode)
        {
            // Bits 62:MAXPHYADDR are reserved; bit 63 is reserved too unless CR4.PCIDE is set, when it
            // asks to keep the PCID's TLB entries and is not stored (Intel SDM Vol. 3A 4.10.4.1).
            // This TLB does not tag entries by PCID, so it flushes anyway (invalidating more is allowed).
            if ((cpu.Cr4 & CpuCore.Cr4Pcide) != 0)
            {
                value &= ~(1UL << 63);
            }

            if ((value >> CpuCore.PhysicalAddressBits) != 0)
            {
                throw new GuestFault(Vectors.GP, 0);
            }
        }
        else
        {
            value = (uint)value;
        }

        ulong old = cpu.Cr3;
        cpu.Cr3 = value;
        if (cpu.PaePaging)
        {
            try
            {
                cpu.LoadPdptes(check: true);
            }
            catch (GuestFault)
            {
                cpu.Cr3 = old;
                throw;
            }
        }

        cpu.FlushTlbNonGlobal();
        cpu.EndBlock = true;
    }

    private static void WriteCr4(CpuCore cpu, ulong value)
    {
        ulong old = cpu.Cr4;
        if ((value & ~Cr4Known) != 0 || (cpu.LongMode && (value & CpuCore.Cr4Pae) == 0))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        // PCIDE may be set only in IA-32e mode with CR3[11:0] = 0 (Intel SDM Vol. 2B MOV, CR4).
        if ((value & ~old & CpuCore.Cr4Pcide) != 0 && (!cpu.LongMode || (cpu.Cr3 & 0xfff) != 0))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        const ulong pagingBits = CpuCore.Cr4Pse | CpuCore.Cr4Pae | CpuCore.Cr4Pge | CpuCore.Cr4Pcide | CpuCore.Cr4Smep | CpuCore.Cr4Smap
            | CpuCore.Cr4Pke;
        cpu.Cr4 = value;
        if (((old ^ value) & pagingBits) != 0)
        {
            if (cpu.PaePaging)
            {
                try
                {
                    cpu.LoadPdptes(check: true);
                }
                catch (GuestFault)
                {
                    cpu.Cr4 = old;
                    throw;
                }
            }

            cpu.FlushTlb();
        }

        cpu.EndBlock = true;
    }

    private static void MovToCr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        ulong value = cpu.ReadOp(ins, 1, CpuCore.OpSize(ins, 1));
        switch (ins.Op0Register)
        {
            case Iced.Intel.Register.CR0: WriteCr0(cpu, value); break;
            case Iced.Intel.Register.CR2: cpu.Cr2 = value; break;
            case Iced.Intel.Register.CR3: WriteCr3(cpu, value); break;
            case Iced.Intel.Register.CR4: WriteCr4(cpu, value); break;
            case Iced.Intel.Register.CR8: WriteCr8(cpu, value); break;
            default: throw new GuestFault(Vectors.UD);
        }
    }

    // CR8 is the local APIC's TPR[7:4] (Intel SDM Vol. 3A 11.8.6.1); the block ends so that an
    // interrupt the lower priority lets through is taken after this instruction.
    private static void WriteCr8(CpuCore cpu, ulong value)
    {
        cpu.Cr8 = value & 0xf;
        if (cpu.TaskPriority is { } tpr)
        {
            tpr.Cr8 = cpu.Cr8;
            cpu.EndBlock = true;
        }
    }

    private static void MovFromCr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        ulong value = ins.Op1Register switch
        {
            Iced.Intel.Register.CR0 => cpu.Cr0,
            Iced.Intel.Register.CR2 => cpu.Cr2,
            Iced.Intel.Register.CR3 => cpu.Cr3,
            Iced.Intel.Register.CR4 => cpu.Cr4,
            Iced.Intel.Register.CR8 => cpu.TaskPriority?.Cr8 ?? cpu.Cr8,
            _ => throw new GuestFault(Vectors.UD),
        };
        cpu.WriteOp(ins, 0, CpuCore.OpSize(ins, 0), value);
    }

    // DR0-DR7 by number; DR8-DR15 do not exist (#UD).
    private static int DebugRegisterIndex(Iced.Intel.Register reg) =>
        reg is >= Iced.Intel.Register.DR0 and <= Iced.Intel.Register.DR7 ? reg - Iced.Intel.Register.DR0 : throw new GuestFault(Vectors.UD);

    private static void MovToDr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        cpu.WriteDebugRegister(DebugRegisterIndex(ins.Op0Register), cpu.ReadOp(ins, 1, CpuCore.OpSize(ins, 1)));
    }

    private static void MovFromDr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        cpu.WriteOp(ins, 0, CpuCore.OpSize(ins, 0), cpu.ReadDebugRegister(DebugRegisterIndex(ins.Op1Register)));
    }

    private static void Cpuid(CpuCore cpu, ref Instruction ins)
    {
        uint leaf = (uint)cpu.R[0], subleaf = (uint)cpu.R[1];
        (uint a, uint b, uint c, uint d) = CpuModel.Query(leaf, subleaf, cpu.Index, cpu.ProcessorCount, (cpu.Cr4 & CpuCore.Cr4OsXsave) != 0, cpu.Xcr0);
        if (leaf == 1 && cpu.PlatformMsrs is { } apic && apic.TryReadMsr(ApicBaseMsr, 0, out ulong apicBase) && (apicBase & ApicBaseEnable) == 0)
        {
            // With IA32_APIC_BASE.EN clear the processor is one without an on-chip APIC, and
            // CPUID.01H:EDX.APIC[bit 9] reads 0 (Intel SDM Vol. 3A 11.4.3).
            d &= ~ApicFeature;
        }

        if (leaf == 7 && subleaf == 0 && (cpu.Cr4 & CpuCore.Cr4Pke) != 0)
        {
            // OSPKE reflects CR4.PKE (Intel SDM Vol. 2A CPUID, Table 3-8).
            c |= CpuModel.OsPke;
        }

        cpu.R[0] = a;
        cpu.R[3] = b;
        cpu.R[1] = c;
        cpu.R[2] = d;
    }

    /// <summary>The time-stamp counter: 1 GHz over host monotonic time plus the guest-written offset.</summary>
    public static ulong ReadTsc(CpuCore cpu) => CpuCore.HostTsc() + cpu.Msrs.GetValueOrDefault(Msr.Tsc);

    private static void Rdtsc(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Cr4 & 4) != 0 && cpu.Cpl != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong tsc = ReadTsc(cpu);
        cpu.R[0] = (uint)tsc;
        cpu.R[2] = tsc >> 32;
    }

    private static void Rdmsr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        uint index = (uint)cpu.R[1];
        ulong value = index switch
        {
            Msr.Efer => cpu.Efer,
            Msr.Tsc => ReadTsc(cpu),
            Msr.TscAdjust => cpu.Msrs.GetValueOrDefault(Msr.TscAdjust),
            Msr.ArchCapabilities => Core.Cpu.CpuModel.ArchCapabilities,
            Msr.Star => cpu.Star,
            Msr.Lstar => cpu.Lstar,
            Msr.Cstar => cpu.Cstar,
            Msr.Sfmask => cpu.Sfmask,
            Msr.FsBase => cpu.Seg[(int)Core.Cpu.Seg.Fs].Base,
            Msr.GsBase => cpu.Seg[(int)Core.Cpu.Seg.Gs].Base,
            Msr.KernelGsBase => cpu.KernelGsBase,
            Msr.TscAux => TimeStamp.TscAux(cpu),
            Msr.SysenterCs => cpu.SysenterCs,
            Msr.SysenterEsp => cpu.SysenterEsp,
            Msr.SysenterEip => cpu.SysenterEip,
            _ when Msr.IsStorage(index) => cpu.Msrs.TryGetValue(index, out ulong stored) ? stored : Msr.ResetValue(index),
            _ when CacheAndMcaMsrs.Owns(index) => CacheAndMcaMsrs.Read(index, cpu.Msrs),
            _ => ReadOtherMsr(cpu, index),
        };
        cpu.R[0] = (uint)value;
        cpu.R[2] = value >> 32;
    }

    private static void Wrmsr(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        uint index = (uint)cpu.R[1];
        ulong value = ((cpu.R[2] & 0xffff_ffff) << 32) | (cpu.R[0] & 0xffff_ffff);
        switch (index)
        {
            case Msr.Efer:
                WriteEfer(cpu, value);
                break;
            case Msr.Tsc:
                AdjustTsc(cpu, value - ReadTsc(cpu));
                break;
            case Msr.TscAdjust:
                AdjustTsc(cpu, value - cpu.Msrs.GetValueOrDefault(Msr.TscAdjust));
                break;
            case Msr.Star: cpu.Star = value; break;
            case Msr.Lstar: cpu.Lstar = Canonical(value); break;
            case Msr.Cstar: cpu.Cstar = Canonical(value); break;
            case Msr.Sfmask: cpu.Sfmask = value >> 32 == 0 ? value : throw new GuestFault(Vectors.GP, 0); break;
            case Msr.FsBase: cpu.Seg[(int)Core.Cpu.Seg.Fs].Base = Canonical(value); break;
            case Msr.GsBase: cpu.Seg[(int)Core.Cpu.Seg.Gs].Base = Canonical(value); break;
            case Msr.KernelGsBase: cpu.KernelGsBase = Canonical(value); break;
            case Msr.TscAux: cpu.Msrs[Msr.TscAux] = value >> 32 == 0 ? value : throw new GuestFault(Vectors.GP, 0); break;
            case Msr.SysenterCs: cpu.SysenterCs = value & 0xffff_ffff; break;
            case Msr.SysenterEsp: cpu.SysenterEsp = Canonical(value); break;
            case Msr.SysenterEip: cpu.SysenterEip = Canonical(value); break;
            case var _ when Msr.IsStorage(index):
                cpu.Msrs[index] = value;
                break;
            case var _ when CacheAndMcaMsrs.Owns(index):
                // Reserved bits, undefined memory types, non-zero MCi_STATUS/ADDR/MISC and the
                // read-only capability MSRs are #GP (Intel SDM Vol. 3A 12.11, 12.12.2; Vol. 3B 15.3).
                cpu.Msrs[index] = CacheAndMcaMsrs.IsValidWrite(index, value) ? value : throw new GuestFault(Vectors.GP, 0);
                break;
            default:
                // Only MSRs this CPU model knows may be written; others are #GP (Intel SDM Vol. 2B WRMSR).
                if (cpu.PlatformMsrs?.WriteMsr(index, value, ReadTsc(cpu)) is MsrWriteResult.Done)
                {
                    if (index == ApicBaseMsr)
                    {
                        cpu.ApicBaseWritten();
                    }

                    // A device's MSR may have raised an interrupt (IA32_TSC_DEADLINE with a deadline
                    // already passed, an x2APIC self IPI, an EOI that unmasks the next vector) or
                    // moved the APIC page: the block ends, so the vCPU looks at its interrupt
                    // sources at the next instruction boundary, not the end of a longer block.
                    cpu.EndBlock = true;
                    break;
                }

                throw new GuestFault(Vectors.GP, 0);
        }
    }

    // A write to IA32_TIME_STAMP_COUNTER that moves the TSC by X also adds X to IA32_TSC_ADJUST, and a
    // write to IA32_TSC_ADJUST that changes it by X moves the TSC by X (Intel SDM Vol. 3B 18.17.3).
    private static void AdjustTsc(CpuCore cpu, ulong delta)
    {
        cpu.Msrs[Msr.Tsc] = cpu.Msrs.GetValueOrDefault(Msr.Tsc) + delta;
        cpu.Msrs[Msr.TscAdjust] = cpu.Msrs.GetValueOrDefault(Msr.TscAdjust) + delta;
    }

    // MSRs of devices beside the core (IA32_APIC_BASE, IA32_TSC_DEADLINE), then those of the core.
    private static ulong ReadOtherMsr(CpuCore cpu, uint index)
    {
        if (cpu.PlatformMsrs is { } platform && platform.TryReadMsr(index, ReadTsc(cpu), out ulong value))
        {
            return value;
        }

        return cpu.Msrs.TryGetValue(index, out ulong v) ? v : throw new GuestFault(Vectors.GP, 0);
    }

    // Address-holding MSRs take only canonical values; others are #GP(0) (Intel SDM Vol. 2B WRMSR).
    private static ulong Canonical(ulong value) => CpuCore.IsCanonical(value) ? value : throw new GuestFault(Vectors.GP, 0);

    // EFER: SCE, LME, NXE are writable, LMA is read-only, the rest reserved; LME cannot change
    // while paging is on (Intel SDM Vol. 3A 10.8.5, Vol. 4 IA32_EFER).
    private static void WriteEfer(CpuCore cpu, ulong value)
    {
        const ulong writable = CpuCore.EferSCE | CpuCore.EferLME | CpuCore.EferLMA | CpuCore.EferNXE;
        if ((value & ~writable) != 0 || (cpu.PagingEnabled && ((value ^ cpu.Efer) & CpuCore.EferLME) != 0))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong efer = (value & ~CpuCore.EferLMA) | (cpu.Efer & CpuCore.EferLMA);
        if (((efer ^ cpu.Efer) & CpuCore.EferNXE) != 0)
        {
            cpu.FlushTlb();
        }

        cpu.Efer = efer;
        cpu.UpdateMode();
    }

    // SERIALIZE (Intel SDM Vol. 2B): every earlier instruction completes, stores included, before
    // the next is fetched. Instructions here complete in order and a store to code is seen by the
    // next fetch already (code pages are watched), so nothing is left to wait for; no flags, any
    // privilege level. Translated code orders the stores for other vCPUs with an MFENCE
    // (X86Emitter, hints).
    private static void Serialize(CpuCore cpu, ref Instruction ins)
    {
    }

    private static void CacheControl(CpuCore cpu, ref Instruction ins)
    {
        if (ins.Mnemonic != Mnemonic.Wait)
        {
            RequireCpl0(cpu);
        }
    }

    // INVLPG takes the linear address of its operand without limit checks or a memory access
    // (Intel SDM Vol. 2A INVLPG); the code being executed may be the page it remaps.
    private static void Invlpg(CpuCore cpu, ref Instruction ins)
    {
        RequireCpl0(cpu);
        ulong ea = cpu.EffectiveAddress(ins);
        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        ulong linear = cpu.Bitness == 64
            ? (seg >= (int)Core.Cpu.Seg.Fs ? cpu.Seg[seg].Base + ea : ea)
            : (cpu.Seg[seg].Base + ea) & 0xffff_ffff;
        cpu.FlushTlbPage(linear);
        // The block goes on unless its remaining instructions may be fetched through the translation
        // just invalidated: the next instruction's page or the one after it (a block runs onto one
        // more page at most), anywhere in the largest page (1 GiB) around them, which one INVLPG
        // invalidates whole (Intel SDM Vol. 3A 4.10.4.1). Linux invalidates its fixmap, far from its
        // text, some 70,000 times per boot; each used to end the block and return to the dispatcher.
        ulong next = cpu.Bitness == 64 ? cpu.Rip : (cpu.Seg[(int)Core.Cpu.Seg.Cs].Base + cpu.Rip) & 0xffff_ffff;
        ulong after = next + Memory.SoftTlb.PageMask + 1;
        cpu.EndBlock = linear >> LargestPageShift == next >> LargestPageShift || linear >> LargestPageShift == after >> LargestPageShift;
    }

    // The largest page a translation can map (1 GiB, Intel SDM Vol. 3A 4.5).
    private const int LargestPageShift = 30;

    // RDPMC exists on every P6-family processor, without a CPUID bit, and raises #GP(0) when ECX
    // names no counter (Intel SDM Vol. 2B RDPMC, exceptions of every mode). This model reports no
    // performance-monitoring leaf (CPUID.0AH), so it has no counter and every ECX is invalid; the
    // CR4.PCE/CPL check comes first but also ends in #GP(0).
    private static void Rdpmc(CpuCore cpu, ref Instruction ins) => throw new GuestFault(Vectors.GP, 0);
}
