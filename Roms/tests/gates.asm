; Gates test ROM: call gates, IDT gate errors, task gates and a task switch into virtual-8086
; mode, and an interrupt on a 16-bit stack, in 32-bit protected mode at CPL 0, 1 and 3.
;
; What the SDM says and this ROM checks (Intel SDM Vol. 2A CALL and JMP "Operation", Vol. 2B RET,
; IRET and INT n "Operation", Vol. 3A 5.8 (call gates), 6.12-6.13 (gates, error codes), 7.3 and
; Table 7-1 (task-switch checks), 20.2 (virtual-8086 tasks)):
; - a call gate to more privileged code switches to the TSS stack of the target's DPL and copies
;   the gate's parameter count of dwords (32-bit gate) or words (16-bit gate); a 16-bit gate
;   pushes CS:IP and SS:SP as words whatever the size of the code it reaches; RETF n releases n
;   bytes on both stacks; RETF to an outer level makes ES/FS/GS/DS null when they hold a data
;   segment whose DPL is below the new CPL;
; - gate DPL < CPL or RPL > gate DPL: #GP(gate); gate not present: #NP(gate); its code segment
;   not code or DPL > CPL: #GP(code), not present: #NP(code); JMP through a gate to
;   non-conforming code needs DPL = CPL, else #GP(code); the new stack's selector must have
;   RPL = DPL = the code's DPL (#TS(SS)), be present (#SS(SS)) and have room (#SS(SS));
; - a call gate to code at the same level pushes CS:EIP on the same stack and copies nothing;
; - INT n: a vector past the IDT limit or a gate of another type is #GP(n * 8 + 2), a software
;   interrupt's DPL check comes before the present check (#GP, not #NP, from ring 3), a not-present
;   gate is #NP(n * 8 + 2), an exception whose gate is not present sets EXT (n * 8 + 3), INTO is a
;   software interrupt for the DPL check, INT1 (F1) is not;
; - task gates in the IDT and the GDT, from ring 0 and ring 3; TSS/gate DPL, RPL, present and busy
;   checks; IRET to a task that is not busy is #TS(its selector); a task switch clears DR7's local
;   enables L0-L3 (Vol. 3B 18.2.4);
; - a task switch to a TSS whose EFLAGS has VM runs the task in virtual-8086 mode with its segment
;   registers as paragraph numbers; INT n there through a task gate saves the V86 state;
; - on a 16-bit stack (SS.B = 0) an interrupt pushes with SP, which wraps at 64 KiB and keeps
;   ESP[31:16], and IRET pops the same way;
; - every byte of an instruction must lie within CS's limit: #GP(0) at the instruction (5.3).
;
; Error codes carry the selector's index and TI with RPL replaced by IDT and EXT (6.13).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/gates.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_CG32        equ 0x48            ; call gate, 32-bit, DPL 3 -> SEL_CODE32:cg32_inner, 3 dwords
SEL_CG16        equ 0x50            ; call gate, 16-bit, DPL 3 -> SEL_CODE_F:cg16_inner, 2 words
SEL_CG0         equ 0x58            ; call gate, 32-bit, DPL 0 -> SEL_CODE32:cg_same, 2 dwords
SEL_CG_NP       equ 0x60            ; call gate, DPL 3, not present
SEL_CG_CNP      equ 0x68            ; call gate, DPL 3 -> a not-present code segment
SEL_CODE_NP     equ 0x70            ; code, DPL 0, not present
SEL_CG_DATA     equ 0x78            ; call gate, DPL 3 -> a data segment
SEL_CG_TO3      equ 0x80            ; call gate, DPL 0 -> ring-3 code
SEL_CODE_F      equ 0x88            ; code, DPL 0, 32-bit, base F0000, limit FFFF
SEL_UCODE_F     equ 0x90            ; code, DPL 3, 32-bit, base F0000, limit FFFF
SEL_TSS_T       equ 0x98            ; task T (TSS2_BASE)
SEL_TG3         equ 0xa0            ; task gate, DPL 3 -> task T
SEL_TSS_NP      equ 0xa8            ; a TSS descriptor, not present
SEL_TG_NP       equ 0xb0            ; task gate, DPL 3, not present
SEL_TG_BAD      equ 0xb8            ; task gate, DPL 3 -> SEL_DATA (not a TSS)
SEL_DATA16      equ 0xc0            ; data, B = 0, limit FFFF
SEL_TG0         equ 0xc8            ; task gate, DPL 0 -> task T
SEL_TSS_V       equ 0xd0            ; the virtual-8086 task (TSS_V)
SEL_CODE1       equ 0xd8            ; code, DPL 1
SEL_DATA1       equ 0xe0            ; data, DPL 1
SEL_SS1_SMALL   equ 0xe8            ; data, DPL 1, limit 1F
SEL_DATA1_NP    equ 0xf0            ; data, DPL 1, not present
SEL_CG_R1       equ 0xf8            ; call gate, 32-bit, DPL 3 -> SEL_CODE1:r1_target, 1 dword
SEL_CSLIM       equ 0x40            ; code, base 0, a limit inside cslim_a/cslim_b (free in 32-bit mode)

