; Hardware task-switch test ROM (Intel SDM Vol. 3A 8.3, Table 8-2): CALL through a task gate,
; IRET back through the back link (NT), JMP to a TSS and back; busy bits, NT, the back link, the
; state saved in and loaded from the 32-bit TSS (registers, EIP, EFLAGS, CR3, segments) and
; #GP on a CALL to a busy task. Then a 16-bit (80286) task, Intel SDM Vol. 3A 8.7 and Figure 8-11:
; CALL to its TSS loads IP, FLAGS, the 16-bit registers, ES/CS/SS/DS and leaves CR3 and FS/GS
; (null); its IRET saves its state in the 16-bit format and returns through the back link; a JMP
; back into it and its JMP out save and load across the two formats. Then (8.3 steps 8-12, 8.2.1,
; 8.2.2): a 32-bit task whose TSS names an LDT (LDTR loaded, an LDT selector in FS usable at once),
; FS/GS/EFLAGS/EDX/EBP/EDI loaded from the TSS, CR0.TS set by every task switch; the outgoing
; task's general registers, segment registers and EFLAGS written to its TSS and its LDT field left
; as it was; a TSS whose T flag is set raises #DB in the new task before its first instruction with
; DR6.BT set (Vol. 3B 18.2.3, 18.3.1.5); a TSS descriptor whose limit is below 67H gives
; #TS(selector) (Table 8-2 / Vol. 3A 6.15 #TS conditions).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/tasks.bin (exit status 1 = all passed).

%include "lib.inc"

PD_A        equ PAGE_TABLES             ; main task: linear 4 MiB -> physical 4 MiB
PD_B        equ PAGE_TABLES + 0x2000    ; task B: linear 4 MiB -> physical 8 MiB
SEL_TSS_B   equ SEL_SPARE               ; 0x48
SEL_GATE_B  equ SEL_SPARE + 8           ; 0x50: task gate to task B
B_STACK     equ STACKS + 0x1000
SEL_TSS_C   equ SEL_SPARE + 0x10        ; 0x58: 16-bit TSS of task C
SEL_CODE16  equ SEL_SPARE + 0x18        ; 0x60: 16-bit code, base ROMBASE
SEL_DATA16  equ SEL_SPARE + 0x20        ; 0x68: 16-bit data (B = 0), base 0, 64 KiB: a 286 task's stack
TSS_C       equ 0x3200                  ; 0x2C bytes (Figure 8-11)
C_STACK     equ 0x6800
SEL_TSS_D   equ SEL_SPARE + 0x28        ; 0x70: 16-bit TSS of task D, the #GP handler
TSS_D       equ 0x3240
D_STACK     equ 0x6600
C_SEEN      equ scratch + 0x20          ; words task C records: AX, SI, FLAGS, TR, FS, link, CR3 low, marker
SEL_TSS_E   equ SEL_SPARE + 0x30        ; 0x78: 32-bit TSS of task E, with an LDT
SEL_TSS_F   equ SEL_SPARE + 0x38        ; 0x80: 32-bit TSS of task F, T flag set
SEL_LDT     equ SEL_SPARE + 0x40        ; 0x88: task E's LDT
SEL_TSS_S   equ SEL_SPARE + 0x48        ; 0x90: a TSS descriptor with limit 50H (too short)
TSS_E       equ 0x3300
TSS_F       equ 0x3380
LDT_E       equ 0x3400                  ; entry 1 (selector 0x0C): data at LDT_DATA
LDT_DATA    equ 0x3500
E_STACK     equ 0x6400
F_STACK     equ 0x6200
E_SEEN      equ 0x0640                  ; dwords task E and F record (below the GDT, above the scratch)

            section pm
            bits 32
