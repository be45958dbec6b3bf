; Privilege-level test ROM in 32-bit protected mode: ring 3 -> ring 0 through interrupt and trap
; gates with the TSS stack switch (Intel SDM Vol. 3A 6.12.1, Figure 6-4), the I/O permission bitmap
; (Vol. 1 19.5.2), #GP error codes for a gate DPL below CPL (6.13), IOPL-sensitive and privileged
; instructions, data segments made null by a return to ring 3 (Vol. 2A IRET), a call gate with
; parameter copy and RETF n back to ring 3 (Vol. 3A 5.8.5), and SYSENTER/SYSEXIT (Vol. 2B).
; Then from ring 3 (6.12.1, Figure 6-4, Vol. 2A INT n "INTRA-PRIVILEGE-LEVEL-INTERRUPT" and CALL):
; a 16-bit interrupt gate to ring 0 pushes SS, SP, FLAGS, CS, IP as words on the ring-0 stack; an
; interrupt gate to a conforming ring-0 code segment and one to a ring-3 code segment stay at CPL 3
; on the same stack (EFLAGS, CS, EIP) with CS.RPL = CPL; a far CALL to ring-3 code pushes CS and
; EIP and RETF returns; a far CALL to a conforming ring-0 segment runs at CPL 3; a far CALL or JMP
; straight to non-conforming ring-0 code is #GP(selector) (5.8.1.1, 5.8.2).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/rings32.bin (exit status 1 = all passed).

%include "lib.inc"

USER_STACK  equ STACKS + 0x1000
SYSENTER_SP equ STACKS + 0x2000
TSS_LIMIT   equ 0x68 + 0x80                     ; I/O bitmap for ports 0-0x3ff, then the 0xff byte
SEL_GATE    equ SEL_SPARE                       ; 0x48: call gate to ring 0, 2 parameters
SEL_GATE_R3 equ SEL_GATE | 3
SEL_SE_CS   equ 0x50                            ; SYSENTER_CS: 0x50 code r0, 0x58 data r0, 0x60 code r3, 0x68 data r3

; What the ring-0 handlers saw
h_frame     equ scratch + 0x00
h_eip       equ scratch + 0x04
h_cs        equ scratch + 0x08
h_flags     equ scratch + 0x0c
h_esp       equ scratch + 0x10
h_ss        equ scratch + 0x14
h_cur_ss    equ scratch + 0x18
h_cur_flags equ scratch + 0x1c
h_p1        equ scratch + 0x20
h_p2        equ scratch + 0x24
h_cur_cs    equ scratch + 0x28
user_esp    equ scratch + 0x2c
SEL_CONF    equ 0x70                            ; flat 32-bit conforming code, DPL 0
SEL_CODEF   equ 0x78                            ; 32-bit code, DPL 0, base ROMBASE (16-bit gate offsets)

            section pm
            bits 32