TSS_V           equ 0x3200          ; the V86 task's TSS
T_STACK         equ 0x6000
R1_STACK        equ 0x5800
V_STACK0        equ 0x5400
USER_STACK      equ 0x9000          ; below 64 KiB: the 16-bit gate saves SP as a word
NT              equ 0x4000
RES             equ 0xa000          ; results, dwords
cg_frame        equ RES + 0x00      ; 7 dwords the 32-bit gate pushed
cg_esp          equ RES + 0x20
cg_cs           equ RES + 0x24
cg_ss           equ RES + 0x28
cg16_frame      equ RES + 0x30      ; 12 bytes
cg16_esp        equ RES + 0x40
cg16_cs         equ RES + 0x44
r3f_esp_before  equ RES + 0x48
r3f_esp_after   equ RES + 0x4c
r3f_cs_after    equ RES + 0x50
same_esp        equ RES + 0x54
same_ret        equ RES + 0x58
same_cs         equ RES + 0x5c
same_mode       equ RES + 0x60      ; 1: CALL (RETF back), 2: JMP (jump to [same_back])
same_back       equ RES + 0x64
r1_esp          equ RES + 0x68
r1_cs           equ RES + 0x6c
r1_ss           equ RES + 0x70
r1_param        equ RES + 0x74
t_tr            equ RES + 0x78
t_link          equ RES + 0x7c
t_flags         equ RES + 0x80
t_cs            equ RES + 0x84
t_count         equ RES + 0x88
i43_esp         equ RES + 0x8c
saved_esp       equ RES + 0x90
r3_esp          equ RES + 0x94
tmp             equ RES + 0x98      ; and tmp + 4
t_dr7           equ RES + 0xa0
x_vec           equ RES + 0xa4
x_err           equ RES + 0xa8
x_tr            equ RES + 0xac
x_ip            equ RES + 0xb0
x_ran           equ RES + 0xb4
TSS_X           equ 0x3300
X_STACK         equ 0x5c00

; CALLGATE selector, target selector, offset, access byte, count: writes a call gate into the GDT.
%macro CALLGATE 5
            mov eax, %3
            mov word [GDT_BASE + %1], ax
            mov word [GDT_BASE + %1 + 2], %2
            mov byte [GDT_BASE + %1 + 4], %5
            mov byte [GDT_BASE + %1 + 5], %4
            shr eax, 16
            mov word [GDT_BASE + %1 + 6], ax
%endmacro

; TASKGATE address, TSS selector, access byte: writes a task gate (GDT or IDT entry).
%macro TASKGATE 3
            mov dword [%1], %2 << 16
            mov dword [%1 + 4], %3 << 8
%endmacro

            section pm
            bits 32
main:
            SPARE_DESCRIPTORS descriptors, descriptors_end
            mov eax, STACK_TOP
            call tss32_install
            call ring0_return_install
            mov edi, RES
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd

            CALLGATE SEL_CG32, SEL_CODE32, cg32_inner, 0xec, 3
            CALLGATE SEL_CG16, SEL_CODE_F, cg16_inner - ROMBASE, 0xe4, 2
            CALLGATE SEL_CG0, SEL_CODE32, cg_same, 0x8c, 2
            CALLGATE SEL_CG_NP, SEL_CODE32, cg32_inner, 0x6c, 0
            CALLGATE SEL_CG_CNP, SEL_CODE_NP, cg32_inner, 0xec, 0
            CALLGATE SEL_CG_DATA, SEL_DATA, cg32_inner, 0xec, 0
            CALLGATE SEL_CG_TO3, SEL_UCODE32, cg32_inner, 0x8c, 0
            CALLGATE SEL_CG_R1, SEL_CODE1, r1_target, 0xec, 1
            TASKGATE GDT_BASE + SEL_TG3, SEL_TSS_T, 0xe5
            TASKGATE GDT_BASE + SEL_TG_NP, SEL_TSS_T, 0x65
            TASKGATE GDT_BASE + SEL_TG_BAD, SEL_DATA, 0xe5
            TASKGATE GDT_BASE + SEL_TG0, SEL_TSS_T, 0x85
            TASKGATE IDT_BASE + 0x40 * 8, SEL_TSS_T, 0x85
            TASKGATE IDT_BASE + 0x42 * 8, SEL_TSS, 0xe5
            mov eax, 0x43
            mov ebx, int43_handler
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            mov eax, 0x44
            mov edx, 0x0e                   ; not present
            call set_gate32
            mov eax, 0x45
            mov edx, 0x8c                   ; a call gate: no type for the IDT
            call set_gate32
            mov eax, 0x46
            mov ecx, SEL_CODE_NP
            mov edx, 0x8e
            call set_gate32

            ; Task T's TSS (32-bit, CPL 0).
            mov edi, TSS2_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS2_BASE + 0x20], task_t
            mov dword [TSS2_BASE + 0x24], 2
            mov dword [TSS2_BASE + 0x38], T_STACK
            mov dword [TSS2_BASE + 0x48], SEL_DATA
            mov dword [TSS2_BASE + 0x4c], SEL_CODE32
            mov dword [TSS2_BASE + 0x50], SEL_DATA
            mov dword [TSS2_BASE + 0x54], SEL_DATA
            mov dword [TSS2_BASE + 0x58], SEL_DATA
            mov dword [TSS2_BASE + 0x5c], SEL_DATA
            mov word [TSS2_BASE + 0x66], 0x68
            mov eax, TSS2_BASE
            mov edx, 0x67
            mov ebx, SEL_TSS_T
            mov ecx, 0x89
            call set_descriptor

            ; ---- call gates at CPL 0
            ; CALL through a gate to code of the same level: CS:EIP on the same stack, no copy.
            mov dword [same_mode], 1
            push dword 0x5a5a5a5a           ; would be parameters if they were copied
            push dword 0xa5a5a5a5
            mov [saved_esp], esp
            call SEL_CG0:0xdeadbeef         ; the offset is not used (5.8.4)
