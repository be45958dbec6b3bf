; System-feature test ROM, in 64-bit mode: the CPUID bits and what they promise (Intel SDM Vol. 2A
; CPUID Table 3-8; Vol. 3A 2.5 CR4, 4.6 access rights, 4.10 PCIDs; Vol. 3B 18 debug facilities):
; - RDTSCP and RDPID return IA32_TSC_AUX (MSR C0000103H, reserved bits 63:32 #GP on WRMSR);
; - RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE: #UD while CR4.FSGSBASE is clear, the bases of FS and GS
;   (the MSRs see the same values), 32-bit forms zero-extend, non-canonical writes #GP(0);
; - UMIP: SGDT, SIDT, SLDT, STR, SMSW at CPL 3 are #GP(0) with CR4.UMIP, allowed without;
; - SMEP: a supervisor fetch from a user page is #PF with P|I/D; SMAP: a supervisor read or write of
;   a user page is #PF (P, P|W) unless EFLAGS.AC is set (STAC), CLAC clears it again;
; - PCID: CR4.PCIDE needs CR3[11:0] = 0; CR3 keeps the PCID, never bit 63; INVPCID types 0-3,
;   type 4 and reserved descriptor bits are #GP(0);
; - single-step: #DB after each instruction run with TF set (not after the POPF that sets it, after
;   the one that clears it), DR6.BS, no trap between MOV SS and the next instruction;
; - DR0-DR3/DR7: a data write breakpoint traps after the writing instruction with DR6.Bn and is
;   not hit by reads; a read/write breakpoint is; an overlapping access hits; an instruction
;   breakpoint faults before the instruction and RF in the image lets it run; DR7.GD makes MOV DR
;   a #DB fault with DR6.BD and clears GD; INT1 (ICEBP) is a #DB trap from any CPL without a DPL check.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/sysfeat.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PDPT_U      equ PAGE_TABLES + 0x4000    ; PML4 entry 1: the user region at 512 GiB
PD_U        equ PAGE_TABLES + 0x5000
PT_U        equ PAGE_TABLES + 0x6000
USER_REGION equ 0x8000000000            ; -> physical 0x300000 (data), 0x301000 (code)
USER_STACK  equ STACKS + 0x4000
TSC_AUX     equ 0xc0000103
DR6_BS      equ 0x4000
db_count    equ scratch + 0x00          ; #DB handler: traps taken
db_rip      equ scratch + 0x08          ; RIPs of the first four
db_dr6      equ scratch + 0x28          ; DR6 at the last trap
db_stop     equ scratch + 0x30          ; RIP at which the handler clears TF in the image
db_rf       equ scratch + 0x38          ; when not 0, the handler sets RF in the image
r3_res      equ scratch + 0x40          ; ring-3 results: vector of each UMIP test
ss_keep     equ scratch + 0x70

; DBRESET: forget earlier #DB traps and clear DR6's status bits.
%macro DBRESET 0
            mov dword [db_count], 0
            mov qword [db_rip], 0
            mov qword [db_rip + 8], 0
            mov qword [db_rip + 16], 0
            mov qword [db_rip + 24], 0
            xor eax, eax
            mov dr6, rax
%endmacro

; R3 index, insn: in ring 3, runs the instruction and keeps the vector it raised (NOFAULT if none).
%macro R3 2+
            mov qword [resume], %%after
            mov dword [fault_vec], 0xffffffff
            %2
%%after:    mov qword [resume], 0
            mov eax, [fault_vec]
            mov [r3_res + 4 * %1], eax
%endmacro

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
            ; The user region: U/S set at every level.
            mov dword [PML4 + 8], PDPT_U | 7
            mov dword [PDPT_U], PD_U | 7
            mov dword [PD_U], PT_U | 7
            mov dword [PT_U], 0x300000 | 7
            mov dword [PT_U + 8], 0x301000 | 7
            mov dword [0x300000], 0x5eed
            mov byte [0x301000], 0xc3       ; RET
            ; 64-bit TSS with RSP0 for the ring-3 part.
            mov edi, TSS_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS_BASE + 4], STACK_TOP
            mov word [TSS_BASE + 0x66], 0x68
            mov eax, TSS_BASE
            mov edx, 0x67
            mov ebx, SEL_TSS
            mov ecx, 0x89
            call set_descriptor
            mov dword [GDT_BASE + SEL_TSS + 8], 0
            mov dword [GDT_BASE + SEL_TSS + 12], 0
            mov eax, PML4
            mov ebx, long_entry
            call enter_long_mode

            bits 64
