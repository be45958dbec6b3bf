; x2APIC test ROM, in 64-bit mode (Intel SDM Vol. 3A 11.12; Vol. 2A CPUID Table 3-10,
; CPUID.01H:ECX[21]):
; - in xAPIC mode the x2APIC MSRs (800H-8FFH) raise #GP;
; - IA32_APIC_BASE.EXTD enters x2APIC mode from xAPIC mode; the register page is gone (a write
;   to it changes nothing), the registers are MSRs: the x2APIC ID is the initial APIC ID (CPUID.01H:EBX[31:24]),
;   the version is the xAPIC one, TPR keeps what was written through the page (11.12.5.1), the
;   logical ID is derived from the x2APIC ID (11.12.10.2);
; - #GP on writes to read-only registers (ID, version, PPR, LDR, current count), on reads of the
;   write-only ones (EOI, SELF IPI), on reserved MSRs (APR, RRD, DFR, ICR[63:32], past SELF IPI),
;   on bits 63:32 of 32-bit registers, on non-zero ESR writes and reserved SELF IPI bits
;   (11.12.1.2, 11.12.1.3, Table 11-6);
; - SELF IPI, the 64-bit ICR with a physical and a logical 32-bit destination and the all-
;   including-self shorthand deliver interrupts that an EOI through MSR 80BH ends; the ICR reads
;   back; the APIC timer runs through its MSRs;
; - x2APIC -> xAPIC and EXTD without EN raise #GP; x2APIC -> disabled -> xAPIC works, keeps the
;   8-bit ID, and the MSRs fault again (Figure 11-27);
; - CR8 is TPR[7:4] (11.8.6.1): MOV from CR8 reads what the page's TPR holds, MOV to CR8 sets
;   TPR[7:4] and clears TPR[3:0]; with IA32_APIC_BASE.EN clear CPUID.01H:EDX.APIC[bit 9] reads 0,
;   and 1 again once the APIC is enabled (11.4.3).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/x2apic.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PD_HIGH     equ PAGE_TABLES + 0x4000    ; 3-4 GiB in 2 MiB pages: the local APIC page
LAPIC       equ 0xfee00000
APIC_BASE   equ 0x1b
BASE_EN     equ 1 << 11
BASE_EXTD   equ 1 << 10
BASE_BSP    equ 1 << 8
irq_count   equ scratch + 0x00          ; dd: interrupts taken
irq_vec     equ scratch + 0x04          ; dd: the vector of the last one
version     equ scratch + 0x08          ; dq: the version register read through the page
my_id       equ scratch + 0x10          ; dq: CPUID.01H:EBX[31:24]

; RDMSR64 msr: RAX = MSR msr (64 bits).
%macro RDMSR64 1
            mov ecx, %1
            rdmsr
            shl rdx, 32
            or rax, rdx
%endmacro

; WRMSR64 msr: MSR msr = RAX.
%macro WRMSR64 1
            mov rdx, rax
            shr rdx, 32
            mov ecx, %1
            wrmsr
%endmacro

; GP_READ "name", msr: RDMSR of msr must raise #GP.
%macro GP_READ 2
            EXPECT_FAULT64 %%after
            mov ecx, %2
            rdmsr
%%after:    CHECK64 %1, [fault_vec], 13
%endmacro

; GP_WRITE "name", msr, value: WRMSR of value (64 bits) to msr must raise #GP.
%macro GP_WRITE 3
            EXPECT_FAULT64 %%after
            mov rax, %3
            WRMSR64 %2
%%after:    CHECK64 %1, [fault_vec], 13
%endmacro

; IRQ "name", vector: interrupts on for a moment; exactly one interrupt with that vector came.
%macro IRQ 2
            mov dword [irq_count], 0
            mov dword [irq_vec], 0
            call window
            mov eax, [irq_count]
            shl eax, 8
            or eax, [irq_vec]
            CHECK64 %1, rax, 0x100 | %2
%endmacro

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
            mov edx, PD_HIGH
            call pg64_map_high
            mov eax, PML4
            mov ebx, long_entry
            call enter_long_mode

            bits 64
long_entry:
            mov rsp, STACK_TOP
            mov r15, LAPIC                  ; a 32-bit displacement would be sign-extended
            call idt64_install
%assign v 0x50
%rep 5
            mov eax, v
            mov rbx, irq_handler_%[v]
            mov ecx, SEL_CODE64
            mov edx, 0x8e
            xor r8d, r8d
            call set_gate64