.same_ret:  add esp, 8
            mov eax, [saved_esp]
            sub eax, 8
            CHECK "CALL gate, same level: CS:EIP pushed on the same stack", [same_esp], eax
            CHECK "CALL gate, same level: return EIP", [same_ret], main.same_ret
            CHECK "CALL gate, same level: return CS", [same_cs], SEL_CODE32
            mov dword [same_mode], 2
            mov dword [same_back], .jmp_back
            mov [saved_esp], esp
            jmp SEL_CG0:0
.jmp_back:  CHECK "JMP through a call gate: nothing pushed", [same_esp], [saved_esp]
            FAULT "CALL gate with RPL 3 above the gate's DPL 0", 13, SEL_CG0, call SEL_CG0 | 3:0
            FAULT "CALL gate to code with DPL 3 above CPL 0", 13, SEL_UCODE32, call SEL_CG_TO3:0

            ; ---- IDT errors (INT n Operation; 6.13 error codes)
            FAULT "INT to a not-present gate: #NP(n * 8 + 2)", 11, 0x44 * 8 + 2, int 0x44
            FAULT "INT to a call gate in the IDT: #GP(n * 8 + 2)", 13, 0x45 * 8 + 2, int 0x45
            FAULT "INT to a gate whose code is not present: #NP(code)", 11, SEL_CODE_NP, int 0x46
            mov byte [IDT_BASE + 6 * 8 + 5], 0x0e   ; #UD's gate not present
            FAULT "#UD through a not-present gate: #NP(6 * 8 + 2 + EXT)", 11, 6 * 8 + 3, ud2
            mov byte [IDT_BASE + 6 * 8 + 5], 0x8e
            mov word [tmp], 0x60 * 8 - 1
            mov dword [tmp + 2], IDT_BASE
            lidt [tmp]
            FAULT "INT past the IDT limit: #GP(n * 8 + 2)", 13, 0x60 * 8 + 2, int 0x60
            mov word [tmp], 256 * 8 - 1
            lidt [tmp]

            ; ---- an interrupt on a 16-bit stack: SP wraps, ESP[31:16] is kept
            mov [saved_esp], esp
            mov ax, SEL_DATA16
            mov ss, ax
            mov esp, 0x12340008
            int 0x43