long_entry:
            mov rsp, STACK_TOP
            call idt64_install
            mov eax, 1
            mov rbx, db_handler
            mov ecx, SEL_CODE64
            mov edx, 0x8e
            xor r8d, r8d
            call set_gate64
            mov eax, 0x43
            mov rbx, back_to_ring0
            mov edx, 0xee
            call set_gate64
            mov ax, SEL_TSS
            ltr ax

            ; ---- CPUID
            mov eax, 7
            xor ecx, ecx
            cpuid
            mov eax, ebx
            and eax, (1 << 0) | (1 << 7) | (1 << 10) | (1 << 20)
            CHECK64 "CPUID.7:EBX: FSGSBASE, SMEP, INVPCID, SMAP", rax, (1 << 0) | (1 << 7) | (1 << 10) | (1 << 20)
            mov eax, 7
            xor ecx, ecx
            cpuid
            mov eax, ecx
            and eax, (1 << 2) | (1 << 22)
            CHECK64 "CPUID.7:ECX: UMIP, RDPID", rax, (1 << 2) | (1 << 22)
            mov eax, 1
            cpuid
            mov eax, ecx
            and eax, 1 << 17
            CHECK64 "CPUID.1:ECX: PCID", rax, 1 << 17
            mov eax, 0x80000001
            cpuid
            mov eax, edx
            and eax, 1 << 27
            CHECK64 "CPUID.80000001:EDX: RDTSCP", rax, 1 << 27

            ; ---- IA32_TSC_AUX, RDTSCP, RDPID
            mov ecx, TSC_AUX
            mov eax, 0x12345
            xor edx, edx
            wrmsr
            rdtsc
            shl rdx, 32
            or rax, rdx
            mov r12, rax
            mov rcx, -1
            rdtscp
            shl rdx, 32
            or rax, rdx
            mov r13, rax
            CHECK64 "RDTSCP: ECX = IA32_TSC_AUX, upper half clear", rcx, 0x12345
            sub r13, r12
            sar r13, 63
            CHECK64 "RDTSCP: the counter has not gone back since RDTSC", r13, 0
            mov rax, -1
            rdpid rax
            CHECK64 "RDPID: IA32_TSC_AUX, zero-extended", rax, 0x12345
            mov ecx, TSC_AUX
            rdmsr
            CHECK64 "RDMSR IA32_TSC_AUX", rax, 0x12345
            EXPECT_FAULT64 .aux1
            mov ecx, TSC_AUX
            mov eax, 1
            mov edx, 1
            wrmsr
.aux1:      CHECK64 "WRMSR IA32_TSC_AUX with bits 63:32 set: #GP", [fault_vec], 13

            ; ---- FSGSBASE
            EXPECT_FAULT64 .fs1
            rdfsbase rax
.fs1:       CHECK64 "RDFSBASE with CR4.FSGSBASE clear: #UD", [fault_vec], 6
            mov rax, cr4
            bts rax, 16
            mov cr4, rax
            mov rax, 0x300000
            wrfsbase rax
            mov eax, [fs:0]
            CHECK64 "WRFSBASE: FS-relative reads use the new base", rax, 0x5eed
            mov ecx, 0xc0000100
            rdmsr
            CHECK64 "WRFSBASE: IA32_FS_BASE holds it", rax, 0x300000
            mov rax, 0xffff8000_12345678
            wrgsbase rax
            rdgsbase rbx
            mov rax, 0xffff8000_12345678
            CHECK64 "WRGSBASE/RDGSBASE round trip", rbx, rax
            mov eax, 0x87654321
            wrgsbase eax
            rdgsbase rbx
            mov eax, 0x87654321
            CHECK64 "WRGSBASE r32 zero-extends", rbx, rax
            rdfsbase ebx
            CHECK64 "RDFSBASE r32", rbx, 0x300000
            mov rax, 0x0000800000000000
            EXPECT_FAULT64 .fs2
            wrgsbase rax
