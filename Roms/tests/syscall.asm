; SYSCALL/SYSRET test ROM (Intel SDM Vol. 2B SYSCALL, SYSRET): a ring 0 <-> 3 round trip in
; long mode through STAR, LSTAR and SFMASK; RCX and R11 on entry; the fixed CS/SS selectors both
; ways; SYSRET to compatibility mode; the #UD, #GP conditions (EFER.SCE clear, SYSCALL outside
; 64-bit mode, SYSRET at CPL 3, SYSRET to a non-canonical RCX), SWAPGS and RDMSR from ring 3.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/syscall.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
USER_STACK  equ STACKS + 0x4000
STAR_VALUE  equ (SEL_UCODE32 << 48) | (SEL_CODE64 << 32)   ; SYSCALL CS 0x10, SS 0x18; SYSRET base 0x20
SFMASK_VAL  equ 0x40400                                      ; AC and DF

; What the SYSCALL entry saw
sc_rcx      equ scratch + 0x00
sc_r11      equ scratch + 0x08
sc_cs       equ scratch + 0x10
sc_ss       equ scratch + 0x18
sc_flags    equ scratch + 0x20
sc_rsp      equ scratch + 0x28
sc_next     equ scratch + 0x30      ; where the kernel continues after the entry

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
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
            mov eax, PML4
            mov ebx, long_entry
            call enter_long_mode

            bits 64
long_entry:
            mov rsp, STACK_TOP
            call idt64_install
            mov ax, SEL_TSS
            ltr ax
            mov eax, 0x43
            mov rbx, kernel_again
            mov ecx, SEL_CODE64
            mov edx, 0xee
            xor r8d, r8d
            call set_gate64

            mov ecx, 0xc0000081             ; STAR
            mov rax, STAR_VALUE
            mov rdx, rax
            shr rdx, 32
            wrmsr
            mov ecx, 0xc0000082             ; LSTAR
            mov rax, syscall_entry
            xor edx, edx
            wrmsr
            mov ecx, 0xc0000084             ; SFMASK
            mov eax, SFMASK_VAL
            wrmsr

            ; EFER.SCE clear: SYSCALL is #UD.
            mov ecx, 0xc0000080
            rdmsr
            and eax, ~1
            wrmsr
            EXPECT_FAULT64 .r1
            syscall
.r1:        CHECK64 "SYSCALL with EFER.SCE clear: #UD", [fault_vec], 6
            mov ecx, 0xc0000080
            rdmsr
            or eax, 1
            wrmsr

            ; SYSRET to a non-canonical RCX: #GP(0) in ring 0.
            mov rcx, 0x0000800000000000
            mov r11, 0x3002
            EXPECT_FAULT64 .r2
            o64 sysret
.r2:        CHECK64 "SYSRET to a non-canonical RCX: #GP", [fault_vec], 13
            CHECK64 "SYSRET to a non-canonical RCX: raised in ring 0", [fault_cs], SEL_CODE64

            ; Ring 0 -> 3 with SYSRET (64-bit): RFLAGS from R11 (IOPL 3 so ring 3 can print).
            mov rsp, USER_STACK
            mov rcx, user64
            mov r11, 0x3002
            o64 sysret

syscall_entry:
            mov [sc_rcx], rcx
            mov [sc_r11], r11
            mov [sc_rsp], rsp
            mov eax, cs
            mov [sc_cs], rax
            mov eax, ss
            mov [sc_ss], rax
            pushfq
            pop rax
            mov [sc_flags], rax
            mov rsp, STACK_TOP
            jmp [sc_next]

after_first_syscall:
            CHECK64 "SYSCALL: RCX is the return address", [sc_rcx], user64.ret
            CHECK64 "SYSCALL: CS = STAR[47:32]", [sc_cs], SEL_CODE64
            CHECK64 "SYSCALL: SS = STAR[47:32] + 8", [sc_ss], SEL_DATA
            CHECK64 "SYSCALL: RSP unchanged", [sc_rsp], USER_STACK
            mov rax, [sc_r11]
            and rax, 0x3402
            CHECK64 "SYSCALL: R11 holds the user RFLAGS (DF, IOPL)", rax, 0x3402
            mov rax, [sc_flags]
            and rax, 0x40400
            CHECK64 "SYSCALL: RFLAGS masked by SFMASK (DF, AC clear)", rax, 0
            ; Back to ring 3 where the SYSCALL left off.
            mov rcx, [sc_rcx]
            mov r11, [sc_r11]
            mov rsp, [sc_rsp]
            o64 sysret

after_second_syscall:
            ; SYSRET without REX.W returns to compatibility mode.
            mov rsp, USER_STACK
            mov ecx, user32
            mov r11d, 0x3002
            sysret

kernel_again:
            mov rsp, STACK_TOP
            jmp finish64

user64:
            mov eax, cs
            CHECK64 "SYSRET (64-bit): CS = STAR[63:48] + 16, RPL 3", rax, SEL_UCODE64 | 3
            mov eax, ss
            CHECK64 "SYSRET: SS = STAR[63:48] + 8, RPL 3", rax, SEL_UDATA | 3
            pushfq
            pop rax
            and rax, 0x3000
            CHECK64 "SYSRET: RFLAGS from R11", rax, 0x3000

            EXPECT_FAULT64 .u1
            o64 sysret
.u1:        CHECK64 "SYSRET at CPL 3: #GP", [fault_vec], 13
            CHECK64 "SYSRET at CPL 3: error code 0", [fault_err], 0
            EXPECT_FAULT64 .u2
            swapgs
.u2:        CHECK64 "SWAPGS at CPL 3: #GP", [fault_vec], 13
            EXPECT_FAULT64 .u3
            mov ecx, 0xc0000081
            rdmsr
.u3:        CHECK64 "RDMSR at CPL 3: #GP", [fault_vec], 13

            mov qword [sc_next], after_first_syscall
            std
            syscall
.ret:       pushfq
            pop rax
            cld
            and rax, 0x400
            CHECK64 "SYSRET restores DF from R11", rax, 0x400
            mov eax, cs
            CHECK64 "back in ring 3 after the round trip", rax, SEL_UCODE64 | 3
            mov qword [sc_next], after_second_syscall
            syscall

            bits 32
user32:
            ; IRETQ from the ring-0 handlers above nulled DS and ES (DPL 0 < CPL 3); compatibility
            ; mode uses them, so load the user data segment.
            mov ax, SEL_UDATA | 3
            mov ds, ax
            mov es, ax
            mov eax, cs
            CHECK "SYSRET (32-bit): CS = STAR[63:48], RPL 3 (compatibility mode)", eax, SEL_UCODE32 | 3
            EXPECT_FAULT .c1
            syscall
.c1:        CHECK "SYSCALL in compatibility mode: #UD (Intel)", [fault_vec], 6
            int 0x43
