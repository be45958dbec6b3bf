; Protection-key test ROM, in 64-bit mode (Intel SDM Vol. 3A 2.7 PKRU, 4.6.2 "Protection Keys",
; 4.7 the #PF error code's PK bit; Vol. 2B RDPKRU, WRPKRU; Vol. 2A CPUID Table 3-8, ECX[3] PKU and
; ECX[4] OSPKE):
; - RDPKRU/WRPKRU raise #UD while CR4.PKE is clear, #GP(0) with ECX (or, for WRPKRU, EDX) not
;   zero, and work at CPL 3; CPUID reports OSPKE exactly while CR4.PKE is set;
; - a user-mode page's key is bits 62:59 of its PTE; with PKRU.ADi every data access to it faults
;   with P|PK (and U, W as usual), with PKRU.WDi every user write does; other keys are unaffected;
;   instruction fetches are never affected;
; - PK is set when the key forbids the access even if R/W forbids it too, and not otherwise;
; - supervisor accesses to user pages obey the keys too: AD forbids reads, WD forbids writes only
;   while CR0.WP is set; supervisor-mode pages have no key;
; - new rights take effect at the next access, with no INVLPG (a translation used just before);
; - with CR4.PKE clear the keys are ignored.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/pku.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PDPT_U      equ PAGE_TABLES + 0x4000    ; PML4 entry 1: the key-protected region at 512 GiB
PD_U        equ PAGE_TABLES + 0x5000
PT_U        equ PAGE_TABLES + 0x6000
REGION      equ 0x8000000000
PAGE_K1     equ REGION                  ; user, writable, key 1      -> 0x300000
PAGE_K2     equ REGION + 0x1000         ; user, writable, key 2      -> 0x301000
PAGE_RO     equ REGION + 0x2000         ; user, read-only, key 1     -> 0x302000
CODE_K1     equ REGION + 0x3000         ; user, key 1, holds a RET   -> 0x303000
PAGE_SUP    equ REGION + 0x4000         ; supervisor, key 3          -> 0x304000
USER_STACK  equ STACKS + 0x4000
CR4_PKE     equ 1 << 22
PF_P        equ 1
PF_W        equ 2
PF_U        equ 4
PF_PK       equ 0x20
NONE        equ 0xffffffff              ; "no fault" in a result slot
r3_res      equ scratch + 0x00          ; ring-3 results: vector (dd) and error code (dd) per slot
ss_keep     equ scratch + 0x78

; KEY n: the high doubleword of a PTE with protection key n (bits 62:59).
%define KEY(n) ((n) << 27)

; R3 slot, insn: in ring 3, runs the instruction and keeps the vector and error code it raised.
%macro R3 2+
            mov qword [resume], %%after
            mov dword [fault_vec], NONE
            mov dword [fault_err], 0
            %2
%%after:    mov qword [resume], 0
            mov eax, [fault_vec]
            mov [r3_res + 8 * %1], eax
            mov eax, [fault_err]
            mov [r3_res + 8 * %1 + 4], eax
%endmacro

; R0 "name", vector, error, insn: in ring 0, the instruction raises that vector and error code (NONE: no fault).
%macro R0 4+
            mov qword [resume], %%after
            mov dword [fault_vec], NONE
            mov dword [fault_err], 0
            %4
%%after:    mov qword [resume], 0
            mov eax, [fault_vec]
            shl rax, 32
            mov ebx, [fault_err]
            or rax, rbx
            mov rbx, ((%2) << 32) | (%3)
            CHECK64 %1, rax, rbx
%endmacro

; SLOT "name", slot, vector, error: checks a ring-3 result.
%macro SLOT 4
            mov rax, [r3_res + 8 * %2]
            mov rbx, ((%4) << 32) | (%3)
            CHECK64 %1, rax, rbx
%endmacro

%macro SET_PKRU 1
            mov eax, %1
            xor ecx, ecx
            xor edx, edx
            wrpkru