.fs2:       CHECK64 "WRGSBASE non-canonical: #GP", [fault_vec], 13
            xor eax, eax
            wrfsbase rax
            wrgsbase rax

            ; ---- UMIP, from ring 3 (the low 1 GiB is still user-accessible here)
            mov rax, cr4
            bts rax, 11
            mov cr4, rax
            mov [ss_keep], rsp
            push SEL_UDATA | 3
            push USER_STACK
            push 0x3002
            push SEL_UCODE64 | 3
            push user_umip
            iretq
user_umip:
            R3 0, sgdt [DATA]
            R3 1, sidt [DATA]
            R3 2, sldt ax
            R3 3, str ax
            R3 4, smsw ax
            int 0x43
back_to_ring0:
            mov rsp, [ss_keep]
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            mov eax, [r3_res]
            CHECK64 "UMIP: SGDT at CPL 3 is #GP", rax, 13
            mov eax, [r3_res + 4]
            CHECK64 "UMIP: SIDT at CPL 3 is #GP", rax, 13
            mov eax, [r3_res + 8]
            CHECK64 "UMIP: SLDT at CPL 3 is #GP", rax, 13
            mov eax, [r3_res + 12]
            CHECK64 "UMIP: STR at CPL 3 is #GP", rax, 13
            mov eax, [r3_res + 16]
            CHECK64 "UMIP: SMSW at CPL 3 is #GP", rax, 13
            mov dword [fault_count], 0
            sgdt [DATA]
            smsw ax
            CHECK64 "UMIP: SGDT and SMSW at CPL 0 are allowed", [fault_count], 0
            mov rax, cr4
            btr rax, 11
            mov cr4, rax

            ; ---- SMEP and SMAP: the low 512 GiB become supervisor-only, the user region stays user
            mov dword [PML4], PAGE_TABLES + 0x1000 | 3
            mov rax, cr3
            mov cr3, rax
            mov rax, USER_REGION + 0x1000
            call rax
            CHECK64 "without SMEP, ring 0 runs code on a user page", [fault_count], 0
            mov rax, cr4
            bts rax, 20
            mov cr4, rax
            mov rax, USER_REGION + 0x1000
            EXPECT_FAULT64 .smep1
            call rax
.smep1:     mov rsp, [ss_keep]
            CHECK64 "SMEP: a supervisor fetch from a user page is #PF", [fault_vec], 14
            CHECK64 "SMEP: error code P|I/D", [fault_err], 0x11
            mov rbx, USER_REGION + 0x1000
            CHECK64 "SMEP: CR2", [fault_cr2], rbx
            mov rax, USER_REGION
            mov eax, [rax]
            CHECK64 "without SMAP, ring 0 reads a user page", rax, 0x5eed
            mov rax, cr4
            bts rax, 21
            mov cr4, rax
            mov rdi, USER_REGION
            EXPECT_FAULT64 .smap1
            mov eax, [rdi]
.smap1:     CHECK64 "SMAP: a supervisor read of a user page is #PF", [fault_vec], 14
            CHECK64 "SMAP: read error code P", [fault_err], 1
            EXPECT_FAULT64 .smap2
            mov dword [rdi], 1
.smap2:     CHECK64 "SMAP: write error code P|W", [fault_err], 3
            stac
            mov dword [fault_count], 0
            mov dword [rdi + 4], 0x77
            mov eax, [rdi + 4]
            CHECK64 "SMAP with STAC (AC = 1): the access is allowed", rax, 0x77
            CHECK64 "SMAP with STAC: no fault", [fault_count], 0
            clac
            EXPECT_FAULT64 .smap3
            mov eax, [rdi]