main:
            mov eax, STACK_TOP
            call tss32_install

            ; Two address spaces: 0-4 MiB identity in both, 4 MiB through a 4 MiB page to 4 or 8 MiB.
            mov dword [0x400000], 0xaaaaaaaa
            mov dword [0x800000], 0xbbbbbbbb
            mov edi, PD_A
            mov edx, 3
            call pg32_identity
            mov dword [PD_A + 4], 0x400000 | 0x83
            mov edi, PD_B
            mov edx, 3
            call pg32_identity
            mov dword [PD_B + 4], 0x800000 | 0x83
            mov eax, cr4
            or eax, 0x10
            mov cr4, eax
            mov eax, PD_A
            mov cr3, eax
            ; A task switch loads CR3 from the new TSS but never saves it (Intel SDM Vol. 3A 8.3,
            ; step 8), so the main task's TSS must hold its page directory for the way back.
            mov [TSS_BASE + 28], eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax

            ; Task B's TSS.
            mov edi, TSS2_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS2_BASE + 28], PD_B                        ; CR3
            mov dword [TSS2_BASE + 32], task_b                      ; EIP
            mov dword [TSS2_BASE + 36], 2                           ; EFLAGS
            mov dword [TSS2_BASE + 40], 0x12345678                  ; EAX
            mov dword [TSS2_BASE + 56], B_STACK                     ; ESP
            mov dword [TSS2_BASE + 72], SEL_DATA                    ; ES
            mov dword [TSS2_BASE + 76], SEL_CODE32                  ; CS
            mov dword [TSS2_BASE + 80], SEL_DATA                    ; SS
            mov dword [TSS2_BASE + 84], SEL_DATA                    ; DS
            mov word [TSS2_BASE + 0x66], 0x68
            mov eax, TSS2_BASE
            mov edx, 0x67
            mov ebx, SEL_TSS_B
            mov ecx, 0x89
            call set_descriptor
            mov dword [GDT_BASE + SEL_GATE_B], SEL_TSS_B << 16      ; task gate, DPL 0
            mov dword [GDT_BASE + SEL_GATE_B + 4], 0x8500

            ; CALL through the task gate; task B returns with IRET.
            mov ebx, 0x0b0b0b0b
            mov esi, 0x51515151
            call SEL_GATE_B:0
.back1:     mov [scratch + 8], ebx              ; before CHECK uses EBX and ESI
            mov [scratch + 12], esi
            CHECK "IRET from the nested task: back in the main task", [scratch], 1
            str ax
            movzx eax, ax
            CHECK "IRET: TR is the main TSS again", eax, SEL_TSS
            CHECK "main task's EBX restored from its TSS", [scratch + 8], 0x0b0b0b0b
            CHECK "main task's ESI restored from its TSS", [scratch + 12], 0x51515151
            mov eax, cr3
            CHECK "main task's CR3 restored", eax, PD_A
            CHECK "main task's address space", [0x400000], 0xaaaaaaaa
            pushfd
            pop eax
            and eax, 0x4000
            CHECK "main task's NT clear", eax, 0
            movzx eax, byte [GDT_BASE + SEL_TSS_B + 5]
            and eax, 0x0f
            CHECK "IRET marks the nested task not busy", eax, 0x9
            mov eax, [TSS2_BASE + 36]
            and eax, 0x4000
            CHECK "IRET clears NT in the EFLAGS saved for the nested task", eax, 0

            ; CALL to a busy TSS (the current one) is #GP(selector).
            EXPECT_FAULT .r2
            call SEL_TSS:0
.r2:        CHECK "CALL to a busy task: #GP", [fault_vec], 13
            CHECK "CALL to a busy task: error code is the selector", [fault_err], SEL_TSS

            ; JMP to task B's TSS: it resumes after its IRET; it jumps back.
            mov dword [scratch], 0
            jmp SEL_TSS_B:0
