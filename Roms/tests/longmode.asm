; Long-mode test ROM: entry into IA-32e mode, 64-bit interrupt delivery (Intel SDM Vol. 3A 6.14):
; 16-byte gates, the IST, RSP aligned to 16, SS:RSP always pushed, RSP0 from the 64-bit TSS and a
; null SS on a privilege change; #PF with a 64-bit CR2; canonical-address faults (#GP(0), #SS(0));
; IRETQ to ring 3 and to compatibility mode; FS/GS bases, KERNEL_GS_BASE and SWAPGS; #DF on IST.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/longmode.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PT_LOW      equ PAGE_TABLES + 0x3000    ; 4 KiB pages for 0-2 MiB (from pg64_identity)
PDPT_HI     equ PAGE_TABLES + 0x4000    ; for FFFF8000'00000000
PD_HI       equ PAGE_TABLES + 0x5000
PT_HI       equ PAGE_TABLES + 0x6000
PDPT_1G     equ PAGE_TABLES + 0x7000
HIGH        equ 0xffff800000000000
IST1_TOP    equ STACKS + 0x1000
IST2_TOP    equ STACKS + 0x2000
IST3_TOP    equ STACKS + 0x3000
USER_STACK  equ STACKS + 0x4000
USER_DATA   equ 0x201000                ; a user data page (identity, inside the first 2 MiB page)
far_ptr     equ scratch + 0x00          ; m16:64 for the far call through the gate
gate_frame  equ scratch + 0x10
gate_rip    equ scratch + 0x18
gate_rsp    equ scratch + 0x20
gate_old_ss equ scratch + 0x28
gate_cs     equ scratch + 0x30
gate_ss     equ scratch + 0x38

            section pm
            bits 32
main:
            mov dword [0x200000], 0x11111111
            mov dword [0x201000], 0x22222222
            mov dword [0x202000], 0x33333333

            mov edi, PML4
            call pg64_identity
            ; FFFF8000'00000000 -> 0x200000 (supervisor), FFFF8000'00001000 not present.
            mov dword [PML4 + 256 * 8], PDPT_HI | 3
            mov dword [PDPT_HI], PD_HI | 3
            mov dword [PD_HI], PT_HI | 3
            mov dword [PT_HI], 0x200000 | 3
            ; FFFF8000'00002000: execute-disable (bit 63). FFFF8000'00003000: bit MAXPHYADDR set
            ; (reserved in 4-level paging when MAXPHYADDR < 52, Intel SDM Vol. 3A Table 4-19).
            mov dword [PT_HI + 2 * 8], 0x202000 | 3
            mov dword [PT_HI + 2 * 8 + 4], 0x80000000
            mov eax, 0x80000008
            cpuid
            movzx ecx, al
            mov [scratch + 0x40], ecx
            mov dword [PT_HI + 3 * 8], 0x203000 | 3
            cmp ecx, 52
            jae .no_reserved_bit
            sub ecx, 32
            mov eax, 1
            shl eax, cl
            mov [PT_HI + 3 * 8 + 4], eax
.no_reserved_bit:
            ; 512 GiB (PML4 entry 1) through a 1 GiB page to physical 0.
            mov dword [PML4 + 8], PDPT_1G | 3
            mov dword [PDPT_1G], 0 | 0x83
            ; The first 2 MiB page (0x200000-0x3fffff) as 4 KiB pages is not needed: it is a large
            ; user page, so ring 3 can read USER_DATA.

            ; 64-bit TSS: RSP0, IST1-3 (Intel SDM Vol. 3A Figure 8-11), 16-byte descriptor.
            mov edi, TSS_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS_BASE + 4], STACK_TOP
            mov dword [TSS_BASE + 0x24], IST1_TOP
            mov dword [TSS_BASE + 0x2c], IST2_TOP
            mov dword [TSS_BASE + 0x34], IST3_TOP
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
            ; #PF on IST2, INT 0x40 on IST1, #SS and #DF on IST3, 0x42 and 0x43 callable from ring 3.
            mov eax, 14
            mov rbx, isr64_14
            mov ecx, SEL_CODE64
            mov edx, 0x8e
            mov r8d, 2
            call set_gate64
            mov eax, 0x40
            mov rbx, isr64_64
            mov r8d, 1
            call set_gate64
            mov eax, 12
            mov rbx, isr64_12
            mov r8d, 3
            call set_gate64
            mov eax, 8
            mov rbx, isr64_8
            mov r8d, 3
            call set_gate64
            mov eax, 0x42
            mov rbx, isr64_66
            mov edx, 0xee
            xor r8d, r8d
            call set_gate64
            mov eax, 0x43
            mov rbx, back_to_ring0
            call set_gate64

            mov ecx, 0xc0000080
            rdmsr
            and eax, 0x400
            CHECK64 "EFER.LMA is set after CR0.PG with EFER.LME", rax, 0x400
            mov rax, 0x123456789abcdef0
            ror rax, 32
            mov rbx, 0x9abcdef012345678
            CHECK64 "64-bit mode: 64-bit registers", rax, rbx
            mov ax, SEL_TSS
            ltr ax
            str ax
            movzx eax, ax
            CHECK64 "LTR with a 16-byte TSS descriptor", rax, SEL_TSS
            movzx eax, byte [GDT_BASE + SEL_TSS + 5]
            and eax, 0x0f
            CHECK64 "LTR marks the 64-bit TSS busy (type 11)", rax, 0xb

            mov rax, HIGH
            mov eax, [rax]
            CHECK64 "upper-half canonical address maps through PML4 entry 256", rax, 0x11111111

            ; #PF in 64-bit mode on IST2.
            mov rdi, HIGH + 0x1008
            EXPECT_FAULT64 .r1