.smap3:     CHECK64 "SMAP after CLAC: #PF again", [fault_vec], 14
            mov rax, cr4
            and rax, ~((1 << 20) | (1 << 21))
            mov cr4, rax
            mov dword [PML4], PAGE_TABLES + 0x1000 | 7

            ; ---- PCID and INVPCID
            mov rax, cr3
            or rax, 5
            mov cr3, rax
            mov rax, cr4
            bts rax, 17
            EXPECT_FAULT64 .pcid1
            mov cr4, rax
.pcid1:     CHECK64 "CR4.PCIDE with CR3[11:0] != 0: #GP", [fault_vec], 13
            mov rax, cr3
            and rax, ~0xfff
            mov cr3, rax
            mov rax, cr4
            bts rax, 17
            mov cr4, rax
            mov rax, cr4
            shr rax, 17
            and eax, 1
            CHECK64 "CR4.PCIDE set", rax, 1
            mov rax, cr3
            or rax, 5
            bts rax, 63
            mov cr3, rax
            mov rbx, cr3
            mov rax, PML4 | 5
            CHECK64 "CR3 keeps PCID 5, not bit 63", rbx, rax
            mov qword [DATA], 5
            mov qword [DATA + 8], 0x200000
            mov dword [fault_count], 0
            mov eax, 0
            invpcid rax, [DATA]
            mov eax, 1
            invpcid rax, [DATA]
            mov eax, 2
            invpcid rax, [DATA]
            mov eax, 3
            invpcid rax, [DATA]
            CHECK64 "INVPCID types 0-3", [fault_count], 0
            mov eax, 4
            EXPECT_FAULT64 .inv1
            invpcid rax, [DATA]
.inv1:      CHECK64 "INVPCID type 4: #GP", [fault_vec], 13
            mov qword [DATA], 0x1005
            mov eax, 1
            EXPECT_FAULT64 .inv2
            invpcid rax, [DATA]
.inv2:      CHECK64 "INVPCID with descriptor bits 63:12 set: #GP", [fault_vec], 13
            mov rax, cr3
            and rax, ~0xfff
            mov cr3, rax
            mov rax, cr4
            btr rax, 17
            mov cr4, rax

            ; ---- single-step
            DBRESET
            mov qword [db_stop], .ss_end
            pushfq
            or qword [rsp], 0x100
            popfq                           ; sets TF: no trap after the POPF itself
            nop
.ss1:       mov eax, 1
.ss2:       nop
.ss_end:
            CHECK64 "single-step: three traps after POPF set TF", [db_count], 3
            CHECK64 "single-step: first trap after the first instruction", [db_rip], .ss1
            CHECK64 "single-step: second trap", [db_rip + 8], .ss2
            CHECK64 "single-step: third trap", [db_rip + 16], .ss_end
            mov rax, [db_dr6]
            and eax, DR6_BS
            CHECK64 "single-step: DR6.BS", rax, DR6_BS
            ; MOV SS holds the trap back until after the next instruction.
            DBRESET
            mov qword [db_stop], .ms_end
            mov bx, ss
            pushfq
            or qword [rsp], 0x100
            popfq
            nop
.ms1:       mov ss, bx
            nop
.ms_end:
            CHECK64 "MOV SS: no trap after it, one after the next instruction", [db_count], 2
            CHECK64 "MOV SS: first trap after the NOP before it", [db_rip], .ms1
            CHECK64 "MOV SS: second trap after the instruction following MOV SS", [db_rip + 8], .ms_end
            ; POPF that clears TF is still trapped (TF was set when it started).
            DBRESET
            mov qword [db_stop], 0
            pushfq
            or qword [rsp], 0x100
            popfq
            nop
            pushfq
            and qword [rsp], ~0x100
            popfq
.pf_end:    nop
            CHECK64 "POPF clearing TF: traps after NOP, PUSHF, AND, POPF", [db_count], 4
            CHECK64 "POPF clearing TF: the last trap follows it", [db_rip + 24], .pf_end

            ; ---- data breakpoints
            DBRESET
            mov qword [DATA + 0x100], 0
            mov rax, DATA + 0x100
            mov dr0, rax
            mov rax, (1 << 0) | (1 << 16) | (3 << 18)   ; L0, write, 4 bytes
            mov dr7, rax
            mov eax, [DATA + 0x100]
            CHECK64 "write breakpoint: a read does not hit", [db_count], 0
            mov dword [DATA + 0x100], 7