.i43_ret:   mov [tmp], esp
            mov ax, SEL_DATA
            mov ss, ax
            mov esp, [saved_esp]
            CHECK "INT on a 16-bit stack: ESP in the handler (SP wrapped)", [i43_esp], 0x1234fffc
            CHECK "INT on a 16-bit stack: EIP at SP - 12 (0xFFFC)", [0xfffc], main.i43_ret
            mov eax, [0]
            and eax, 0xffff
            CHECK "INT on a 16-bit stack: CS at 0x0000", eax, SEL_CODE32
            CHECK "IRETD on a 16-bit stack: ESP[31:16] kept", [tmp], 0x12340008

            ; ---- task gates and TSS checks at CPL 0
            ; DR7's local enables L0-L3 are cleared by every task switch, G0-G3 are not (Vol. 3B
            ; 18.2.4). Breakpoint 0 is an instruction breakpoint at FFFFFFF0, never fetched again.
            mov eax, 0xfffffff0
            mov dr0, eax
            mov eax, 0x403                  ; L0, G0
            mov dr7, eax
            mov ebx, 0x0b0b0b0b
            int 0x40                        ; task gate in the IDT
            mov [tmp], ebx
            CHECK "INT to a task gate: the task ran", [t_count], 1
            CHECK "INT to a task gate: TR in the new task", [t_tr], SEL_TSS_T
            CHECK "INT to a task gate: back link", [t_link], SEL_TSS
            mov eax, [t_flags]
            and eax, NT
            CHECK "INT to a task gate: NT set in the new task", eax, NT
            CHECK "IRET from the task: EBX restored", [tmp], 0x0b0b0b0b
            CHECK "task switch: DR7 L0 cleared, G0 kept (in the new task)", [t_dr7], 0x402
            mov eax, dr7
            CHECK "task switch back: DR7 L0 still clear", eax, 0x402
            mov eax, 0x400
            mov dr7, eax
            str ax
            movzx eax, ax
            CHECK "IRET from the task: TR", eax, SEL_TSS
            movzx eax, byte [GDT_BASE + SEL_TSS_T + 5]
            CHECK "IRET from the task: task T not busy", eax, 0x89
            jmp SEL_TG3:0                   ; task gate in the GDT; T JMPs back
            CHECK "JMP to a task gate: the task ran", [t_count], 2
            mov eax, [t_flags]
            and eax, NT
            CHECK "JMP to a task gate: NT clear in the new task", eax, 0
            movzx eax, byte [GDT_BASE + SEL_TSS_T + 5]
            CHECK "JMP back from the task: task T not busy", eax, 0x89
            movzx eax, byte [GDT_BASE + SEL_TSS + 5]
            CHECK "JMP back from the task: main task busy", eax, 0x8b
            FAULT "CALL to a not-present TSS: #NP(TSS)", 11, SEL_TSS_NP, call SEL_TSS_NP:0
            FAULT "CALL to a not-present task gate: #NP(gate)", 11, SEL_TG_NP, call SEL_TG_NP:0
            FAULT "task gate to a data segment: #GP(its selector)", 13, SEL_DATA, call SEL_TG_BAD:0
            FAULT "CALL to a DPL-0 TSS with RPL 3: #GP(TSS)", 13, SEL_TSS_T, call SEL_TSS_T | 3:0
            FAULT "JMP to the busy current task: #GP(TSS)", 13, SEL_TSS, jmp SEL_TSS:0
            mov dword [TSS_BASE], SEL_TSS_T ; back link to a task that is not busy
            pushfd
            or dword [esp], NT
            popfd
            FAULT "IRET with NT to a task that is not busy: #TS(TSS)", 10, SEL_TSS_T, iretd
            pushfd
            and dword [esp], ~NT
            popfd
            mov dword [TSS_BASE], 0
            str ax
            movzx eax, ax
            CHECK "IRET #TS: TR unchanged", eax, SEL_TSS

            ; ---- a new task whose DS is a TSS descriptor: the switch commits, then #TS(DS selector)
            ; is raised in the new task (Vol. 3A 7.3 step 13 and Table 7-1). SEL_TSS_NP becomes task X.
            mov edi, TSS_X
            xor eax, eax
            mov ecx, 0x68 / 4
            rep stosd
            mov dword [TSS_X + 0x20], task_x
            mov dword [TSS_X + 0x24], 2
            mov dword [TSS_X + 0x38], X_STACK
            mov dword [TSS_X + 0x48], SEL_DATA
            mov dword [TSS_X + 0x4c], SEL_CODE32
            mov dword [TSS_X + 0x50], SEL_DATA
            mov dword [TSS_X + 0x54], SEL_TSS_T     ; DS: not a data segment
            mov dword [TSS_X + 0x58], SEL_DATA
            mov dword [TSS_X + 0x5c], SEL_DATA
            mov word [TSS_X + 0x66], 0x68
            mov eax, TSS_X
            mov edx, 0x67
            mov ebx, SEL_TSS_NP
            mov ecx, 0x89
            call set_descriptor
            mov eax, 10
            mov ebx, ts_handler
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            call SEL_TSS_NP:0               ; task X IRETs back here after the #TS
            mov eax, 10
            mov ebx, [isr32_table + 10 * 4]
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            CHECK "new task with a bad DS: #TS raised", [x_vec], 10
            CHECK "new task with a bad DS: error code is the DS selector", [x_err], SEL_TSS_T
            CHECK "new task with a bad DS: the #TS is taken in the new task (TR)", [x_tr], SEL_TSS_NP
            CHECK "new task with a bad DS: saved EIP is the new task's first instruction", [x_ip], task_x
            CHECK "new task with a bad DS: the new task ran after the handler", [x_ran], 1
            CHECK "new task with a bad DS: back link written", [TSS_X], SEL_TSS
            movzx eax, byte [GDT_BASE + SEL_TSS_NP + 5]
            CHECK "new task with a bad DS: not busy after its IRET", eax, 0x89

            ; ---- a task switch into virtual-8086 mode
            mov edi, TSS_V
            xor eax, eax
            mov ecx, 0x68 / 4
            rep stosd
            mov dword [TSS_V + 0x04], V_STACK0
            mov dword [TSS_V + 0x08], SEL_DATA
            mov dword [TSS_V + 0x20], v86_task - ROMBASE
            mov dword [TSS_V + 0x24], 0x00023002    ; VM, IOPL 3
            mov dword [TSS_V + 0x38], 0x5000
            mov dword [TSS_V + 0x48], 0x0b00        ; ES
            mov dword [TSS_V + 0x4c], 0xf000        ; CS
            mov dword [TSS_V + 0x50], 0x0000        ; SS
            mov dword [TSS_V + 0x54], 0x1234        ; DS
            mov dword [TSS_V + 0x58], 0x1111        ; FS
            mov dword [TSS_V + 0x5c], 0x2222        ; GS
            mov word [TSS_V + 0x66], 0x68
            mov eax, TSS_V
            mov edx, 0x67
            mov ebx, SEL_TSS_V
            mov ecx, 0x89
            call set_descriptor
            mov word [0xb010], 0x4d4d                ; ES:0x10 in the V86 task
            jmp SEL_TSS_V:0
            ; The V86 task's INT 0x42 (task gate to this task) continues here.
            pushfd
            pop eax
            and eax, NT
            CHECK "V86 task's INT to a task gate: NT set here", eax, NT
            CHECK "V86 task's INT to a task gate: back link", [TSS_BASE], SEL_TSS_V
            mov eax, [TSS_V + 0x24]
            and eax, 0x20000
            CHECK "V86 task: EFLAGS saved with VM", eax, 0x20000
            CHECK "V86 task: CS saved", [TSS_V + 0x4c], 0xf000
            CHECK "V86 task: DS saved", [TSS_V + 0x54], 0x1234
            CHECK "V86 task: EIP saved after its INT", [TSS_V + 0x20], v86_task.int1 - ROMBASE
            mov eax, [TSS_V + 0x34]
            and eax, 0xffff
            CHECK "V86 task: MOV BX, DS read the paragraph number", eax, 0x1234
            mov eax, [TSS_V + 0x2c]
            and eax, 0xffff
            CHECK "V86 task: MOV CX, CS", eax, 0xf000
            mov eax, [TSS_V + 0x30]
            and eax, 0xffff
            CHECK "V86 task: MOV DX, FS", eax, 0x1111
            mov eax, [TSS_V + 0x40]
            and eax, 0xffff
            CHECK "V86 task: ES = 0x0B00 reads linear 0xB010", eax, 0x4d4d
            mov eax, [TSS_V + 0x44]
            and eax, 0xffff
            CHECK "V86 task: PUSHF shows IOPL 3", eax, 0x3002
            movzx eax, byte [GDT_BASE + SEL_TSS_V + 5]
            CHECK "V86 task: still busy (nested)", eax, 0x8b
            iretd                           ; back to the V86 task, which INTs here again
            CHECK "IRET to the V86 task: it resumed in V86 mode (AX)", [TSS_V + 0x28], 0x5678
            CHECK "IRET to the V86 task: EIP after its second INT", [TSS_V + 0x20], v86_task.int2 - ROMBASE
            pushfd
            and dword [esp], ~NT
            popfd
            mov byte [GDT_BASE + SEL_TSS_V + 5], 0x89

            ; ---- instruction fetch past CS's limit: #GP(0) at the instruction that crosses it
            ; (Vol. 3A 5.3, 6.15 Interrupt 13). Selector 40H (free in 32-bit mode) is 32-bit code
            ; with base 0 and a limit inside cslim_a or cslim_b at the end of this ROM.
            xor eax, eax
            mov edx, cslim_a.end - 1
            mov ebx, SEL_CSLIM
            mov ecx, 0x9a
            call set_descriptor
            or byte [GDT_BASE + SEL_CSLIM + 6], 0x40
            FAULT "running past CS's limit: #GP(0)", 13, 0, jmp SEL_CSLIM:cslim_a
            CHECK "running past CS's limit: saved EIP is the first offset past it", [fault_ip], cslim_a.end
            CHECK "running past CS's limit: saved CS", [fault_cs], SEL_CSLIM
            jmp SEL_CODE32:.cslim1          ; the handler resumed in SEL_CSLIM