.f1:        mov rax, [rdi]
.r1:        CHECK64 "#PF: vector 14", [fault_vec], 14
            CHECK64 "#PF: error code 0 (read, not present)", [fault_err], 0
            mov rbx, HIGH + 0x1008
            CHECK64 "#PF: CR2 holds the 64-bit address", [fault_cr2], rbx
            CHECK64 "#PF: saved RIP", [fault_ip], .f1
            CHECK64 "#PF: frame on the IST2 stack", [fault_frame_sp], IST2_TOP - 40
            CHECK64 "#PF: saved CS", [fault_cs], SEL_CODE64
            CHECK64 "#PF: saved SS (pushed at the same privilege)", [fault_ss], SEL_DATA

            ; 4-level paging: a 1 GiB page, execute-disable, a reserved address bit.
            mov rax, 0x8000000000 + 0x200000
            mov eax, [rax]
            CHECK64 "1 GiB page: 512 GiB + 2 MiB reads physical 2 MiB", rax, 0x11111111
            mov rax, HIGH + 0x2000
            EXPECT_FAULT64 .r1b
            call rax
.r1b:       add rsp, 8
            CHECK64 "NX fetch in 64-bit mode: error code P|I/D", [fault_err], 0x11
            mov rbx, HIGH + 0x2000
            CHECK64 "NX fetch in 64-bit mode: CR2", [fault_cr2], rbx
            cmp dword [scratch + 0x40], 52
            jae .skip_rsvd
            mov rdi, HIGH + 0x3000
            EXPECT_FAULT64 .r1c
            mov rax, [rdi]
.r1c:       CHECK64 "address bit at MAXPHYADDR set: error code P|RSVD", [fault_err], 9
.skip_rsvd:

            ; INT n on IST1 from a misaligned stack; SS:RSP are pushed and restored by IRETQ.
            mov rbp, rsp
            sub rsp, 8
            mov r12, rsp
            EXPECT_FAULT64 .r2
            int 0x40
.r2:        mov r13, rsp
            mov rsp, rbp
            CHECK64 "INT 0x40: vector", [fault_vec], 0x40
            CHECK64 "INT 0x40: frame on the IST1 stack", [fault_frame_sp], IST1_TOP - 40
            CHECK64 "INT 0x40: saved RSP is the interrupted RSP", [fault_sp], r12
            CHECK64 "INT 0x40: saved RIP is the next instruction", [fault_ip], .r2
            CHECK64 "IRETQ restores RSP", r13, r12

            ; Without an IST the frame goes on the current stack, aligned down to 16 bytes.
            mov rbp, rsp
            mov rsp, 0x6ff8
            EXPECT_FAULT64 .r3
            int 0x41
.r3:        mov rsp, rbp
            CHECK64 "INT 0x41: frame below RSP aligned to 16", [fault_frame_sp], 0x6ff0 - 40
            CHECK64 "INT 0x41: saved RSP unaligned as it was", [fault_sp], 0x6ff8

            ; Canonical checks.
            mov rdi, 0x0000800000000000
            EXPECT_FAULT64 .r4
            mov rax, [rdi]
