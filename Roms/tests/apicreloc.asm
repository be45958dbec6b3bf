; Local APIC relocation over RAM, in 64-bit mode (Intel SDM Vol. 3A 11.4.1, "the APIC registers
; are memory-mapped to a 4-KByte region of the processor's physical address space"; 11.4.4 and
; 11.4.5, IA32_APIC_BASE[MAXPHYADDR-1:12] relocates that region; 11.8.6.1, CR8 is TPR[7:4]):
; - a RAM page at 1 MiB is read and written first, so any TLB holds entries for it;
; - WRMSR IA32_APIC_BASE moves the register page there: the version and ID registers read what
;   they read at the default base, through the page's own linear address and through a second
;   linear alias of the same physical page (the APIC decodes physical addresses); RDMSR gives the
;   new base; a REP MOVSD from the page reads the version too; the default base is no longer this
;   processor's APIC (nothing else is mapped there on this PC, so it reads all ones);
; - a TPR written through the page is what MOV from CR8 reads (TPR[7:4]), and MOV to CR8 shows
;   in the TPR read through the page;
; - moving the base back to 0xFEE00000 shows the RAM page again, unchanged by the APIC accesses,
;   and the APIC kept its TPR.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/apicreloc.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PT_LOW      equ PAGE_TABLES + 0x3000    ; 0-2 MiB in 4 KiB pages (pg64_identity)
PD_HIGH     equ PAGE_TABLES + 0x4000    ; 3-4 GiB in 2 MiB pages: the default local APIC page
LAPIC       equ 0xfee00000
APIC_BASE   equ 0x1b
BASE_EN     equ 1 << 11
RELOC       equ DATA                    ; the RAM page the APIC moves over (1 MiB)
ALIAS       equ DATA + 0x1000           ; a second linear page mapped to RELOC
APIC_ID     equ 0x020
APIC_VER    equ 0x030
APIC_TPR    equ 0x080
RAM_MARK    equ 0x5a5a1234
version     equ scratch + 0x00          ; dq: the version register at the default base
apic_id     equ scratch + 0x08          ; dq: the ID register at the default base
copied      equ scratch + 0x10          ; 4 dwords: what REP MOVSD copied from the page
base_msr    equ scratch + 0x20          ; dq: IA32_APIC_BASE at start

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
            mov dword [PT_LOW + (ALIAS >> 12) * 8], RELOC | 7
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

            ; The APIC at its default base: an integrated APIC's version is 1XH (11.4.8).
            mov eax, [r15 + APIC_VER]
            mov [version], rax
            mov eax, [r15 + APIC_ID]
            mov [apic_id], rax
            mov rax, [version]
            and eax, 0xf0
            CHECK64 "default base: the version register reads 1XH", rax, 0x10

            ; The RAM page, read and written before the move.
            mov dword [RELOC + APIC_VER], RAM_MARK
            mov dword [RELOC + APIC_ID], RAM_MARK + 1
            mov dword [RELOC + APIC_TPR], RAM_MARK + 2
            mov eax, [RELOC + APIC_VER]
            CHECK64 "RAM page before the move", rax, RAM_MARK
            mov eax, [ALIAS + APIC_ID]
            CHECK64 "RAM page through its alias before the move", rax, RAM_MARK + 1

            ; Move the register page over the RAM page.
            mov ecx, APIC_BASE
            rdmsr
            shl rdx, 32
            or rax, rdx
            mov [base_msr], rax
            and eax, 0xfff
            or eax, RELOC
            xor edx, edx
            wrmsr
            rdmsr
            and eax, 0xfffff000
            CHECK64 "RDMSR IA32_APIC_BASE gives the new base", rax, RELOC

            mov eax, [RELOC + APIC_VER]
            CHECK64 "moved: the version register reads as at the default base", rax, [version]
            mov eax, [RELOC + APIC_ID]
            CHECK64 "moved: the ID register reads as at the default base", rax, [apic_id]
            mov eax, [ALIAS + APIC_VER]
            CHECK64 "moved: the version register through the alias", rax, [version]
            mov rsi, RELOC + APIC_VER
            mov rdi, copied
            mov ecx, 4
            cld
            rep movsd
            mov eax, [copied]
            CHECK64 "moved: REP MOVSD reads the version register", rax, [version]
            mov eax, [r15 + APIC_VER]
            mov r8d, 0xffffffff
            CHECK64 "moved: the default base is not this processor's APIC", rax, r8

            ; TPR through the moved page and CR8.
            mov dword [RELOC + APIC_TPR], 0x50
            mov rax, cr8
            CHECK64 "TPR 50H written through the moved page: CR8 reads 5", rax, 5
            mov eax, 3
            mov cr8, rax
            mov eax, [RELOC + APIC_TPR]
            CHECK64 "CR8 = 3: the moved page's TPR reads 30H", rax, 0x30
            mov dword [ALIAS + APIC_TPR], 0x70
            mov rax, cr8
            CHECK64 "TPR 70H written through the alias: CR8 reads 7", rax, 7

            ; Back to the default base: RAM again, untouched, and the APIC kept its TPR.
            mov rax, [base_msr]
            mov rdx, rax
            shr rdx, 32
            mov ecx, APIC_BASE
            wrmsr
            mov eax, [RELOC + APIC_VER]
            CHECK64 "moved back: the RAM page reads its own version-slot word", rax, RAM_MARK
            mov eax, [ALIAS + APIC_ID]
            CHECK64 "moved back: the RAM page's ID-slot word through the alias", rax, RAM_MARK + 1
            mov eax, [RELOC + APIC_TPR]
            CHECK64 "moved back: the RAM page's TPR-slot word was not written", rax, RAM_MARK + 2
            mov eax, [r15 + APIC_TPR]
            CHECK64 "moved back: the APIC at the default base kept TPR 70H", rax, 0x70
            mov eax, [r15 + APIC_VER]
            CHECK64 "moved back: the default base reads the version again", rax, [version]
            xor eax, eax
            mov cr8, rax

            jmp finish64