%endmacro

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
            mov dword [PML4 + 8], PDPT_U | 7
            mov dword [PDPT_U], PD_U | 7
            mov dword [PD_U], PT_U | 7
            mov dword [PT_U + 0x00], 0x300000 | 7
            mov dword [PT_U + 0x04], KEY(1)
            mov dword [PT_U + 0x08], 0x301000 | 7
            mov dword [PT_U + 0x0c], KEY(2)
            mov dword [PT_U + 0x10], 0x302000 | 5
            mov dword [PT_U + 0x14], KEY(1)
            mov dword [PT_U + 0x18], 0x303000 | 7
            mov dword [PT_U + 0x1c], KEY(1)
            mov dword [PT_U + 0x20], 0x304000 | 3
            mov dword [PT_U + 0x24], KEY(3)
            mov dword [0x300000], 0x1111
            mov dword [0x301000], 0x2222
            mov dword [0x302000], 0x3333
            mov byte [0x303000], 0xc3       ; RET
            mov dword [0x304000], 0x4444
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
            mov eax, 0x43
            mov rbx, back_to_ring0
            mov ecx, SEL_CODE64
            mov edx, 0xee
            xor r8d, r8d
            call set_gate64
            mov ax, SEL_TSS
            ltr ax
            mov rax, cr0
            bts rax, 16                     ; CR0.WP
            mov cr0, rax

            ; ---- CPUID, #UD without CR4.PKE, OSPKE
            mov eax, 7
            xor ecx, ecx
            cpuid
            and ecx, (1 << 3) | (1 << 4)
            CHECK64 "CPUID.7:ECX: PKU, and no OSPKE while CR4.PKE is clear", rcx, 1 << 3
            xor ecx, ecx
            R0 "RDPKRU with CR4.PKE clear: #UD", 6, 0, rdpkru
            xor eax, eax
            xor edx, edx
            R0 "WRPKRU with CR4.PKE clear: #UD", 6, 0, wrpkru
            mov rax, cr4
            or eax, CR4_PKE
            mov cr4, rax
            mov eax, 7
            xor ecx, ecx
            cpuid
            and ecx, 1 << 4
            CHECK64 "CPUID.7:ECX[4]: OSPKE once CR4.PKE is set", rcx, 1 << 4
            xor ecx, ecx
            rdpkru
            CHECK64 "PKRU is 0 after reset", rax, 0
            mov ecx, 1
            R0 "RDPKRU with ECX != 0: #GP(0)", 13, 0, rdpkru
            mov eax, 4
            mov ecx, 1
            xor edx, edx
            R0 "WRPKRU with ECX != 0: #GP(0)", 13, 0, wrpkru
            mov eax, 4
            xor ecx, ecx
            mov edx, 1
            R0 "WRPKRU with EDX != 0: #GP(0)", 13, 0, wrpkru
            SET_PKRU 0x12345678
            mov rdx, -1
            xor ecx, ecx
            rdpkru
            shl rdx, 32
            or rax, rdx
            CHECK64 "RDPKRU returns PKRU in EAX and clears EDX", rax, 0x12345678
            SET_PKRU 0

            ; ---- ring 3
            mov [ss_keep], rsp
            push SEL_UDATA | 3
            push USER_STACK
            push 0x3002
            push SEL_UCODE64 | 3
            push user_part
            iretq
user_part:
            mov rdi, PAGE_K1
            mov rsi, PAGE_K2
            mov rbp, PAGE_RO
            R3 0, mov eax, [rdi]                    ; PKRU = 0: allowed, and now in the TLB
            mov eax, 1 << 2                         ; AD1, from CPL 3
            xor ecx, ecx
            xor edx, edx
            R3 1, wrpkru
            R3 2, mov eax, [rdi]
            R3 3, mov dword [rdi], 1
            R3 4, mov eax, [rsi]
            mov rax, CODE_K1
            R3 5, call rax
            mov eax, 1 << 3                         ; WD1
            xor ecx, ecx
            xor edx, edx
            R3 6, wrpkru
            R3 7, mov eax, [rdi]
            R3 8, mov dword [rdi], 1
            R3 9, mov dword [rbp], 1
            xor eax, eax
            xor ecx, ecx
            xor edx, edx
            R3 10, wrpkru
            R3 11, mov dword [rbp], 1
            R3 12, mov dword [rdi + 4], 5
            int 0x43