.r4:        CHECK64 "non-canonical data access: #GP", [fault_vec], 13
            CHECK64 "non-canonical data access: error code 0", [fault_err], 0
            mov rbp, rsp
            mov rsp, 0x0000800000000010
            mov qword [resume_sp], STACK_TOP - 0x100
            EXPECT_FAULT64 .r5
            push rax
.r5:        mov rsp, rbp
            CHECK64 "non-canonical stack access: #SS", [fault_vec], 12
            CHECK64 "non-canonical stack access: error code 0", [fault_err], 0
            mov ecx, 0xc0000100
            mov eax, 0
            mov edx, 0x00008000
            EXPECT_FAULT64 .r6
            wrmsr
.r6:        CHECK64 "WRMSR FS_BASE non-canonical: #GP", [fault_vec], 13

            ; A near JMP, CALL or RET to a non-canonical address faults on the branch itself:
            ; #GP(0) with RIP at the branch, nothing pushed or popped (Intel SDM Vol. 2A JMP, CALL,
            ; Vol. 2B RET, 64-bit mode exceptions: "If the target offset is non-canonical").
            mov rdi, 0x0000800000000000
            mov rbp, rsp
            EXPECT_FAULT64 .r6a
.jmp_nc:    jmp rdi
.r6a:       CHECK64 "JMP to a non-canonical address: #GP", [fault_vec], 13
            CHECK64 "JMP to a non-canonical address: RIP at the JMP", [fault_ip], .jmp_nc
            EXPECT_FAULT64 .r6b
.call_nc:   call rdi
.r6b:       CHECK64 "CALL to a non-canonical address: #GP", [fault_vec], 13
            CHECK64 "CALL to a non-canonical address: RIP at the CALL", [fault_ip], .call_nc
            CHECK64 "CALL to a non-canonical address: nothing pushed", [fault_sp], rbp
            push rdi
            EXPECT_FAULT64 .r6c
.ret_nc:    ret
.r6c:       mov rsp, rbp
            CHECK64 "RET to a non-canonical address: #GP", [fault_vec], 13
            CHECK64 "RET to a non-canonical address: RIP at the RET", [fault_ip], .ret_nc
            lea rcx, [rbp - 8]
            CHECK64 "RET to a non-canonical address: nothing popped", [fault_sp], rcx

            ; FS/GS bases and SWAPGS.
            mov ecx, 0xc0000101             ; GS_BASE
            mov eax, 0x200000
            xor edx, edx
            wrmsr
            mov ecx, 0xc0000102             ; KERNEL_GS_BASE
            mov eax, 0x202000
            wrmsr
            mov eax, [gs:0]
            CHECK64 "GS_BASE MSR sets the GS base", rax, 0x11111111
            swapgs
            mov eax, [gs:0]
            CHECK64 "SWAPGS exchanges GS base and KERNEL_GS_BASE", rax, 0x33333333
            mov ecx, 0xc0000102
            rdmsr
            CHECK64 "KERNEL_GS_BASE holds the old GS base", rax, 0x200000
            swapgs
            mov ecx, 0xc0000100             ; FS_BASE
            mov eax, 0
            mov edx, 0xffff8000
            wrmsr
            mov eax, [fs:0]
            CHECK64 "FS_BASE MSR with an upper-half address", rax, 0x11111111

            ; #GP whose gate is not present: #NP during delivery, two contributory faults -> #DF on IST3.
            mov byte [IDT_BASE + 13 * 16 + 5], 0x0e
            EXPECT_FAULT64 .r7
            mov rax, [rdi]
.r7:        CHECK64 "#NP while delivering #GP: #DF", [fault_vec], 8
            CHECK64 "#DF: error code 0", [fault_err], 0
            CHECK64 "#DF: frame on the IST3 stack", [fault_frame_sp], IST3_TOP - 40
            mov byte [IDT_BASE + 13 * 16 + 5], 0x8e

            ; A 64-bit call gate (16 bytes, Intel SDM Vol. 3A 5.8.3.1) at 0x48, DPL 3, to gate64_target.
            mov rax, gate64_target
            mov [GDT_BASE + SEL_SPARE], ax
            mov word [GDT_BASE + SEL_SPARE + 2], SEL_CODE64
            mov word [GDT_BASE + SEL_SPARE + 4], 0xec00
            shr rax, 16
            mov [GDT_BASE + SEL_SPARE + 6], ax
            shr rax, 16
            mov [GDT_BASE + SEL_SPARE + 8], eax
            mov dword [GDT_BASE + SEL_SPARE + 12], 0
            mov qword [far_ptr], 0
            mov word [far_ptr + 8], SEL_SPARE | 3

            ; Ring 3 through IRETQ, back through a DPL-3 gate.
            push SEL_UDATA | 3
            push USER_STACK
            push 0x3002
            push SEL_UCODE64 | 3
            push user64
            iretq