.back2:     CHECK "JMP back from task B: main task resumes after its JMP", [scratch], 2
            movzx eax, byte [GDT_BASE + SEL_TSS_B + 5]
            and eax, 0x0f
            CHECK "JMP away from task B cleared its busy bit", eax, 0x9

            ; Task C: a 16-bit TSS (type 1) and a 16-bit code segment.
            mov edi, TSS_C
            xor eax, eax
            mov ecx, 0x2c / 4
            rep stosd
            mov word [TSS_C + 14], task_c - ROMBASE             ; IP
            mov word [TSS_C + 16], 2                            ; FLAGS
            mov word [TSS_C + 18], 0x1234                       ; AX
            mov word [TSS_C + 26], C_STACK                      ; SP
            mov word [TSS_C + 30], 0x5678                       ; SI
            mov word [TSS_C + 34], SEL_DATA                     ; ES
            mov word [TSS_C + 36], SEL_CODE16                   ; CS
            mov word [TSS_C + 38], SEL_DATA16                   ; SS
            mov word [TSS_C + 40], SEL_DATA                     ; DS
            mov eax, TSS_C
            mov edx, 0x2b
            mov ebx, SEL_TSS_C
            mov ecx, 0x81                                       ; present, DPL 0, 16-bit TSS available
            call set_descriptor
            mov eax, ROMBASE
            mov edx, 0xffff
            mov ebx, SEL_CODE16
            mov ecx, 0x9a
            call set_descriptor
            xor eax, eax
            mov edx, 0xffff
            mov ebx, SEL_DATA16
            mov ecx, 0x92
            call set_descriptor

            mov ebx, 0x0c0c0c0c
            call SEL_TSS_C:0
.back3:     mov [scratch + 8], ebx
            CHECKW "16-bit TSS: AX loaded", [C_SEEN], 0x1234
            CHECKW "16-bit TSS: SI loaded", [C_SEEN + 2], 0x5678
            movzx eax, word [C_SEEN + 4]
            and eax, 0x4000
            CHECK "16-bit TSS: CALL sets NT", eax, 0x4000
            CHECKW "16-bit TSS: TR is its selector", [C_SEEN + 6], SEL_TSS_C
            CHECKW "16-bit TSS: FS is null (not in the format)", [C_SEEN + 8], 0
            CHECKW "16-bit TSS: back link to the caller", [C_SEEN + 10], SEL_TSS
            CHECKW "16-bit TSS: CR3 kept (no CR3 field)", [C_SEEN + 12], PD_A & 0xffff
            CHECK "IRET from the 16-bit task: caller's EBX restored", [scratch + 8], 0x0c0c0c0c
            mov eax, fs
            CHECK "IRET from the 16-bit task: caller's FS restored", eax, SEL_DATA
            CHECKW "16-bit TSS: IP saved (after its IRET)", [TSS_C + 14], task_c.after_iret - ROMBASE
            CHECKW "16-bit TSS: AX saved", [TSS_C + 18], 0xc0de
            movzx eax, word [TSS_C + 16]
            and eax, 0x4000
            CHECK "16-bit TSS: IRET saves FLAGS with NT clear", eax, 0
            movzx eax, byte [GDT_BASE + SEL_TSS_C + 5]
            and eax, 0x0f
            CHECK "IRET marks the 16-bit task not busy (type 1)", eax, 0x1

            jmp SEL_TSS_C:0
.back4:     movzx eax, word [C_SEEN + 14]
            CHECK "JMP into the 16-bit task: it resumes after its IRET", eax, 3
            CHECKW "JMP out of the 16-bit task: BX saved", [TSS_C + 24], 0xbeef
            movzx eax, byte [GDT_BASE + SEL_TSS_C + 5]
            and eax, 0x0f
            CHECK "JMP out of the 16-bit task clears its busy bit", eax, 0x1
            str ax
            movzx eax, ax
            CHECK "JMP from the 16-bit task: TR is the main TSS", eax, SEL_TSS

            ; #GP through a task gate to a 16-bit TSS: the error code goes on the new task's stack as
            ; a word (the new task is a 16-bit one). The handler task moves the faulting task's
            ; saved EIP past the fault and returns with IRET.
            mov edi, TSS_D
            xor eax, eax
            mov ecx, 0x2c / 4
            rep stosd
            mov word [TSS_D + 14], task_d - ROMBASE
            mov word [TSS_D + 16], 2
            mov word [TSS_D + 26], D_STACK
            mov word [TSS_D + 34], SEL_DATA
            mov word [TSS_D + 36], SEL_CODE16
            mov word [TSS_D + 38], SEL_DATA16
            mov word [TSS_D + 40], SEL_DATA
            mov eax, TSS_D
            mov edx, 0x2b
            mov ebx, SEL_TSS_D
            mov ecx, 0x81
            call set_descriptor
            mov eax, [IDT_BASE + 13 * 8]
            mov [scratch + 0x40], eax
            mov eax, [IDT_BASE + 13 * 8 + 4]
            mov [scratch + 0x44], eax
            mov dword [IDT_BASE + 13 * 8], SEL_TSS_D << 16      ; task gate, DPL 0
            mov dword [IDT_BASE + 13 * 8 + 4], 0x8500
            call SEL_TSS:0                                      ; busy: #GP(SEL_TSS)