back_to_ring0:
            mov rsp, [ss_keep]
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            SLOT "CPL 3, PKRU = 0: a read of a key-1 page", 0, NONE, 0
            SLOT "CPL 3: WRPKRU works at any privilege level", 1, NONE, 0
            SLOT "CPL 3, AD1: a read of a key-1 page is #PF P|U|PK, without INVLPG", 2, 14, PF_P | PF_U | PF_PK
            SLOT "CPL 3, AD1: a write of a key-1 page is #PF P|W|U|PK", 3, 14, PF_P | PF_W | PF_U | PF_PK
            SLOT "CPL 3, AD1: a key-2 page is not affected", 4, NONE, 0
            SLOT "CPL 3, AD1: instruction fetches from a key-1 page are not affected", 5, NONE, 0
            SLOT "CPL 3, WD1: WRPKRU", 6, NONE, 0
            SLOT "CPL 3, WD1: a read of a key-1 page is allowed", 7, NONE, 0
            SLOT "CPL 3, WD1: a write of a key-1 page is #PF P|W|U|PK", 8, 14, PF_P | PF_W | PF_U | PF_PK
            SLOT "CPL 3, WD1: a write of a read-only key-1 page sets PK too", 9, 14, PF_P | PF_W | PF_U | PF_PK
            SLOT "CPL 3, PKRU = 0: WRPKRU", 10, NONE, 0
            SLOT "CPL 3, PKRU = 0: a write of the read-only page is #PF without PK", 11, 14, PF_P | PF_W | PF_U
            SLOT "CPL 3, PKRU = 0: a write of a key-1 page is allowed", 12, NONE, 0
            mov eax, [0x300004]
            CHECK64 "and it reached memory", rax, 5
            mov rdi, PAGE_K1
            SET_PKRU 1 << 2
            R0 "CPL 0, AD1: a supervisor read of a user key-1 page is #PF P|PK", 14, PF_P | PF_PK, mov eax, [rdi]
            mov rbx, PAGE_K1
            CHECK64 "CR2 = the address", [fault_cr2], rbx
            SET_PKRU 1 << 3
            R0 "CPL 0, WD1: a supervisor read is allowed", NONE, 0, mov eax, [rdi]
            R0 "CPL 0, WD1, CR0.WP = 1: a supervisor write is #PF P|W|PK", 14, PF_P | PF_W | PF_PK, mov dword [rdi], 7
            mov rax, cr0
            btr rax, 16
            mov cr0, rax
            R0 "CPL 0, WD1, CR0.WP = 0: a supervisor write is allowed", NONE, 0, mov dword [rdi], 7
            mov rax, cr0
            bts rax, 16
            mov cr0, rax
            SET_PKRU (3 << 6)                       ; AD3 | WD3
            mov rsi, PAGE_SUP
            R0 "CPL 0, AD3|WD3: a supervisor page has no key (read)", NONE, 0, mov eax, [rsi]
            R0 "CPL 0, AD3|WD3: a supervisor page has no key (write)", NONE, 0, mov dword [rsi], 8
            SET_PKRU 1 << 2
            mov rax, cr4
            and eax, ~CR4_PKE
            mov cr4, rax
            R0 "CR4.PKE clear: keys are ignored (AD1 still in PKRU)", NONE, 0, mov eax, [rdi]
            mov eax, 7
            xor ecx, ecx
            cpuid
            and ecx, 1 << 4
            CHECK64 "CPUID.7:ECX[4]: no OSPKE once CR4.PKE is clear again", rcx, 0

            jmp finish64