main:
            ; TSS: SS0:ESP0, an I/O bitmap allowing only COM1 (0x3f8-0x3ff) and debug-exit (0xf4).
            TSS32_IO_INSTALL TSS_LIMIT, DEBUG_EXIT

            call ring0_return_install
            mov eax, 0x80                       ; interrupt gate, DPL 3
            mov ebx, gate_handler
            mov ecx, SEL_CODE32
            mov edx, 0xee
            call set_gate32
            mov eax, 0x81                       ; trap gate, DPL 3
            mov edx, 0xef
            call set_gate32
            mov eax, 0x82                       ; interrupt gate, DPL 0
            mov edx, 0x8e
            call set_gate32

            ; SEL_CONF: SEL_CODE32 made conforming (access 9EH); SEL_CODEF: SEL_CODE32 with base F0000H.
            mov eax, [GDT_BASE + SEL_CODE32]
            mov edx, [GDT_BASE + SEL_CODE32 + 4]
            mov [GDT_BASE + SEL_CONF], eax
            mov [GDT_BASE + SEL_CONF + 4], edx
            mov byte [GDT_BASE + SEL_CONF + 5], 0x9e
            mov [GDT_BASE + SEL_CODEF], eax
            mov [GDT_BASE + SEL_CODEF + 4], edx
            mov byte [GDT_BASE + SEL_CODEF + 4], ROMBASE >> 16
            mov eax, 0x83                       ; 16-bit interrupt gate, DPL 3, to ring 0
            mov ebx, handler16 - ROMBASE
            mov ecx, SEL_CODEF
            mov edx, 0xe6
            call set_gate32
            mov eax, 0x84                       ; interrupt gate, DPL 3, to conforming ring-0 code
            mov ebx, same_level_handler
            mov ecx, SEL_CONF
            mov edx, 0xee
            call set_gate32
            mov eax, 0x85                       ; interrupt gate, DPL 3, to ring-3 code
            mov ecx, SEL_UCODE32
            call set_gate32

            ; Call gate (type 0xc, DPL 3, 2 dword parameters) to gate_target in ring 0.
            mov eax, gate_target
            mov [GDT_BASE + SEL_GATE], ax
            mov word [GDT_BASE + SEL_GATE + 2], SEL_CODE32
            mov byte [GDT_BASE + SEL_GATE + 4], 2
            mov byte [GDT_BASE + SEL_GATE + 5], 0xec
            shr eax, 16
            mov [GDT_BASE + SEL_GATE + 6], ax

            ; SYSENTER/SYSEXIT selectors: copies of the flat descriptors at 0x50-0x68.
            mov eax, [GDT_BASE + SEL_CODE32]
            mov edx, [GDT_BASE + SEL_CODE32 + 4]
            mov [GDT_BASE + 0x50], eax
            mov [GDT_BASE + 0x54], edx
            mov eax, [GDT_BASE + SEL_DATA]
            mov edx, [GDT_BASE + SEL_DATA + 4]
            mov [GDT_BASE + 0x58], eax
            mov [GDT_BASE + 0x5c], edx
            mov eax, [GDT_BASE + SEL_UCODE32]
            mov edx, [GDT_BASE + SEL_UCODE32 + 4]
            mov [GDT_BASE + 0x60], eax
            mov [GDT_BASE + 0x64], edx
            mov eax, [GDT_BASE + SEL_UDATA]
            mov edx, [GDT_BASE + SEL_UDATA + 4]
            mov [GDT_BASE + 0x68], eax
            mov [GDT_BASE + 0x6c], edx
            xor edx, edx
            mov ecx, 0x174
            mov eax, SEL_SE_CS
            wrmsr
            mov ecx, 0x175
            mov eax, SYSENTER_SP
            wrmsr
            mov ecx, 0x176
            mov eax, sysenter_entry
            wrmsr

            ; To ring 3 with IF set and IOPL 0; ES keeps a ring-0 selector that IRET must make null.
            mov dword [ring0_continue], back_in_ring0
            push dword SEL_UDATA | 3
            push dword USER_STACK
            push dword 0x202
            push dword SEL_UCODE32 | 3
            push dword user_code
            iretd

back_in_ring0:
            mov eax, cs
            CHECK "back in ring 0 through a DPL-3 gate", eax, SEL_CODE32
            jmp finish32

; Interrupt/trap gate handler: records its frame and state, returns with IRETD.
gate_handler:
            push eax
            push ds
            mov ax, SEL_DATA
            mov ds, ax
            lea eax, [esp + 8]
            mov [h_frame], eax
            mov eax, [esp + 8]
            mov [h_eip], eax
            mov eax, [esp + 12]
            mov [h_cs], eax
            mov eax, [esp + 16]
            mov [h_flags], eax
            mov eax, [esp + 20]
            mov [h_esp], eax
            mov eax, [esp + 24]
            mov [h_ss], eax
            mov eax, ss
            mov [h_cur_ss], eax
            mov eax, cs
            mov [h_cur_cs], eax
            pushfd
            pop eax
            mov [h_cur_flags], eax
            pop ds
            pop eax
            iretd

; Call-gate target: records the copied parameters and returns to ring 3 releasing them.
gate_target:
            push ds
            push eax
            mov ax, SEL_DATA
            mov ds, ax
            lea eax, [esp + 8]
            mov [h_frame], eax
            mov eax, [esp + 12]
            mov [h_cs], eax
            mov eax, [esp + 16]
            mov [h_p2], eax
            mov eax, [esp + 20]
            mov [h_p1], eax
            mov eax, [esp + 24]
            mov [h_esp], eax
            mov eax, [esp + 28]
            mov [h_ss], eax
            mov eax, cs
            mov [h_cur_cs], eax
            pop eax
            pop ds
            retf 8

; 16-bit interrupt gate from ring 3: records the word frame, then returns to ring 3 with a
; 32-bit frame of its own (the pushed IP holds only the low 16 bits of the return address).
handler16:
            mov ax, SEL_DATA
            mov ds, ax
            mov [h_frame], esp
            movzx eax, word [esp]
            mov [h_eip], eax
            movzx eax, word [esp + 2]
            mov [h_cs], eax
            movzx eax, word [esp + 4]
            mov [h_flags], eax
            movzx eax, word [esp + 6]
            mov [h_esp], eax
            movzx eax, word [esp + 8]
            mov [h_ss], eax
            mov eax, cs
            mov [h_cur_cs], eax
            push dword SEL_UDATA | 3
            push dword [user_esp]
            push dword 0x202
            push dword SEL_UCODE32 | 3
            push dword user_code.ret83
            iretd