%assign v v + 1
%endrep
            mov eax, 0xff
            mov rbx, spurious_handler
            call set_gate64

            mov eax, 1
            cpuid
            shr ebx, 24
            mov [my_id], rbx
            and ecx, 1 << 21
            CHECK64 "CPUID.1:ECX[21]: x2APIC", rcx, 1 << 21

            ; ---- xAPIC mode
            RDMSR64 APIC_BASE
            and eax, BASE_EN | BASE_EXTD | BASE_BSP
            CHECK64 "after reset: xAPIC mode (EN = 1, EXTD = 0) on the BSP", rax, BASE_EN | BASE_BSP
            GP_READ "xAPIC mode: RDMSR of the x2APIC ID (802H) is #GP", 0x802
            GP_WRITE "xAPIC mode: WRMSR of the TPR (808H) is #GP", 0x808, 0
            mov dword [r15 + 0x80], 0x5a
            mov rax, cr8
            CHECK64 "CR8 reads TPR[7:4] (5AH written through the page)", rax, 5
            mov eax, 0xc
            mov cr8, rax
            mov eax, [r15 + 0x80]
            CHECK64 "MOV CR8, 0CH: the page's TPR = C0H", rax, 0xc0
            xor eax, eax
            mov cr8, rax
            mov eax, [r15 + 0x30]
            mov [version], rax
            mov dword [r15 + 0x80], 0x30          ; TPR through the page
            mov dword [r15 + 0xf0], 0x1ff

            ; ---- into x2APIC mode
            GP_WRITE "EXTD without EN is #GP", APIC_BASE, LAPIC | BASE_EXTD
            mov dword [fault_count], 0
            mov rax, LAPIC | BASE_EN | BASE_EXTD
            WRMSR64 APIC_BASE
            CHECK64 "xAPIC -> x2APIC is allowed", [fault_count], 0
            RDMSR64 APIC_BASE
            mov rbx, LAPIC | BASE_EN | BASE_EXTD | BASE_BSP
            CHECK64 "IA32_APIC_BASE: EN, EXTD, BSP", rax, rbx
            mov dword [r15 + 0x80], 0x70            ; TPR through the page: not a register any more
            RDMSR64 0x808
            CHECK64 "x2APIC mode: a write to the register page does not reach the registers", rax, 0x30
            RDMSR64 0x802
            CHECK64 "x2APIC ID (802H) = the initial APIC ID", rax, [my_id]
            RDMSR64 0x803
            CHECK64 "version (803H) is the xAPIC version", rax, [version]
            RDMSR64 0x808
            CHECK64 "TPR (808H) keeps what was written through the page", rax, 0x30
            RDMSR64 0x80d
            mov rcx, [my_id]
            mov ebx, 1
            shl ebx, cl
            shr ecx, 4
            shl ecx, 16
            or ebx, ecx
            CHECK64 "LDR (80DH) = cluster (ID[19:4]) << 16 | 1 << ID[3:0]", rax, rbx
            mov rax, 0
            WRMSR64 0x808

            ; ---- access rules
            GP_WRITE "WRMSR of the x2APIC ID (read-only) is #GP", 0x802, 0
            GP_WRITE "WRMSR of the version (read-only) is #GP", 0x803, 0
            GP_WRITE "WRMSR of the PPR (read-only) is #GP", 0x80a, 0
            GP_WRITE "WRMSR of the LDR (read-only) is #GP", 0x80d, 0
            GP_WRITE "WRMSR of the current count (read-only) is #GP", 0x839, 0
            GP_READ "RDMSR of EOI (write-only) is #GP", 0x80b
            GP_READ "RDMSR of SELF IPI (write-only) is #GP", 0x83f
            GP_READ "RDMSR 809H (no APR in x2APIC mode) is #GP", 0x809
            GP_READ "RDMSR 80CH (no RRD) is #GP", 0x80c
            GP_READ "RDMSR 80EH (no DFR in x2APIC mode) is #GP", 0x80e
            GP_WRITE "WRMSR 80EH (no DFR in x2APIC mode) is #GP", 0x80e, 0
            GP_READ "RDMSR 831H (the ICR is one MSR) is #GP", 0x831
            GP_WRITE "WRMSR 831H is #GP", 0x831, 0
            GP_READ "RDMSR 840H (past the registers) is #GP", 0x840
            mov rax, 1 << 32
            GP_WRITE "WRMSR of the TPR with bits 63:32 set is #GP", 0x808, rax
            GP_WRITE "WRMSR of a non-zero ESR is #GP", 0x828, 1
            GP_WRITE "WRMSR of SELF IPI with bits 31:8 set is #GP", 0x83f, 0x150
            mov dword [fault_count], 0
            xor eax, eax
            WRMSR64 0x828
            RDMSR64 0x828
            CHECK64 "ESR: a zero write, then no error", rax, 0
            CHECK64 "no #GP from the allowed accesses", [fault_count], 0

            ; ---- interrupts through the MSRs
            mov eax, 0x50
            WRMSR64 0x83f
            IRQ "SELF IPI delivers its vector", 0x50
            RDMSR64 0x812
            CHECK64 "the EOI through 80BH cleared the ISR bit", rax, 0
            mov rax, [my_id]
            shl rax, 32
            or rax, 0x51                            ; fixed, physical
            WRMSR64 0x830
            IRQ "ICR: physical destination = own x2APIC ID", 0x51
            RDMSR64 0x830
            mov rbx, [my_id]
            shl rbx, 32
            or rbx, 0x51
            CHECK64 "ICR reads back (64 bits, no delivery status)", rax, rbx
            RDMSR64 0x80d
            shl rax, 32
            or rax, (1 << 11) | 0x52                ; fixed, logical
            WRMSR64 0x830
            IRQ "ICR: logical destination = own logical x2APIC ID", 0x52
            mov rax, (2 << 18) | 0x53               ; all including self
            WRMSR64 0x830
            IRQ "ICR: the all-including-self shorthand", 0x53
            mov rax, 0x54                           ; LVT timer: one-shot, vector 0x54
            WRMSR64 0x832
            mov rax, 0xb                            ; divide by 1
            WRMSR64 0x83e
            mov rax, 1000
            WRMSR64 0x838
            IRQ "the APIC timer through its MSRs interrupts", 0x54
            RDMSR64 0x838
            CHECK64 "initial count (838H) reads back", rax, 1000

            ; ---- leaving x2APIC mode
            GP_WRITE "x2APIC -> xAPIC directly is #GP", APIC_BASE, LAPIC | BASE_EN
            mov dword [fault_count], 0
            mov rax, LAPIC
            WRMSR64 APIC_BASE
            CHECK64 "x2APIC -> disabled is allowed", [fault_count], 0
            mov eax, 1
            cpuid
            and edx, 1 << 9
            CHECK64 "APIC disabled: CPUID.01H:EDX.APIC = 0", rdx, 0
            GP_WRITE "disabled -> x2APIC is #GP", APIC_BASE, LAPIC | BASE_EN | BASE_EXTD
            mov dword [fault_count], 0
            mov rax, LAPIC | BASE_EN
            WRMSR64 APIC_BASE
            CHECK64 "disabled -> xAPIC is allowed", [fault_count], 0
            mov eax, 1
            cpuid
            and edx, 1 << 9
            CHECK64 "enabled again: CPUID.01H:EDX.APIC = 1", rdx, 1 << 9
            mov eax, [r15 + 0x20]
            shr eax, 24
            CHECK64 "xAPIC again: the ID register holds the 8-bit ID", rax, [my_id]
            GP_READ "xAPIC again: RDMSR 802H is #GP", 0x802

            jmp finish64

; window: interrupts enabled until one is taken or 2^30 TSC ticks pass.
window:
            rdtsc
            shl rdx, 32
            or rax, rdx
            mov rcx, 1 << 30
            add rcx, rax
            sti
.spin:      cmp dword [irq_count], 0
            jne .done
            pause
            rdtsc
            shl rdx, 32
            or rax, rdx
            cmp rax, rcx
            jb .spin
.done:      cli
            ret

; Each vector's handler records it and ends it with an EOI through MSR 80BH (zero).
%assign v 0x50
%rep 5
irq_handler_%[v]:
            push rax
            mov eax, v
            jmp irq_common
%assign v v + 1
%endrep
irq_common:
            push rcx
            push rdx
            mov [irq_vec], eax
            inc dword [irq_count]
            mov ecx, 0x80b
            xor eax, eax
            xor edx, edx
            wrmsr
            pop rdx
            pop rcx
            pop rax
            iretq

spurious_handler:
            iretq