.cslim1:    xor eax, eax
            mov edx, cslim_b.mov + 2        ; the limit falls inside the MOV's immediate
            mov ebx, SEL_CSLIM
            mov ecx, 0x9a
            call set_descriptor
            or byte [GDT_BASE + SEL_CSLIM + 6], 0x40
            FAULT "an instruction crossing CS's limit: #GP(0)", 13, 0, jmp SEL_CSLIM:cslim_b
            CHECK "an instruction crossing CS's limit: saved EIP is its first byte", [fault_ip], cslim_b.mov
            CHECK "the instruction before it ran", [tmp], 0x600d
            jmp SEL_CODE32:.cslim2
.cslim2:

            ; ---- ring 3 (IOPL 3, so checks print from there)
            mov dword [ring0_continue], back_in_ring0
            mov eax, ring3
            mov ebx, USER_STACK
            call to_ring3_32

ring3:
            mov eax, SEL_UDATA | 3
            mov ds, ax
            ; A 32-bit call gate to ring 0 with three parameters.
            mov [r3_esp], esp
            push dword 0x11111111
            push dword 0x22222222
            push dword 0x33333333
            call SEL_CG32 | 3:0
.cg32_ret:  mov [tmp], esp
            CHECK "32-bit gate: RETF 12 releases the parameters on the outer stack", [tmp], [r3_esp]
            CHECK "32-bit gate: ESP = ESP0 - 28", [cg_esp], STACK_TOP - 28
            CHECK "32-bit gate: EIP", [cg_frame], ring3.cg32_ret
            mov eax, [cg_frame + 4]
            and eax, 0xffff
            CHECK "32-bit gate: CS", eax, SEL_UCODE32 | 3
            CHECK "32-bit gate: parameter nearest the old ESP copied nearest the new", [cg_frame + 8], 0x33333333
            CHECK "32-bit gate: second parameter", [cg_frame + 12], 0x22222222
            CHECK "32-bit gate: third parameter", [cg_frame + 16], 0x11111111
            mov eax, [r3_esp]
            sub eax, 12
            CHECK "32-bit gate: saved ESP points at the parameters", [cg_frame + 20], eax
            mov eax, [cg_frame + 24]
            and eax, 0xffff
            CHECK "32-bit gate: saved SS", eax, SEL_UDATA | 3
            CHECK "32-bit gate: CS in the procedure", [cg_cs], SEL_CODE32
            CHECK "32-bit gate: SS from SS0", [cg_ss], SEL_DATA
            xor eax, eax
            mov ax, es
            CHECK "RETF to ring 3: ES (DPL-0 data) made null", eax, 0
            mov ax, fs
            CHECK "RETF to ring 3: FS (DPL-0 data) made null", eax, 0
            mov ax, gs
            CHECK "RETF to ring 3: GS (DPL-3 data) kept", eax, SEL_UDATA | 3
            mov ax, ds
            CHECK "RETF to ring 3: DS (DPL-3 data) kept", eax, SEL_UDATA | 3
            mov ax, cs
            CHECK "RETF to ring 3: CS", eax, SEL_UCODE32 | 3

            ; Gate faults from ring 3.
            FAULT "CALL to a DPL-0 call gate from ring 3: #GP(gate)", 13, SEL_CG0, call SEL_CG0 | 3:0
            FAULT "CALL to a not-present call gate: #NP(gate)", 11, SEL_CG_NP, call SEL_CG_NP | 3:0
            FAULT "call gate to not-present code: #NP(code)", 11, SEL_CODE_NP, call SEL_CG_CNP | 3:0
            FAULT "call gate to a data segment: #GP(its selector)", 13, SEL_DATA, call SEL_CG_DATA | 3:0
            mov [tmp], esp
            FAULT "JMP through a call gate to more privileged code: #GP(code)", 13, SEL_CODE32, jmp SEL_CG32 | 3:0
            mov [tmp + 4], esp
            CHECK "JMP #GP: ESP unchanged", [tmp + 4], [tmp]

            ; A 32-bit call gate to ring 1 (SS1:ESP1 from the TSS), then its stack checks.
            mov dword [TSS_BASE + 0x0c], R1_STACK
            mov dword [TSS_BASE + 0x10], SEL_DATA1 | 1
            mov [r3_esp], esp
            push dword 0x77
            call SEL_CG_R1 | 3:0
            mov [tmp], esp
            CHECK "ring-1 gate: RETF 4 back to ring 3 releases the parameter", [tmp], [r3_esp]
            CHECK "ring-1 gate: CS RPL 1", [r1_cs], SEL_CODE1 | 1
            CHECK "ring-1 gate: SS = SS1", [r1_ss], SEL_DATA1 | 1
            CHECK "ring-1 gate: ESP = ESP1 - 20", [r1_esp], R1_STACK - 20
            CHECK "ring-1 gate: parameter", [r1_param], 0x77
            mov dword [TSS_BASE + 0x10], SEL_DATA | 1
            push dword 0x77
            mov [tmp], esp
            FAULT "new stack with DPL 0 for ring-1 code: #TS(SS)", 10, SEL_DATA, call SEL_CG_R1 | 3:0
            mov [tmp + 4], esp
            CHECK "#TS from a call gate: ESP unchanged", [tmp + 4], [tmp]
            mov dword [TSS_BASE + 0x10], SEL_DATA1
            FAULT "new stack selector with RPL 0 for ring-1 code: #TS(SS)", 10, SEL_DATA1, call SEL_CG_R1 | 3:0
            mov dword [TSS_BASE + 0x10], SEL_DATA1_NP | 1
            FAULT "new stack segment not present: #SS(SS)", 12, SEL_DATA1_NP, call SEL_CG_R1 | 3:0
            mov dword [TSS_BASE + 0x10], SEL_SS1_SMALL | 1
            mov dword [TSS_BASE + 0x0c], 0x10
            FAULT "new stack without room for the frame: #SS(SS)", 12, SEL_SS1_SMALL, call SEL_CG_R1 | 3:0
            add esp, 4

            ; A 16-bit call gate from ring-3 code whose offsets fit 16 bits (base F0000).
            jmp SEL_UCODE_F | 3:r3f - ROMBASE