.back5:     mov eax, [scratch + 0x40]
            mov [IDT_BASE + 13 * 8], eax
            mov eax, [scratch + 0x44]
            mov [IDT_BASE + 13 * 8 + 4], eax
            CHECKW "#GP through a task gate to a 16-bit task: error code on its stack", [C_SEEN + 16], SEL_TSS
            CHECKW "#GP through a task gate to a 16-bit task: error code pushed as a word", [C_SEEN + 18], D_STACK - 2
            CHECKW "#GP through a task gate to a 16-bit task: back link", [TSS_D], SEL_TSS

            ; Task E: an LDT, FS from it, EFLAGS with arithmetic flags set.
            mov dword [LDT_DATA], 0xfeedface
            mov dword [LDT_E], 0                                ; LDT entry 0 (unused), entry 1: data
            mov dword [LDT_E + 4], 0
            mov dword [LDT_E + 8], (LDT_DATA << 16) | 0xff
            mov dword [LDT_E + 12], 0x00009200 | ((LDT_DATA >> 16) & 0xff)
            mov eax, LDT_E
            mov edx, 15
            mov ebx, SEL_LDT
            mov ecx, 0x82                                       ; present, DPL 0, LDT
            call set_descriptor
            mov edi, TSS_E
            xor eax, eax
            mov ecx, 0x80 / 4
            rep stosd
            mov dword [TSS_E + 28], PD_A                        ; CR3
            mov dword [TSS_E + 32], task_e                      ; EIP
            mov dword [TSS_E + 36], 0xc7                        ; EFLAGS: SF ZF PF CF and bit 1
            mov dword [TSS_E + 48], 0xdddd0001                  ; EDX
            mov dword [TSS_E + 56], E_STACK                     ; ESP
            mov dword [TSS_E + 60], 0xbbbb0002                  ; EBP
            mov dword [TSS_E + 68], 0xeeee0003                  ; EDI
            mov dword [TSS_E + 72], SEL_DATA                    ; ES
            mov dword [TSS_E + 76], SEL_CODE32                  ; CS
            mov dword [TSS_E + 80], SEL_DATA                    ; SS
            mov dword [TSS_E + 84], SEL_DATA                    ; DS
            mov dword [TSS_E + 88], 0x0c                        ; FS: LDT entry 1
            mov dword [TSS_E + 92], SEL_DATA                    ; GS
            mov dword [TSS_E + 96], SEL_LDT                     ; LDT selector
            mov word [TSS_E + 0x66], 0x68
            mov eax, TSS_E
            mov edx, 0x67
            mov ebx, SEL_TSS_E
            mov ecx, 0x89
            call set_descriptor
            mov dword [TSS_BASE + 96], 0                        ; the main task's LDT field: null
            clts
            mov ax, SEL_DATA
            mov fs, ax
            mov gs, ax
            mov eax, 0xa0a0a0a0
            mov ecx, 0xc1c1c1c1
            mov edx, 0xd1d1d1d1
            mov ebp, 0xb0b0b0b0
            mov esi, 0x51515151
            mov edi, 0xd0d0d0d0
            push dword 0x8c3                                    ; OF, SF, ZF, CF and bit 1
            popfd
            call SEL_TSS_E:0
