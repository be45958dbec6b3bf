; Paging test ROM: 32-bit paging (4 KiB and 4 MiB pages), then PAE paging with execute-disable.
; Checks the page-fault error code (Intel SDM Vol. 3A 4.7, Figure 4-12: P=1, W/R=2, U/S=4,
; RSVD=8, I/D=16), CR2 = the faulting linear address, the saved EIP = the faulting instruction,
; CR0.WP, accessed and dirty bits (4.8), INVLPG and CR3 loads (4.10.4), user-mode rights (4.6),
; and the PDPTE load check of PAE paging (4.4.1). The rights of a page are those of every level
; (4.6.1: a write needs R/W = 1 in the PDE and the PTE, a user access U/S = 1 in both): a PDE with
; R/W = 0 or U/S = 0 over a PTE that allows everything, at CPL 0 with CR0.WP 0 and 1 and at CPL 3;
; a not-present PDE; the directory entry of a page table gets A but never D (4.8); a write that
; faults sets no dirty bit; bit 21 of a 4 MiB PDE is reserved (Table 4-4: #PF with RSVD).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/paging.bin (exit status 1 = all passed).

%include "lib.inc"

PD32        equ PAGE_TABLES             ; 32-bit page directory
PT32        equ PAGE_TABLES + 0x1000    ; its page table for 0-4 MiB
PDPT        equ PAGE_TABLES + 0x4000    ; PAE: page-directory-pointer table
PDPT_BAD    equ PAGE_TABLES + 0x4100    ; PAE: a PDPT with a reserved bit set
PAE_PD      equ PAGE_TABLES + 0x5000    ; PAE: page directory for 0-1 GiB
PAE_PT0     equ PAGE_TABLES + 0x6000    ; PAE: 4 KiB pages for 0-2 MiB
PAE_PT2     equ PAGE_TABLES + 0x7000    ; PAE: 4 KiB pages for 4-6 MiB
USER_STACK  equ STACKS + 0x1000
PT_RO       equ PAGE_TABLES + 0x2000    ; page table under a read-only PDE (linear 12 MiB)
PT_SUP      equ PAGE_TABLES + 0x3000    ; page table under a supervisor PDE (linear 16 MiB)
LIN_RO      equ 0xc00000
LIN_SUP     equ 0x1000000
LIN_NP      equ 0x1400000               ; PDE not present
LIN_RSVD    equ 0x1800000               ; 4 MiB PDE with reserved bit 21

%define PTE32(a) (PT32 + ((a) >> 12) * 4)
%define PAE_PTE2(a) (PAE_PT2 + (((a) - 0x400000) >> 12) * 8)

P           equ 1
W           equ 2
U           equ 4
A           equ 0x20
D           equ 0x40
PS          equ 0x80
G           equ 0x100

            section pm
            bits 32
main:
            mov eax, STACK_TOP
            call tss32_install
            call ring0_return_install

            ; Physical pages with known contents.
            mov dword [0x200000], 0x11111111
            mov dword [0x304000], 0x44444444
            mov dword [0x305000], 0x55555555
            mov dword [0x306000], 0x66666666
            mov dword [0x307000], 0x77777777
            mov dword [0x308000], 0x88888888
            mov dword [0x401234], 0x4a4a4a4a
            mov dword [0x1ff000], 0x1f1f1f1f

            ; 0-4 MiB identity-mapped, user, writable; then the test pages.
            mov edi, PD32
            mov edx, P | W | U
            call pg32_identity
            mov dword [PTE32(0x300000)], 0                              ; not present
            mov dword [PTE32(0x301000)], 0x301000 | P | U               ; read-only
            mov dword [PTE32(0x302000)], 0x302000 | P | W | U           ; A and D clear
            mov dword [PTE32(0x309000)], 0x309000 | P | W               ; supervisor only
            ; The GDT, IDT and TSS pages are supervisor-only: delivery from ring 3 reads them anyway.
            mov dword [PTE32(GDT_BASE)], GDT_BASE | P | W
            mov dword [PTE32(IDT_BASE)], IDT_BASE | P | W
            mov dword [PTE32(TSS_BASE)], TSS_BASE | P | W
            ; A 4 MiB page: linear 8 MiB -> physical 4 MiB (needs CR4.PSE).
            mov dword [PD32 + 2 * 4], 0x400000 | P | W | PS
            ; 12 MiB: PDE read-only (user), PTEs P|W|U; 16 MiB: PDE supervisor (writable), PTEs
            ; P|W|U; both map their first pages to physical 2 MiB and 2 MiB + 4 KiB.
            mov edi, PT_RO
            xor eax, eax
            mov ecx, 0x2000 / 4
            rep stosd
            mov dword [PT_RO], 0x200000 | P | W | U
            mov dword [PT_RO + 4], 0x201000 | P | W | U
            mov dword [PT_SUP], 0x200000 | P | W | U
            mov dword [PD32 + 3 * 4], PT_RO | P | U
            mov dword [PD32 + 4 * 4], PT_SUP | P | W
            mov dword [PD32 + 5 * 4], 0
            mov dword [PD32 + 6 * 4], 0x400000 | P | W | PS | (1 << 21)

            mov eax, cr4
            or eax, 0x10 | 0x80                     ; PSE, PGE
            mov cr4, eax
            mov eax, PD32
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax

            CHECK "32-bit paging: identity-mapped memory reads back", [0x200000], 0x11111111

            ; Not-present read and write: P=0, W/R by the access, CR2 the address, EIP the instruction.
            EXPECT_FAULT .r1
.f1:        mov eax, [0x300010]
.r1:        CHECK "not-present read: #PF", [fault_vec], 14
            CHECK "not-present read: error code 0", [fault_err], 0
            CHECK "not-present read: CR2", [fault_cr2], 0x300010
            CHECK "not-present read: saved EIP is the faulting instruction", [fault_ip], .f1
            EXPECT_FAULT .r2
.f2:        mov dword [0x300ffc], 1
.r2:        CHECK "not-present write: error code W", [fault_err], 2
            CHECK "not-present write: CR2", [fault_cr2], 0x300ffc

            ; A write crossing into a not-present page: CR2 is the first byte of that page.
            EXPECT_FAULT .r2b
            mov dword [0x2ffffe], 0x12345678
.r2b:       CHECK "page-crossing write: CR2 at the not-present page", [fault_cr2], 0x300000

            ; Read-only page: supervisor writes succeed while CR0.WP = 0, fault when WP = 1.
            mov dword [fault_count], 0
            mov dword [0x301008], 0xabcd
            CHECK "WP=0: supervisor write to a read-only page succeeds", [fault_count], 0
            CHECK "WP=0: the written value is there", [0x301008], 0xabcd
            mov eax, cr0
            or eax, 0x10000
            mov cr0, eax
            EXPECT_FAULT .r3
            mov dword [0x301008], 0x1234
.r3:        CHECK "WP=1: supervisor write to a read-only page: error code P|W", [fault_err], 3
            CHECK "WP=1: CR2", [fault_cr2], 0x301008
            CHECK "WP=1: memory unchanged", [0x301008], 0xabcd

            ; Accessed and dirty bits.
            mov eax, [0x302000]
            mov eax, [PTE32(0x302000)]
            and eax, A | D
            CHECK "read sets the accessed bit, not the dirty bit", eax, A
            mov dword [0x302004], 5
            mov eax, [PTE32(0x302000)]
            and eax, A | D
            CHECK "write sets the dirty bit", eax, A | D
            mov eax, [PD32]
            and eax, A
            CHECK "the page-directory entry is accessed", eax, A

            ; ENTER checks a write at its final stack pointer (Intel SDM Vol. 2A ENTER, Protected
            ; Mode Exceptions: #PF "if a write using the final value of the stack pointer (within
            ; the current stack segment) would cause a page fault"): EBP is pushed in a writable
            ; page, the 0x200-byte frame would end in the read-only page below (WP = 1). The fault
            ; leaves ESP and EBP as they were (Vol. 3A 6.5) and is delivered on the same stack.
            mov [scratch], esp
            mov esp, 0x302100
            mov ebp, 0x1234abcd
            EXPECT_FAULT .r_enter
.f_enter:   enter 0x200, 0
.r_enter:   mov [scratch + 4], esp
            mov [scratch + 8], ebp
            mov esp, [scratch]
            CHECK "ENTER whose frame ends in a read-only page: #PF", [fault_vec], 14
            CHECK "ENTER #PF: error code P|W", [fault_err], 3
            CHECK "ENTER #PF: CR2 is the final stack pointer", [fault_cr2], 0x302100 - 4 - 0x200
            CHECK "ENTER #PF: saved EIP is the ENTER", [fault_ip], .f_enter
            CHECK "ENTER #PF: ESP unchanged", [scratch + 4], 0x302100
            CHECK "ENTER #PF: EBP unchanged", [scratch + 8], 0x1234abcd

            ; A 4 MiB page.
            CHECK "4 MiB page maps 8 MiB + 0x1234 to 4 MiB + 0x1234", [0x801234], 0x4a4a4a4a
            mov dword [0x801238], 1
            mov eax, [PD32 + 2 * 4]
            and eax, A | D
            CHECK "4 MiB page: accessed and dirty in the directory entry", eax, A | D

            ; Rights combine over the levels. CR0.WP is 1 here.
            CHECK "read-only PDE: supervisor read", [LIN_RO], 0x11111111
            EXPECT_FAULT .rw1
            mov dword [LIN_RO + 8], 1
.rw1:       CHECK "read-only PDE over a writable PTE, WP=1: supervisor write faults P|W", [fault_err], 3
            CHECK "read-only PDE, WP=1: CR2", [fault_cr2], LIN_RO + 8
            EXPECT_FAULT .rw2
            mov dword [LIN_RO + 0x1000], 1
.rw2:       mov eax, [PT_RO + 4]
            and eax, D
            CHECK "a write that faults sets no dirty bit", eax, 0
            mov eax, cr0
            and eax, ~0x10000
            mov cr0, eax
            mov dword [fault_count], 0
            mov dword [LIN_RO + 8], 0x5eed
            CHECK "read-only PDE, WP=0: supervisor write succeeds", [fault_count], 0
            CHECK "read-only PDE, WP=0: the value is there", [0x200008], 0x5eed
            mov eax, cr0
            or eax, 0x10000
            mov cr0, eax
            mov eax, [PT_RO]
            and eax, A | D
            CHECK "the PTE of the written page: accessed and dirty", eax, A | D
            mov eax, [PD32 + 3 * 4]
            and eax, A | D
            CHECK "the PDE of a page table: accessed, never dirty", eax, A
            CHECK "supervisor PDE: supervisor read", [LIN_SUP], 0x11111111
            EXPECT_FAULT .rw3
            mov eax, [LIN_NP + 0x10]
.rw3:       CHECK "not-present PDE: supervisor read error code 0", [fault_err], 0
            CHECK "not-present PDE: CR2", [fault_cr2], LIN_NP + 0x10
            EXPECT_FAULT .rw4
            mov eax, [LIN_RSVD + 4]
.rw4:       CHECK "4 MiB PDE with bit 21 set: error code P|RSVD", [fault_err], 9
            CHECK "4 MiB PDE with bit 21 set: CR2", [fault_cr2], LIN_RSVD + 4

            ; INVLPG makes a new mapping visible.
            mov eax, [0x303000]
            mov dword [PTE32(0x303000)], 0x304000 | P | W | U
            invlpg [0x303000]
            CHECK "INVLPG: remapped page shows the new frame", [0x303000], 0x44444444
            mov dword [PTE32(0x303000)], 0
            invlpg [0x303000]
            EXPECT_FAULT .r4
            mov eax, [0x303000]
.r4:        CHECK "INVLPG: unmapped page faults", [fault_cr2], 0x303000

            ; A CR3 load drops non-global translations.
            mov eax, [0x305000]
            mov dword [PTE32(0x305000)], 0x306000 | P | W | U
            mov eax, cr3
            mov cr3, eax
            CHECK "CR3 load: non-global page shows the new frame", [0x305000], 0x66666666

            ; INVLPG drops a global translation too.
            mov dword [PTE32(0x307000)], 0x307000 | P | W | U | G
            invlpg [0x307000]
            mov eax, [0x307000]
            mov dword [PTE32(0x307000)], 0x308000 | P | W | U | G
            invlpg [0x307000]
            CHECK "INVLPG: global page shows the new frame", [0x307000], 0x88888888

            ; User mode (CPL 3).
            mov dword [ring0_continue], .back_from_user
            mov eax, user_code
            mov ebx, USER_STACK
            call to_ring3_32
.back_from_user:

            ; ---- PAE paging with execute-disable.
            mov eax, cr0
            and eax, 0x7fffffff
            mov cr0, eax

            mov edi, PAGE_TABLES + 0x4000
            xor eax, eax
            mov ecx, 0x4000 / 4
            rep stosd
            mov dword [PDPT], PAE_PD | P
            mov dword [PAE_PD], PAE_PT0 | P | W | U
            mov dword [PAE_PD + 8], 0x200000 | P | W | U | PS      ; 2 MiB page, identity
            mov dword [PAE_PD + 16], PAE_PT2 | P | W | U
            mov edi, PAE_PT0
            mov eax, P | W | U
            mov ecx, 512
.pae_pt0:   mov [edi], eax
            add edi, 8
            add eax, 0x1000
            loop .pae_pt0
            ; 4-6 MiB: an execute-disable page, an executable page, a not-present page, a page with
            ; reserved bit 62 set (reserved in PAE paging whatever MAXPHYADDR; Intel SDM Vol. 3A Table 4-11).
            mov dword [PAE_PTE2(0x400000)], 0x400000 | P | W | U
            mov dword [PAE_PTE2(0x400000) + 4], 0x80000000
            mov dword [PAE_PTE2(0x401000)], 0x401000 | P | W | U
            mov dword [PAE_PTE2(0x403000)], 0x403000 | P | W | U
            mov dword [PAE_PTE2(0x403000) + 4], 0x40000000
            mov byte [0x400000], 0xc3                               ; ret
            mov esi, exec_template
            mov edi, 0x401000
            mov ecx, exec_template_end - exec_template
            rep movsb

            mov ecx, 0xc0000080                                     ; EFER.NXE
            rdmsr
            or eax, 0x800
            wrmsr
            mov eax, cr4
            or eax, 0x20                                            ; PAE
            mov cr4, eax
            mov eax, PDPT
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax

            CHECK "PAE: 2 MiB page reads back", [0x200000], 0x11111111
            CHECK "PAE: 4 KiB page reads back", [0x1ff000], 0x1f1f1f1f

            call 0x401000
            CHECK "PAE: code on an executable page runs", eax, 0x600d

            mov dword [0x400004], 7
            CHECK "PAE: data writes to an execute-disable page are allowed", [0x400004], 7

            EXPECT_FAULT .r5
            call 0x400000
.r5:        add esp, 4                                              ; the CALL pushed its return address
            CHECK "NX fetch: #PF", [fault_vec], 14
            CHECK "NX fetch: error code P|I/D", [fault_err], 0x11
            CHECK "NX fetch: CR2 is the target", [fault_cr2], 0x400000
            CHECK "NX fetch: saved EIP is the target", [fault_ip], 0x400000

            EXPECT_FAULT .r6
            call 0x402000
.r6:        add esp, 4
            CHECK "fetch from a not-present page: error code I/D", [fault_err], 0x10

            EXPECT_FAULT .r7
            mov eax, [0x403000]
.r7:        CHECK "reserved bit set: error code P|RSVD", [fault_err], 0x9
            CHECK "reserved bit set: CR2", [fault_cr2], 0x403000

            ; MOV CR3 with a reserved bit in a present PDPTE is #GP(0), not #PF.
            mov dword [PDPT_BAD], PAE_PD | P | 2
            EXPECT_FAULT .r8
            mov eax, PDPT_BAD
            mov cr3, eax
.r8:        CHECK "PAE: reserved PDPTE bit makes MOV CR3 #GP", [fault_vec], 13
            CHECK "PAE: #GP error code 0", [fault_err], 0
            mov eax, cr3
            CHECK "PAE: CR3 unchanged after the failed load", eax, PDPT

            jmp finish32

exec_template:
            mov eax, 0x600d
            ret
exec_template_end:

; ---------------------------------------------------------------- ring 3
user_code:
            mov ax, SEL_UDATA | 3
            mov ds, ax
            mov es, ax
            mov eax, cs
            and eax, 3
            CHECK "user mode: CPL 3", eax, 3
            CHECK "user mode: read of a user page", [0x200000], 0x11111111

            EXPECT_FAULT .u1
.uf1:       mov eax, [0x309000]
.u1:        CHECK "user read of a supervisor page: error code P|U", [fault_err], 5
            CHECK "user read of a supervisor page: CR2", [fault_cr2], 0x309000
            CHECK "user read of a supervisor page: saved CS is ring 3", [fault_cs], SEL_UCODE32 | 3
            CHECK "user read of a supervisor page: saved EIP", [fault_ip], .uf1
            CHECK "user read of a supervisor page: saved SS:ESP is the user stack", [fault_sp], USER_STACK

            EXPECT_FAULT .u2
            mov dword [0x301000], 1
.u2:        CHECK "user write to a read-only page: error code P|W|U", [fault_err], 7

            EXPECT_FAULT .u3
            mov eax, [0x300000]
.u3:        CHECK "user read of a not-present page: error code U", [fault_err], 4

            CHECK "user read through a read-only PDE", [LIN_RO], 0x11111111
            EXPECT_FAULT .u4
            mov dword [LIN_RO + 8], 2
.u4:        CHECK "user write through a read-only PDE over a writable PTE: P|W|U", [fault_err], 7
            EXPECT_FAULT .u5
            mov eax, [LIN_SUP]
.u5:        CHECK "user read through a supervisor PDE over a user PTE: P|U", [fault_err], 5
            CHECK "user read through a supervisor PDE: CR2", [fault_cr2], LIN_SUP
            EXPECT_FAULT .u6
            mov dword [LIN_NP], 3
.u6:        CHECK "user write to a not-present PDE: error code W|U", [fault_err], 6

            int 0x30