.r3f_back:
            mov eax, [r3f_esp_before]
            CHECK "16-bit gate: O16 RETF 4 back to ring 3: ESP", [r3f_esp_after], eax
            CHECK "16-bit gate: back in ring 3 (CS)", [r3f_cs_after], SEL_UCODE_F | 3
            CHECK "16-bit gate: ESP = ESP0 - 12 (six words)", [cg16_esp], STACK_TOP - 12
            CHECKW "16-bit gate: IP word", [cg16_frame], r3f.ret - ROMBASE
            CHECKW "16-bit gate: CS word", [cg16_frame + 2], SEL_UCODE_F | 3
            CHECKW "16-bit gate: the last pushed word first", [cg16_frame + 4], 0xbbbb
            CHECKW "16-bit gate: the first pushed word", [cg16_frame + 6], 0xaaaa
            mov eax, [r3f_esp_before]
            sub eax, 4
            movzx ebx, word [cg16_frame + 8]
            CHECK "16-bit gate: SP word", ebx, eax
            CHECKW "16-bit gate: SS word", [cg16_frame + 10], SEL_UDATA | 3
            CHECK "16-bit gate: CS in the procedure", [cg16_cs], SEL_CODE_F

            ; Task gates and TSSs from ring 3.
            mov ebx, 0x3b3b3b3b
            call SEL_TG3 | 3:0
            mov [tmp], ebx
            CHECK "ring 3 CALL to a DPL-3 task gate: the task ran", [t_count], 3
            CHECK "ring 3 CALL to a task gate: the task ran at CPL 0", [t_cs], SEL_CODE32
            CHECK "ring 3 CALL to a task gate: back link", [t_link], SEL_TSS
            xor eax, eax
            mov ax, cs
            CHECK "IRET from the task: back in ring 3 (CS)", eax, SEL_UCODE32 | 3
            mov ax, ss
            CHECK "IRET from the task: ring-3 SS", eax, SEL_UDATA | 3
            CHECK "IRET from the task: EBX", [tmp], 0x3b3b3b3b
            FAULT "ring 3 CALL to a DPL-0 TSS: #GP(TSS)", 13, SEL_TSS_T, call SEL_TSS_T | 3:0
            FAULT "ring 3 CALL to a DPL-0 task gate: #GP(gate)", 13, SEL_TG0, call SEL_TG0 | 3:0
            FAULT "ring 3 INT to a DPL-0 task gate: #GP(n * 8 + 2)", 13, 0x40 * 8 + 2, int 0x40
            FAULT "ring 3 INT to a DPL-0 not-present gate: #GP before #NP", 13, 0x44 * 8 + 2, int 0x44
            mov al, 0x7f
            add al, 1                       ; OF = 1
            FAULT "ring 3 INTO with OF to a DPL-0 gate: #GP(4 * 8 + 2)", 13, 4 * 8 + 2, into
            TRY db 0xf1                     ; INT1
            CHECK "ring 3 INT1: #DB through the DPL-0 gate (no DPL check)", [fault_vec], 1
            mov dword [resume], .int1_after
            db 0xf1