.back6:     pushfd
            pop dword [E_SEEN + 0x40]
            mov eax, cr0
            mov [E_SEEN + 0x44], eax
            sldt ax
            movzx eax, ax
            mov [E_SEEN + 0x48], eax
            CHECK "task E: LDTR loaded from its TSS", [E_SEEN], SEL_LDT
            CHECK "task E: FS (an LDT selector) reads the LDT's data segment", [E_SEEN + 4], 0xfeedface
            CHECK "task E: EDX loaded", [E_SEEN + 8], 0xdddd0001
            CHECK "task E: EBP loaded", [E_SEEN + 12], 0xbbbb0002
            CHECK "task E: EDI loaded", [E_SEEN + 16], 0xeeee0003
            mov eax, [E_SEEN + 20]
            and eax, 0x8d5
            CHECK "task E: EFLAGS loaded (SF ZF PF CF set, OF AF clear)", eax, 0xc5
            mov eax, [E_SEEN + 24]
            and eax, 8
            CHECK "task E: the task switch set CR0.TS", eax, 8
            CHECK "task E: GS loaded", [E_SEEN + 28], SEL_DATA
            CHECK "main TSS: EAX saved", [TSS_BASE + 40], 0xa0a0a0a0
            CHECK "main TSS: ECX saved", [TSS_BASE + 44], 0xc1c1c1c1
            CHECK "main TSS: EDX saved", [TSS_BASE + 48], 0xd1d1d1d1
            CHECK "main TSS: EBP saved", [TSS_BASE + 60], 0xb0b0b0b0
            CHECK "main TSS: ESI saved", [TSS_BASE + 64], 0x51515151
            CHECK "main TSS: EDI saved", [TSS_BASE + 68], 0xd0d0d0d0
            mov eax, [TSS_BASE + 36]
            and eax, 0x8d5
            CHECK "main TSS: EFLAGS saved (OF SF ZF CF)", eax, 0x8c1
            CHECK "main TSS: FS saved", [TSS_BASE + 88], SEL_DATA
            CHECK "main TSS: CS saved", [TSS_BASE + 76], SEL_CODE32
            CHECK "main TSS: LDT field not written by the switch", [TSS_BASE + 96], 0
            CHECK "back in the main task: LDTR from its TSS (null)", [E_SEEN + 0x48], 0
            mov eax, [E_SEEN + 0x40]
            and eax, 0x8d5
            CHECK "back in the main task: EFLAGS from its TSS", eax, 0x8c1
            mov eax, [E_SEEN + 0x44]
            and eax, 8
            CHECK "back in the main task: the IRET task switch set CR0.TS too", eax, 8
            clts

            ; Task F: T flag set in its TSS.
            mov edi, TSS_F
            xor eax, eax
            mov ecx, 0x80 / 4
            rep stosd
            mov dword [TSS_F + 28], PD_A
            mov dword [TSS_F + 32], task_f
            mov dword [TSS_F + 36], 2
            mov dword [TSS_F + 56], F_STACK
            mov dword [TSS_F + 72], SEL_DATA
            mov dword [TSS_F + 76], SEL_CODE32
            mov dword [TSS_F + 80], SEL_DATA
            mov dword [TSS_F + 84], SEL_DATA
            mov word [TSS_F + 100], 1                           ; T (debug trap) flag
            mov word [TSS_F + 0x66], 0x68
            mov eax, TSS_F
            mov edx, 0x67
            mov ebx, SEL_TSS_F
            mov ecx, 0x89
            call set_descriptor
            xor eax, eax
            mov dr6, eax
            mov dword [E_SEEN + 0x20], 0
            EXPECT_FAULT task_f.after_db
            call SEL_TSS_F:0
            CHECK "T flag: #DB in the new task", [E_SEEN + 0x20], 1
            CHECK "T flag: the #DB's saved EIP is the new task's first instruction", [E_SEEN + 0x24], task_f
            mov eax, [E_SEEN + 0x28]
            and eax, 0x8000
            CHECK "T flag: DR6.BT set", eax, 0x8000
            CHECK "T flag: the new task's first instruction had not run", [E_SEEN + 0x2c], 0
            clts

            ; A TSS descriptor whose limit is below 67H: #TS(selector), no switch.
            mov eax, TSS_F
            mov edx, 0x50
            mov ebx, SEL_TSS_S
            mov ecx, 0x89
            call set_descriptor
            EXPECT_FAULT .r7
            jmp SEL_TSS_S:0
.r7:        CHECK "TSS limit below 67H: #TS", [fault_vec], 10
            CHECK "TSS limit below 67H: error code is the selector", [fault_err], SEL_TSS_S
            str ax
            movzx eax, ax
            CHECK "TSS limit below 67H: TR unchanged", eax, SEL_TSS
            jmp finish32

task_e:
            sldt ax
            movzx eax, ax
            mov [E_SEEN], eax
            mov eax, [fs:0]
            mov [E_SEEN + 4], eax
            mov [E_SEEN + 8], edx
            mov [E_SEEN + 12], ebp
            mov [E_SEEN + 16], edi
            pushfd
            pop dword [E_SEEN + 20]
            mov eax, cr0
            mov [E_SEEN + 24], eax
            mov eax, gs
            mov [E_SEEN + 28], eax
            clts
            iretd

task_f:
            mov dword [E_SEEN + 0x2c], 1                        ; must not run before the #DB
.after_db:  mov eax, [fault_vec]
            mov [E_SEEN + 0x20], eax
            mov eax, [fault_ip]
            mov [E_SEEN + 0x24], eax
            mov eax, dr6
            mov [E_SEEN + 0x28], eax
            iretd

            bits 16
task_c:
            mov [C_SEEN], ax
            mov [C_SEEN + 2], si
            pushf
            pop ax
            mov [C_SEEN + 4], ax
            str ax
            mov [C_SEEN + 6], ax
            mov ax, fs
            mov [C_SEEN + 8], ax
            mov ax, [TSS_C]
            mov [C_SEEN + 10], ax
            mov eax, cr3
            mov [C_SEEN + 12], ax
            mov ax, 0xc0de
            iret
.after_iret:
            mov word [C_SEEN + 14], 3
            mov bx, 0xbeef
            jmp SEL_TSS:0

task_d:
            mov [C_SEEN + 18], sp
            pop ax
            mov [C_SEEN + 16], ax
            mov dword [TSS_BASE + 32], main.back5
            iret
            bits 32

task_b:
            CHECK "CALL through a task gate: EAX loaded from the new TSS", eax, 0x12345678
            str ax
            movzx eax, ax
            CHECK "CALL through a task gate: TR is the new TSS", eax, SEL_TSS_B
            mov eax, cr3
            CHECK "new task's CR3 loaded", eax, PD_B
            CHECK "new task's address space", [0x400000], 0xbbbbbbbb
            mov eax, esp
            CHECK "new task's ESP loaded", eax, B_STACK
            pushfd
            pop eax
            and eax, 0x4000
            CHECK "CALL sets NT in the new task", eax, 0x4000
            CHECKW "CALL writes the back link", [TSS2_BASE], SEL_TSS
            movzx eax, byte [GDT_BASE + SEL_TSS + 5]
            and eax, 0x0f
            CHECK "CALL keeps the calling task busy", eax, 0xb
            mov eax, [TSS_BASE + 32]
            CHECK "the calling task's EIP saved: the instruction after the CALL", eax, main.back1
            mov eax, [TSS_BASE + 52]
            CHECK "the calling task's EBX saved", eax, 0x0b0b0b0b
            mov dword [scratch], 1
            iretd
            ; Entered again by the JMP from the main task.
            pushfd
            pop eax
            and eax, 0x4000
            CHECK "JMP to a task does not set NT", eax, 0
            movzx eax, byte [GDT_BASE + SEL_TSS + 5]
            and eax, 0x0f
            CHECK "JMP clears the busy bit of the task it leaves", eax, 0x9
            mov dword [scratch], 2
            jmp SEL_TSS:0
