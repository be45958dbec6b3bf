; Machine-check architecture, MTRR and PAT registers test ROM (Intel SDM Vol. 3B 15.3; Vol. 3A
; 12.11 MTRRs, 12.12 PAT; Vol. 3A 10.1 and Table 10-1 for RESET and INIT):
; - CPUID.01H:EDX reports MCE (7), MTRR (12), MCA (14) and PAT (16); CR4.MCE can be set;
; - IA32_MCG_CAP gives the bank count and MCG_CTL_P; IA32_MCG_STATUS takes RIPV/EIPV/MCIP and #GP
;   on its reserved bits 63:3; IA32_MCG_CTL holds all 1s and all 0s; IA32_MCi_CTL takes any value;
;   IA32_MCi_STATUS/ADDR/MISC take only 0 (writing 1s is #GP) and log no error; the MSR after the
;   last bank is not implemented (#GP);
; - after RESET the MTRRs are disabled (IA32_MTRR_DEF_TYPE.E and every PHYSMASKn.V clear) and
;   IA32_PAT is 0007040600070406H;
; - the MTRRs hold what is written and #GP on reserved bits (DEF_TYPE 9:8, 63:12; PHYSBASEn 11:8;
;   PHYSMASKn 10:0; both from MAXPHYADDR, CPUID.80000008H:EAX[7:0], up) and on the undefined memory
;   types 2, 3 and 7 (every byte of a fixed-range MTRR is a type);
; - IA32_PAT #GP on the reserved types 2, 3 and 8-FFH in any entry, leaving the MSR as it was;
; - INIT (an INIT IPI to itself) leaves the MTRRs, the PAT and the machine-check registers
;   unchanged; RESET (a triple fault) disables the MTRRs and restores the PAT again.
; The ROM runs three times, from the reset vector each time; a mark in RAM says which run it is.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/cachemca.bin (exit status 1 = all passed).

%include "lib.inc"

MARK_AREA   equ 0x0700                  ; outside VARS, which the frame clears
MARK_INIT   equ 0x54494e49              ; "INIT": the INIT IPI was sent
MARK_RESET  equ 0x54455352              ; "RSET": the triple fault was made
LAPIC_ICR   equ 0xfee00300
LAPIC_SVR   equ 0xfee000f0
MCG_CAP     equ 0x179
MCG_STATUS  equ 0x17a
MCG_CTL     equ 0x17b
MC0_CTL     equ 0x400
MTRRCAP     equ 0xfe
DEF_TYPE    equ 0x2ff
PHYSBASE0   equ 0x200
PHYSMASK0   equ 0x201
FIX64K      equ 0x250
FIX4K_F8000 equ 0x26f
PAT         equ 0x277
PAT_RESET_LO equ 0x00070406
PAT_RESET_HI equ 0x00070406
PAT_LINUX_LO equ 0x00070106             ; WB WC UC- UC (Linux's layout)
PAT_LINUX_HI equ 0x07040500             ; WB WP UC- WT
maxphy_hi   equ scratch + 0x00          ; dd: bit MAXPHYADDR as a bit of EDX (1 << (MAXPHYADDR - 32))
banks       equ scratch + 0x04          ; dd: IA32_MCG_CAP[7:0]
rd_hi       equ scratch + 0x08          ; dd
vcnt        equ scratch + 0x0c          ; dd: IA32_MTRRCAP.VCNT

; WRMSR_OK name, msr, hi, lo: the write does not fault and RDMSR returns the value.
%macro WRMSR_OK 4
            mov ecx, %2
            mov edx, %3
            mov eax, %4
            TRY wrmsr
            CHECKN %1, ": no fault", [fault_vec], NOFAULT
            RDMSR_IS %1, %2, %3, %4
%endmacro

; WRMSR_GP name, msr, hi, lo: the write raises #GP(0).
%macro WRMSR_GP 4
            mov ecx, %2
            mov edx, %3
            mov eax, %4
            TRY wrmsr
            CHECKN %1, ": #GP", [fault_vec], 13
%endmacro

; RDMSR_IS name, msr, hi, lo: RDMSR returns hi:lo.
%macro RDMSR_IS 4
            mov ecx, %2
            rdmsr
            mov [rd_hi], edx
            CHECKN %1, ": bits 31:0", eax, %4
            CHECKN %1, ": bits 63:32", [rd_hi], %3
%endmacro

            section pm
            bits 32
main:
            cmp dword [MARK_AREA], MARK_INIT
            je after_init
            cmp dword [MARK_AREA], MARK_RESET
            je after_reset

            ; ---- CPUID and CR4.MCE
            mov eax, 1
            cpuid
            and edx, (1 << 7) | (1 << 12) | (1 << 14) | (1 << 16)
            CHECK "CPUID.01H:EDX MCE, MTRR, MCA, PAT", edx, (1 << 7) | (1 << 12) | (1 << 14) | (1 << 16)
            mov eax, 0x80000008
            cpuid
            movzx ecx, al
            sub ecx, 32
            mov eax, 1
            shl eax, cl
            mov [maxphy_hi], eax
            mov eax, cr4
            or eax, 1 << 6
            TRY mov cr4, eax
            CHECK "MOV CR4 with MCE set: no fault", [fault_vec], NOFAULT
            mov eax, cr4
            and eax, 1 << 6
            CHECK "CR4.MCE reads back set", eax, 1 << 6

            ; ---- IA32_MCG_CAP, IA32_MCG_STATUS, IA32_MCG_CTL
            mov ecx, MCG_CAP
            rdmsr
            movzx ebx, al
            mov [banks], ebx
            and eax, 1 << 8
            CHECK "IA32_MCG_CAP: MCG_CTL_P", eax, 1 << 8
            xor eax, eax
            cmp dword [banks], 0
            setne al
            CHECK "IA32_MCG_CAP: at least one bank", eax, 1
            mov ecx, MCG_STATUS
            rdmsr
            and eax, 1 << 2
            CHECK "IA32_MCG_STATUS.MCIP clear: no machine check in progress", eax, 0
            WRMSR_OK "IA32_MCG_STATUS = MCIP", MCG_STATUS, 0, 1 << 2
            WRMSR_OK "IA32_MCG_STATUS = 0", MCG_STATUS, 0, 0
            WRMSR_GP "IA32_MCG_STATUS bit 3 (LMCE_S without MCG_LMCE_P)", MCG_STATUS, 0, 1 << 3
            WRMSR_GP "IA32_MCG_STATUS bit 63", MCG_STATUS, 0x80000000, 0
            WRMSR_OK "IA32_MCG_CTL = 0", MCG_CTL, 0, 0
            WRMSR_OK "IA32_MCG_CTL = all 1s", MCG_CTL, 0xffffffff, 0xffffffff

            ; ---- bank 1, and the last bank (IA32_MC(n-1)_x at 400H + 4(n-1))
            WRMSR_OK "IA32_MC1_CTL = 0", MC0_CTL + 4, 0, 0
            WRMSR_OK "IA32_MC1_CTL = all 1s", MC0_CTL + 4, 0xffffffff, 0xffffffff
            mov ecx, MC0_CTL + 4
            mov edx, 0x0000ffff
            mov eax, 0x0000ff00
            TRY wrmsr
            CHECK "IA32_MC1_CTL = other value: no fault", [fault_vec], NOFAULT
            RDMSR_IS "IA32_MC1_STATUS: VAL clear, nothing logged", MC0_CTL + 5, 0, 0
            WRMSR_OK "IA32_MC1_STATUS = 0", MC0_CTL + 5, 0, 0
            WRMSR_GP "IA32_MC1_STATUS = 1", MC0_CTL + 5, 0, 1
            WRMSR_GP "IA32_MC1_STATUS = VAL", MC0_CTL + 5, 0x80000000, 0
            WRMSR_OK "IA32_MC1_ADDR = 0", MC0_CTL + 6, 0, 0
            WRMSR_GP "IA32_MC1_ADDR = 1000H", MC0_CTL + 6, 0, 0x1000
            WRMSR_OK "IA32_MC1_MISC = 0", MC0_CTL + 7, 0, 0
            WRMSR_GP "IA32_MC1_MISC = 1", MC0_CTL + 7, 0, 1
            mov ecx, [banks]
            lea ecx, [MC0_CTL + ecx * 4 - 4]
            xor edx, edx
            xor eax, eax
            TRY wrmsr
            CHECK "IA32_MCi_CTL of the last bank = 0: no fault", [fault_vec], NOFAULT
            mov ecx, [banks]
            lea ecx, [MC0_CTL + ecx * 4 + 1 - 4]
            TRY rdmsr
            CHECK "IA32_MCi_STATUS of the last bank: no fault", [fault_vec], NOFAULT
            mov ecx, [banks]
            lea ecx, [MC0_CTL + ecx * 4]
            TRY rdmsr
            CHECK "RDMSR of the bank after the last: #GP", [fault_vec], 13

            ; ---- MTRRs after RESET
            mov ecx, MTRRCAP
            rdmsr
            movzx ebx, al
            mov [vcnt], ebx
            and eax, 1 << 8
            CHECK "IA32_MTRRCAP: fixed-range MTRRs (FIX)", eax, 1 << 8
            xor eax, eax
            cmp dword [vcnt], 0
            setne al
            CHECK "IA32_MTRRCAP: VCNT above 0", eax, 1
            mov ecx, DEF_TYPE
            rdmsr
            and eax, 1 << 11
            CHECK "after RESET: IA32_MTRR_DEF_TYPE.E clear", eax, 0
            xor ebx, ebx                    ; PHYSMASKn with V set
            xor esi, esi
.masks:     lea ecx, [PHYSMASK0 + esi * 2]
            rdmsr
            test eax, 1 << 11
            jz .next
            inc ebx
.next:      inc esi
            cmp esi, [vcnt]
            jb .masks
            CHECK "after RESET: every IA32_MTRR_PHYSMASKn.V clear", ebx, 0

            ; ---- IA32_MTRR_DEF_TYPE
            WRMSR_OK "IA32_MTRR_DEF_TYPE = E | FE | WB", DEF_TYPE, 0, 0xc06
            WRMSR_GP "IA32_MTRR_DEF_TYPE type 2", DEF_TYPE, 0, 0xc02
            WRMSR_GP "IA32_MTRR_DEF_TYPE type 3", DEF_TYPE, 0, 0xc03
            WRMSR_GP "IA32_MTRR_DEF_TYPE type 7", DEF_TYPE, 0, 0xc07
            WRMSR_GP "IA32_MTRR_DEF_TYPE bit 8", DEF_TYPE, 0, 0xd06
            WRMSR_GP "IA32_MTRR_DEF_TYPE bit 12", DEF_TYPE, 0, 0x1c06
            WRMSR_GP "IA32_MTRR_DEF_TYPE bit 32", DEF_TYPE, 1, 0xc06
            RDMSR_IS "IA32_MTRR_DEF_TYPE after refused writes", DEF_TYPE, 0, 0xc06

            ; ---- fixed-range MTRRs
            WRMSR_OK "IA32_MTRR_FIX64K_00000 = WB x 8", FIX64K, 0x06060606, 0x06060606
            WRMSR_OK "IA32_MTRR_FIX4K_F8000 = UC WC WT WP WB WP WT UC", FIX4K_F8000, 0x00040506, 0x05040100
            WRMSR_GP "IA32_MTRR_FIX64K_00000 with a type 2 byte", FIX64K, 0x06060606, 0x06020606
            WRMSR_GP "IA32_MTRR_FIX4K_F8000 with a type 7 byte", FIX4K_F8000, 0x07060606, 0x06060606
            WRMSR_GP "IA32_MTRR_FIX64K_00000 with a type 3 byte", FIX64K, 0x06060606, 0x06060603

            ; ---- variable-range pair 0
            WRMSR_OK "IA32_MTRR_PHYSBASE0 = E0000000H UC", PHYSBASE0, 0, 0xe0000000
            WRMSR_GP "IA32_MTRR_PHYSBASE0 type 3", PHYSBASE0, 0, 0xe0000003
            WRMSR_GP "IA32_MTRR_PHYSBASE0 bit 8", PHYSBASE0, 0, 0xe0000100
            mov ecx, PHYSBASE0
            mov edx, [maxphy_hi]
            xor eax, eax
            TRY wrmsr
            CHECK "IA32_MTRR_PHYSBASE0 bit MAXPHYADDR: #GP", [fault_vec], 13
            mov ecx, PHYSBASE0
            mov edx, [maxphy_hi]
            shr edx, 1
            mov eax, 6
            TRY wrmsr
            CHECK "IA32_MTRR_PHYSBASE0 bit MAXPHYADDR-1: no fault", [fault_vec], NOFAULT
            WRMSR_OK "IA32_MTRR_PHYSBASE0 = E0000000H UC again", PHYSBASE0, 0, 0xe0000000
            mov ecx, PHYSMASK0              ; 512 MiB: mask bits MAXPHYADDR-1:29
            mov edx, [maxphy_hi]
            dec edx
            mov eax, 0xe0000800
            TRY wrmsr
            CHECK "IA32_MTRR_PHYSMASK0 = 512 MiB, V: no fault", [fault_vec], NOFAULT
            WRMSR_GP "IA32_MTRR_PHYSMASK0 bit 0", PHYSMASK0, 0, 0xe0000801
            WRMSR_GP "IA32_MTRR_PHYSMASK0 bit 10", PHYSMASK0, 0, 0xe0000c00
            WRMSR_GP "IA32_MTRR_PHYSMASK0 bit 63", PHYSMASK0, 0x80000000, 0xe0000800
            mov ecx, PHYSMASK0
            rdmsr
            CHECK "IA32_MTRR_PHYSMASK0 after refused writes", eax, 0xe0000800

            ; ---- IA32_PAT
            RDMSR_IS "after RESET: IA32_PAT", PAT, PAT_RESET_HI, PAT_RESET_LO
            WRMSR_OK "IA32_PAT = WB WC UC- UC WB WP UC- WT", PAT, PAT_LINUX_HI, PAT_LINUX_LO
            WRMSR_GP "IA32_PAT PA0 = 2", PAT, PAT_LINUX_HI, 0x00070102
            WRMSR_GP "IA32_PAT PA3 = 3", PAT, PAT_LINUX_HI, 0x03070106
            WRMSR_GP "IA32_PAT PA7 = 8", PAT, 0x08040500, PAT_LINUX_LO
            WRMSR_GP "IA32_PAT PA5 = 80H", PAT, 0x07048000, PAT_LINUX_LO
            RDMSR_IS "IA32_PAT after refused writes", PAT, PAT_LINUX_HI, PAT_LINUX_LO

            ; ---- INIT: an INIT IPI to every processor including this one (11.6.1); the ROM starts
            ; again at the reset vector with the values above still in place.
            WRMSR_OK "IA32_MC2_CTL = 0", MC0_CTL + 8, 0, 0
            WRMSR_OK "IA32_MCG_CTL = 0 before INIT", MCG_CTL, 0, 0
            call save_counts
            mov dword [MARK_AREA], MARK_INIT
            mov dword [LAPIC_SVR], 0x1ff    ; APIC software-enabled
            mov dword [LAPIC_ICR], (2 << 18) | (1 << 14) | (5 << 8)
.wait:      pause
            jmp .wait

after_init:
            call restore_counts
            CHECK "INIT restarted the ROM", 1, 1
            RDMSR_IS "after INIT: IA32_MTRR_DEF_TYPE unchanged", DEF_TYPE, 0, 0xc06
            RDMSR_IS "after INIT: IA32_MTRR_PHYSBASE0 unchanged", PHYSBASE0, 0, 0xe0000000
            mov ecx, PHYSMASK0
            rdmsr
            CHECK "after INIT: IA32_MTRR_PHYSMASK0 unchanged", eax, 0xe0000800
            RDMSR_IS "after INIT: IA32_MTRR_FIX64K_00000 unchanged", FIX64K, 0x06060606, 0x06060606
            RDMSR_IS "after INIT: IA32_PAT unchanged", PAT, PAT_LINUX_HI, PAT_LINUX_LO
            RDMSR_IS "after INIT: IA32_MC2_CTL unchanged", MC0_CTL + 8, 0, 0
            RDMSR_IS "after INIT: IA32_MCG_CTL unchanged", MCG_CTL, 0, 0

            ; ---- RESET: a triple fault (no IDT, #UD -> #GP -> #DF -> shutdown) resets the PC.
            call save_counts
            mov dword [MARK_AREA], MARK_RESET
            lidt [empty_idtr]
            ud2
            jmp finish32

after_reset:
            call restore_counts
            mov dword [MARK_AREA], 0
            CHECK "triple fault reset the machine", 1, 1
            mov ecx, DEF_TYPE
            rdmsr
            and eax, 1 << 11
            CHECK "after RESET again: IA32_MTRR_DEF_TYPE.E clear", eax, 0
            mov ecx, PHYSMASK0
            rdmsr
            and eax, 1 << 11
            CHECK "after RESET again: IA32_MTRR_PHYSMASK0.V clear", eax, 0
            RDMSR_IS "after RESET again: IA32_PAT", PAT, PAT_RESET_HI, PAT_RESET_LO
            jmp finish32

save_counts:
            mov eax, [checks]
            mov [MARK_AREA + 4], eax
            mov eax, [failures]
            mov [MARK_AREA + 8], eax
            ret

restore_counts:
            mov eax, [MARK_AREA + 4]
            mov [checks], eax
            mov eax, [MARK_AREA + 8]
            mov [failures], eax
            ret

empty_idtr: dw 0
            dd 0