back_to_ring0:
            mov rsp, STACK_TOP
            mov ax, SEL_DATA                ; IRETQ to ring 3 made DS and ES null
            mov ds, ax
            mov es, ax

            ; IRETQ to compatibility mode (a 32-bit code segment while IA-32e mode is active).
            mov rax, rsp
            push SEL_DATA
            push rax
            push 2
            push SEL_CODE32
            push compat
            iretq

            bits 32
compat:
            mov eax, cs
            CHECK "IRETQ to a 32-bit code segment: compatibility mode", eax, SEL_CODE32
            mov ecx, 0xc0000080
            rdmsr
            and eax, 0x400
            CHECK "compatibility mode: EFER.LMA still set", eax, 0x400
            EXPECT_FAULT .c1
            int 0x41
.c1:        CHECK "interrupt from compatibility mode: saved CS", [fault_cs], SEL_CODE32
            CHECK "interrupt from compatibility mode: saved SS pushed", [fault_ss], SEL_DATA
            jmp SEL_CODE64:back64

            bits 64
back64:
            mov rax, 0x100000000
            shr rax, 32
            CHECK64 "far JMP back to 64-bit mode", rax, 1
            jmp finish64

user64:
            mov eax, cs
            CHECK64 "IRETQ to ring 3: CPL 3", rax, SEL_UCODE64 | 3
            mov eax, [USER_DATA]
            CHECK64 "ring 3 reads a user page", rax, 0x22222222
            mov rbp, rsp
            EXPECT_FAULT64 .u1
            int 0x42
.u1:        CHECK64 "ring 3 -> 0: frame at RSP0 of the TSS", [fault_frame_sp], STACK_TOP - 40
            CHECK64 "ring 3 -> 0: saved SS is the user SS", [fault_ss], SEL_UDATA | 3
            CHECK64 "ring 3 -> 0: saved RSP is the user RSP", [fault_sp], rbp
            CHECK64 "ring 3 -> 0: saved CS is ring 3", [fault_cs], SEL_UCODE64 | 3
            CHECK64 "ring 3 -> 0: SS in the handler is a null selector", [fault_cur_ss], 0
            mov rdi, HIGH
            EXPECT_FAULT64 .u2
            mov rax, [rdi]
.u2:        CHECK64 "ring 3 read of a supervisor page: error code P|U", [fault_err], 5
            CHECK64 "ring 3 #PF goes to the IST2 stack", [fault_frame_sp], IST2_TOP - 40
            ; Far CALL through the 64-bit call gate to ring 0, RETF (REX.W) back.
            mov rbp, rsp
            call far qword [far_ptr]
.aftergate: CHECK64 "64-bit call gate: target ran in ring 0", [gate_cs], SEL_CODE64
            CHECK64 "64-bit call gate: SS in ring 0 is a null selector", [gate_ss], 0
            CHECK64 "64-bit call gate: frame at RSP0 (RIP, CS, RSP, SS)", [gate_frame], STACK_TOP - 32
            CHECK64 "64-bit call gate: saved RIP", [gate_rip], .aftergate
            CHECK64 "64-bit call gate: saved RSP", [gate_rsp], rbp
            CHECK64 "64-bit call gate: saved SS", [gate_old_ss], SEL_UDATA | 3
            mov eax, cs
            CHECK64 "RETF to ring 3 in 64-bit mode", rax, SEL_UCODE64 | 3
            mov rax, rsp
            CHECK64 "RETF to ring 3 restores RSP", rax, rbp
            int 0x43

gate64_target:
            mov [gate_frame], rsp
            mov rax, [rsp]
            mov [gate_rip], rax
            mov rax, [rsp + 16]
            mov [gate_rsp], rax
            mov rax, [rsp + 24]
            mov [gate_old_ss], rax
            mov eax, cs
            mov [gate_cs], rax
            mov eax, ss
            mov [gate_ss], rax
            o64 retf