; Reached at CPL 3 through a gate (conforming code or ring-3 code) or a far CALL: DS is the
; user's flat data segment.
same_level_handler:
            push eax
            lea eax, [esp + 4]
            mov [h_frame], eax
            mov eax, [esp + 8]
            mov [h_cs], eax
            mov eax, cs
            mov [h_cur_cs], eax
            mov eax, ss
            mov [h_cur_ss], eax
            pop eax
            iretd

far_target:
            mov [h_frame], esp
            mov eax, [esp + 4]
            mov [h_cs], eax
            mov eax, cs
            mov [h_cur_cs], eax
            retf

sysenter_entry:
            mov [h_esp], esp
            mov eax, cs
            mov [h_cur_cs], eax
            mov eax, ss
            mov [h_cur_ss], eax
            pushfd
            pop eax
            mov [h_cur_flags], eax
            sysexit

; ---------------------------------------------------------------- ring 3
user_code:
            mov ax, SEL_UDATA | 3
            mov ds, ax
            mov eax, es
            CHECK "IRET to ring 3 made ES (a DPL-0 data segment) null", eax, 0
            mov ax, SEL_UDATA | 3
            mov es, ax
            mov eax, cs
            CHECK "ring 3: CS RPL 3 (prints through the TSS I/O bitmap)", eax, SEL_UCODE32 | 3

            mov [user_esp], esp
            int 0x80
.after80:   CHECK "INT 0x80 from ring 3: handler runs in ring 0", [h_cur_cs], SEL_CODE32
            CHECK "INT 0x80: SS from SS0 of the TSS", [h_cur_ss], SEL_DATA
            CHECK "INT 0x80: frame at ESP0 - 20 (SS, ESP, EFLAGS, CS, EIP)", [h_frame], STACK_TOP - 20
            CHECK "INT 0x80: saved EIP is the next instruction", [h_eip], .after80
            CHECK "INT 0x80: saved CS", [h_cs], SEL_UCODE32 | 3
            CHECK "INT 0x80: saved ESP is the ring-3 ESP", [h_esp], [user_esp]
            CHECK "INT 0x80: saved SS is the ring-3 SS", [h_ss], SEL_UDATA | 3
            mov eax, [h_flags]
            and eax, 0x200
            CHECK "INT 0x80: saved EFLAGS has IF set", eax, 0x200
            mov eax, [h_cur_flags]
            and eax, 0x200
            CHECK "interrupt gate clears IF", eax, 0
            mov eax, esp
            CHECK "IRET to ring 3 restores ESP", eax, [user_esp]
            int 0x81
            mov eax, [h_cur_flags]
            and eax, 0x200
            CHECK "trap gate leaves IF set", eax, 0x200

            EXPECT_FAULT .u1
            int 0x82
.u1:        CHECK "INT to a DPL-0 gate from ring 3: #GP", [fault_vec], 13
            CHECK "INT to a DPL-0 gate: error code = vector * 8 + 2 (IDT)", [fault_err], 0x82 * 8 + 2
            CHECK "#GP from ring 3: frame on the ring-0 stack", [fault_frame_sp], STACK_TOP - 20
            EXPECT_FAULT .u2
            cli
.u2:        CHECK "CLI with CPL > IOPL: #GP(0)", [fault_err], 0
            EXPECT_FAULT .u3
            hlt
.u3:        CHECK "HLT in ring 3: #GP", [fault_vec], 13
            EXPECT_FAULT .u4
            in al, 0x80
.u4:        CHECK "IN from a port whose bitmap bit is set: #GP", [fault_vec], 13
            EXPECT_FAULT .u5
            mov dx, 0x604
            in ax, dx
.u5:        CHECK "IN from a port past the bitmap: #GP", [fault_vec], 13
            EXPECT_FAULT .u6
            mov ax, SEL_DATA
            mov fs, ax
.u6:        CHECK "loading a DPL-0 data segment in ring 3: #GP(selector)", [fault_err], SEL_DATA

            ; Call gate with two parameters; RETF 8 releases them on both stacks.
            mov [user_esp], esp
            push dword 0x1111
            push dword 0x2222
            call SEL_GATE_R3:0
.aftercall: CHECK "call gate: target runs in ring 0", [h_cur_cs], SEL_CODE32
            CHECK "call gate: new stack frame at ESP0 - 24", [h_frame], STACK_TOP - 24
            CHECK "call gate: saved CS", [h_cs], SEL_UCODE32 | 3
            CHECK "call gate: first parameter copied", [h_p1], 0x1111
            CHECK "call gate: second parameter copied", [h_p2], 0x2222
            mov eax, [user_esp]
            sub eax, 8
            CHECK "call gate: saved ESP points at the parameters", [h_esp], eax
            CHECK "call gate: saved SS", [h_ss], SEL_UDATA | 3
            mov eax, esp
            CHECK "RETF 8 to ring 3 releases the parameters", eax, [user_esp]

            ; SYSENTER / SYSEXIT.
            mov ecx, esp
            mov edx, .aftersysexit
            sysenter