.dw1:       CHECK64 "write breakpoint: the write traps", [db_count], 1
            CHECK64 "write breakpoint: after the writing instruction", [db_rip], .dw1
            mov rax, [db_dr6]
            and eax, 0x400f
            CHECK64 "write breakpoint: DR6.B0", rax, 1
            DBRESET
            mov byte [DATA + 0x103], 1
.dw2:       CHECK64 "write breakpoint: a byte write inside the range hits", [db_count], 1
            DBRESET
            mov byte [DATA + 0x104], 1
            CHECK64 "write breakpoint: a byte just past it does not", [db_count], 0
            mov rax, DATA + 0x108
            mov dr1, rax
            mov rax, (1 << 2) | (3 << 20) | (2 << 22)   ; L1, read/write, 8 bytes
            mov dr7, rax
            DBRESET
            mov rax, [DATA + 0x10c]
.dr1:       CHECK64 "read/write breakpoint: a read hits", [db_count], 1
            mov rax, [db_dr6]
            and eax, 0xf
            CHECK64 "read/write breakpoint: DR6.B1", rax, 2
            xor eax, eax
            mov dr7, rax

            ; ---- instruction breakpoint: a fault before the instruction; RF lets it run once
            DBRESET
            mov rax, .ib
            mov dr2, rax
            mov rax, 1 << 4                 ; L2, execute, 1 byte
            mov dr7, rax
            mov qword [db_rf], 1
            mov ebx, 0
.ib:        mov ebx, 0x1b
            mov r12, rbx
            CHECK64 "instruction breakpoint: one #DB", [db_count], 1
            CHECK64 "instruction breakpoint: a fault at the instruction", [db_rip], .ib
            CHECK64 "instruction breakpoint: with RF it then runs", r12, 0x1b
            mov rax, [db_dr6]
            and eax, 0xf
            CHECK64 "instruction breakpoint: DR6.B2", rax, 4
            mov qword [db_rf], 0
            xor eax, eax
            mov dr7, rax

            ; ---- general detect
            DBRESET
            mov rax, 1 << 13
            mov dr7, rax
            mov qword [db_stop], 0
.gd0:       mov rax, dr0
.gd1:       CHECK64 "DR7.GD: MOV DR is a #DB", [db_count], 1
            CHECK64 "DR7.GD: a fault at the MOV", [db_rip], .gd0
            mov rax, [db_dr6]
            and eax, 0x2000
            CHECK64 "DR7.GD: DR6.BD", rax, 0x2000
            mov rax, dr7
            and eax, 1 << 13
            CHECK64 "DR7.GD is cleared by the #DB", rax, 0

            ; ---- INT1: a #DB trap, not a breakpoint, DR6 untouched
            DBRESET
            db 0xf1
.i1:        CHECK64 "INT1: one #DB", [db_count], 1
            CHECK64 "INT1: a trap (RIP after it)", [db_rip], .i1
            mov rax, [db_dr6]
            and eax, 0xe00f
            CHECK64 "INT1: DR6 status bits unchanged", rax, 0

            jmp finish64

; #DB: records the trap; clears TF in the image at [db_stop], sets RF when [db_rf]; for the
; general-detect fault, skips the MOV DR (3 bytes) so the test goes on.
db_handler:
            push rax
            push rbx
            mov eax, [db_count]
            cmp eax, 4
            jae .full
            mov rbx, [rsp + 16]
            mov [db_rip + rax * 8], rbx
.full:      inc dword [db_count]
            mov rax, dr6
            mov [db_dr6], rax
            test eax, 0x2000
            jz .not_gd
            add qword [rsp + 16], 3
.not_gd:    mov rax, [rsp + 16]
            cmp rax, [db_stop]
            jne .keep_tf
            and qword [rsp + 32], ~0x100
.keep_tf:   cmp qword [db_rf], 0
            je .out
            or qword [rsp + 32], 0x10000
.out:       pop rbx
            pop rax
            iretq