.int1_after:
            CHECK "INT1 is a trap: saved EIP after it", [fault_ip], ring3.int1_after
            int 0x30

back_in_ring0:
            jmp finish32

; ------------------------------------------------------------------ procedures and tasks
cg32_inner:                                 ; ring 0 through SEL_CG32, DS = the ring-3 DS
            mov [cg_esp], esp
            mov eax, [esp]
            mov [cg_frame], eax
            mov eax, [esp + 4]
            mov [cg_frame + 4], eax
            mov eax, [esp + 8]
            mov [cg_frame + 8], eax
            mov eax, [esp + 12]
            mov [cg_frame + 12], eax
            mov eax, [esp + 16]
            mov [cg_frame + 16], eax
            mov eax, [esp + 20]
            mov [cg_frame + 20], eax
            mov eax, [esp + 24]
            mov [cg_frame + 24], eax
            xor eax, eax
            mov ax, cs
            mov [cg_cs], eax
            mov ax, ss
            mov [cg_ss], eax
            mov ax, SEL_DATA
            mov es, ax
            mov fs, ax
            mov ax, SEL_UDATA | 3
            mov gs, ax
            retf 12

cg_same:                                    ; ring 0 through SEL_CG0 from ring 0
            mov [same_esp], esp
            cmp dword [same_mode], 2
            je .jmp
            mov eax, [esp]
            mov [same_ret], eax
            mov eax, [esp + 4]
            and eax, 0xffff
            mov [same_cs], eax
            retf