.aftersysexit:
            CHECK "SYSENTER: CS = SYSENTER_CS", [h_cur_cs], SEL_SE_CS
            CHECK "SYSENTER: SS = SYSENTER_CS + 8", [h_cur_ss], SEL_SE_CS + 8
            CHECK "SYSENTER: ESP = SYSENTER_ESP", [h_esp], SYSENTER_SP
            mov eax, [h_cur_flags]
            and eax, 0x200
            CHECK "SYSENTER clears IF", eax, 0
            mov eax, cs
            CHECK "SYSEXIT: CS = SYSENTER_CS + 16, RPL 3", eax, SEL_SE_CS + 16 | 3
            mov eax, ss
            CHECK "SYSEXIT: SS = SYSENTER_CS + 24, RPL 3", eax, SEL_SE_CS + 24 | 3
            mov ax, SEL_UDATA | 3
            mov ss, ax

            ; 16-bit interrupt gate to ring 0 (CS is still SYSEXIT's, IF still clear).
            pushfd
            pop eax
            and eax, 0xffff
            mov [scratch + 0x30], eax
            mov [user_esp], esp
            int 0x83
.ret83:     mov ax, SEL_UDATA | 3
            mov ds, ax
            mov es, ax
            CHECK "16-bit gate from ring 3: handler in ring 0", [h_cur_cs], SEL_CODEF
            CHECK "16-bit gate: five words at ESP0 - 10", [h_frame], STACK_TOP - 10
            mov eax, .ret83
            and eax, 0xffff
            CHECK "16-bit gate: IP word is the low half of the return address", [h_eip], eax
            CHECK "16-bit gate: CS word", [h_cs], SEL_SE_CS + 16 | 3
            CHECK "16-bit gate: FLAGS word", [h_flags], [scratch + 0x30]
            mov eax, [user_esp]
            and eax, 0xffff
            CHECK "16-bit gate: SP word is the ring-3 SP", [h_esp], eax
            CHECK "16-bit gate: SS word", [h_ss], SEL_UDATA | 3

            ; Gates to conforming ring-0 code and to ring-3 code: no privilege change.
            mov [user_esp], esp
            int 0x84
            CHECK "gate to conforming code: CPL stays 3 (CS.RPL = 3)", [h_cur_cs], SEL_CONF | 3
            CHECK "gate to conforming code: SS unchanged", [h_cur_ss], SEL_UDATA | 3
            mov eax, [user_esp]
            sub eax, 12
            CHECK "gate to conforming code: EFLAGS, CS, EIP on the same stack", [h_frame], eax
            CHECK "gate to conforming code: saved CS", [h_cs], SEL_UCODE32 | 3
            mov eax, esp
            CHECK "gate to conforming code: IRETD restores ESP", eax, [user_esp]
            int 0x85
            CHECK "gate to ring-3 code: handler CS", [h_cur_cs], SEL_UCODE32 | 3
            mov eax, [user_esp]
            sub eax, 12
            CHECK "gate to ring-3 code: frame on the same stack", [h_frame], eax

            ; Far CALL and JMP at CPL 3.
            call SEL_UCODE32 | 3:far_target
            mov eax, [user_esp]
            sub eax, 8
            CHECK "far CALL to ring-3 code: CS and EIP pushed", [h_frame], eax
            CHECK "far CALL to ring-3 code: saved CS", [h_cs], SEL_UCODE32 | 3
            mov eax, esp
            CHECK "RETF from ring-3 code restores ESP", eax, [user_esp]
            call SEL_CONF:far_target
            CHECK "far CALL to conforming ring-0 code runs at CPL 3", [h_cur_cs], SEL_CONF | 3
            EXPECT_FAULT .u7
            call SEL_CODE32:far_target
.u7:        CHECK "far CALL to non-conforming ring-0 code: #GP", [fault_vec], 13
            CHECK "far CALL to non-conforming ring-0 code: error code is the selector", [fault_err], SEL_CODE32
            EXPECT_FAULT .u8
            jmp SEL_CODE32:far_target
.u8:        CHECK "far JMP to non-conforming ring-0 code: #GP(selector)", [fault_err], SEL_CODE32
            jmp SEL_UCODE32 | 3:.jumped
.jumped:    mov eax, cs
            CHECK "far JMP to ring-3 code", eax, SEL_UCODE32 | 3

            int 0x30