.jmp:       jmp [same_back]

r1_target:                                  ; ring 1 through SEL_CG_R1
            mov [r1_esp], esp
            xor eax, eax
            mov ax, cs
            mov [r1_cs], eax
            mov ax, ss
            mov [r1_ss], eax
            mov eax, [esp + 8]
            mov [r1_param], eax
            retf 4

; #TS in task X: DS holds a selector that cannot be loaded, so the handler loads its own.
ts_handler:
            push ax
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            pop ax
            mov dword [x_vec], 10
            pop dword [x_err]
            mov eax, [esp]
            mov [x_ip], eax
            str ax
            movzx eax, ax
            mov [x_tr], eax
            iretd

task_x:     mov dword [x_ran], 1
            iretd                           ; NT: back to the caller
            jmp task_x

int43_handler:
            mov [i43_esp], esp
            iretd

; Task T: records what it sees, then returns the way it was entered (IRET when NT, else JMP).
task_t:
            str ax
            movzx eax, ax
            mov [t_tr], eax
            mov eax, [TSS2_BASE]
            mov [t_link], eax
            pushfd
            pop eax
            mov [t_flags], eax
            xor eax, eax
            mov ax, cs
            mov [t_cs], eax
            mov eax, dr7
            mov [t_dr7], eax
            inc dword [t_count]
            test dword [t_flags], NT
            jz .jmp
            iretd
            jmp task_t
.jmp:       jmp SEL_TSS:0
            jmp task_t

; Ring-3 code in SEL_UCODE_F (base F0000): offsets fit the 16-bit gate's IP word. Data is reached
; through the flat DS; the jumps are relative.
r3f:
            mov [r3f_esp_before], esp
            push word 0xaaaa
            push word 0xbbbb
            call SEL_CG16 | 3:0
.ret:       mov [r3f_esp_after], esp
            xor eax, eax
            mov ax, cs
            mov [r3f_cs_after], eax
            jmp SEL_UCODE32 | 3:ring3.r3f_back

cg16_inner:                                 ; ring 0 in SEL_CODE_F through the 16-bit gate
            mov [cg16_esp], esp
            mov eax, [esp]
            mov [cg16_frame], eax
            mov eax, [esp + 4]
            mov [cg16_frame + 4], eax
            mov eax, [esp + 8]
            mov [cg16_frame + 8], eax
            xor eax, eax
            mov ax, cs
            mov [cg16_cs], eax
            o16 retf 4

            bits 16
v86_task:                                   ; virtual-8086 mode, CS = F000
            mov bx, ds
            mov cx, cs
            mov dx, fs
            mov si, [es:0x10]
            pushf
            pop di
            int 0x42
.int1:      mov ax, 0x5678
            int 0x42
.int2:      jmp .int2
            bits 32

; Code for the CS-limit checks, last in the ROM so that every other label lies below the limits.
cslim_a:    nop
            nop
.end:       mov eax, 1                      ; its first byte is past the limit
            ud2
cslim_b:    mov dword [tmp], 0x600d
.mov:       mov eax, 0x12345678
            ud2

            align 8
descriptors:
            times 5 dq 0                    ; 0x48-0x68: gates written by main
            dq 0x00cf1a000000ffff           ; 0x70 code, DPL 0, not present
            dq 0                            ; 0x78
            dq 0                            ; 0x80
            dq 0x00409a0f0000ffff           ; 0x88 code, DPL 0, base F0000
            dq 0x0040fa0f0000ffff           ; 0x90 code, DPL 3, base F0000
            dq 0                            ; 0x98 task T (set_descriptor)
            dq 0                            ; 0xa0
            dq 0x0000090031000067           ; 0xa8 TSS at 0x3100, not present
            dq 0                            ; 0xb0
            dq 0                            ; 0xb8
            dq 0x000092000000ffff           ; 0xc0 data, B = 0, limit FFFF
            dq 0                            ; 0xc8
            dq 0                            ; 0xd0 the V86 task (set_descriptor)
            dq 0x00cfba000000ffff           ; 0xd8 code, DPL 1
            dq 0x00cfb2000000ffff           ; 0xe0 data, DPL 1
            dq 0x0040b2000000001f           ; 0xe8 data, DPL 1, limit 1F
            dq 0x00cf32000000ffff           ; 0xf0 data, DPL 1, not present
            dq 0                            ; 0xf8
descriptors_end:
