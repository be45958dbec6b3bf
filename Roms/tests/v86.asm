; Virtual-8086 mode test ROM (Intel SDM Vol. 3A chapter 20): IRET with VM set enters V86 from
; ring 0 (Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE), real-mode segment arithmetic, PUSHF hiding
; VM, INT n with IOPL 3 reaching a ring-0 handler with the V86 frame (GS, FS, DS, ES, SS, ESP,
; EFLAGS, CS, EIP) and null data segments (20.3.1.1, Figure 20-2), IRET back; the I/O bitmap applying
; whatever IOPL (20.2.8.1); with IOPL < 3, CLI, PUSHF and INT n are #GP(0) (20.2.7).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/v86.bin (exit status 1 = all passed).

%include "lib.inc"

V86_STACK   equ 0x6000
TSS_LIMIT   equ 0x68 + 0x80

; Written by the V86 code (DS = 0) and by the ring-0 handler
v_cs        equ scratch + 0x00
v_flags     equ scratch + 0x04
v_es_read   equ scratch + 0x08
v_fs_after  equ scratch + 0x0c
v_lsr       equ scratch + 0x10
v_port_vec  equ scratch + 0x14
v_port_err  equ scratch + 0x18
v_cli_vec   equ scratch + 0x1c
v_cli_err   equ scratch + 0x20
v_int_vec   equ scratch + 0x24
v_int_err   equ scratch + 0x28
v_pushf_vec equ scratch + 0x2c
h_frame     equ scratch + 0x30
h_eip       equ scratch + 0x34
h_cs        equ scratch + 0x38
h_flags     equ scratch + 0x3c
h_esp       equ scratch + 0x40
h_ss        equ scratch + 0x44
h_es        equ scratch + 0x48
h_ds        equ scratch + 0x4c
h_fs        equ scratch + 0x50
h_gs        equ scratch + 0x54
h_cur_gs    equ scratch + 0x58
v_marker    equ scratch + 0x5c          ; 0x5a5a, read in V86 through ES = 0x0050

            section v86 start=0x8000 vstart=0x8000
            section pm
            bits 32
main:
            ; TSS with SS0:ESP0 and an I/O bitmap allowing COM1 only.
            mov edi, TSS_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS_BASE + 4], STACK_TOP
            mov dword [TSS_BASE + 8], SEL_DATA
            mov word [TSS_BASE + 0x66], 0x68
            mov edi, TSS_BASE + 0x68
            mov al, 0xff
            mov ecx, 0x81
            rep stosb
            mov byte [TSS_BASE + 0x68 + 0x3f8 / 8], 0
            mov eax, TSS_BASE
            mov edx, TSS_LIMIT
            mov ebx, SEL_TSS
            mov ecx, 0x89
            call set_descriptor
            mov ax, SEL_TSS
            ltr ax

            mov eax, 0x80                       ; INT 0x80: DPL 3 interrupt gate
            mov ebx, v86_int_handler
            mov ecx, SEL_CODE32
            mov edx, 0xee
            call set_gate32
            mov eax, 6                          ; #UD: the way out of V86 back to ring 0
            mov ebx, v86_exit
            mov edx, 0x8e
            call set_gate32
            mov dword [v_marker], 0x5a5a

            ; Phase 1: IOPL 3.
            mov dword [ring0_continue], phase1_done
            push dword 0x5678                   ; GS
            push dword 0x1234                   ; FS
            push dword 0                        ; DS
            push dword 0x0050                   ; ES
            push dword 0                        ; SS
            push dword V86_STACK                ; ESP
            push dword 0x23002                  ; EFLAGS: VM, IOPL 3
            push dword 0xf000                   ; CS
            push dword v86_phase1               ; EIP
            iretd

phase1_done:
            mov esp, STACK_TOP
            CHECK "IRET with VM set enters virtual-8086 mode at CS:IP", [v_cs], 0xf000
            mov eax, [v_flags]
            and eax, 0x33000
            CHECK "PUSHFD in V86: IOPL 3 visible, VM and RF hidden", eax, 0x3000
            CHECK "V86 addressing: ES = 0x0050 reads linear 0x500 + offset", [v_es_read], 0x5a5a
            mov eax, [v_lsr]
            and eax, 0x20
            CHECK "V86 I/O to a port the bitmap allows", eax, 0x20
            CHECK "V86 I/O to a port the bitmap denies, even with IOPL 3: #GP", [v_port_vec], 13
            CHECK "V86 I/O denied: error code 0", [v_port_err], 0
            CHECK "INT 0x80 from V86: frame at ESP0 - 36", [h_frame], STACK_TOP - 36
            CHECK "INT 0x80 from V86: saved CS", [h_cs], 0xf000
            CHECK "INT 0x80 from V86: saved IP", [h_eip], v86_phase1.after_int
            mov eax, [h_flags]
            and eax, 0x20000
            CHECK "INT 0x80 from V86: saved EFLAGS has VM", eax, 0x20000
            CHECK "INT 0x80 from V86: saved SS:ESP", [h_esp], V86_STACK
            CHECK "INT 0x80 from V86: saved ES", [h_es], 0x0050
            CHECK "INT 0x80 from V86: saved DS", [h_ds], 0
            CHECK "INT 0x80 from V86: saved FS", [h_fs], 0x1234
            CHECK "INT 0x80 from V86: saved GS", [h_gs], 0x5678
            CHECK "INT 0x80 from V86: GS is null in the handler", [h_cur_gs], 0
            CHECK "IRET back to V86 restores FS", [v_fs_after], 0x1234

            ; Phase 2: IOPL 0.
            mov dword [ring0_continue], phase2_done
            push dword 0
            push dword 0
            push dword 0
            push dword 0
            push dword 0
            push dword V86_STACK
            push dword 0x20002                  ; EFLAGS: VM, IOPL 0
            push dword 0xf000
            push dword v86_phase2
            iretd

phase2_done:
            mov esp, STACK_TOP
            CHECK "V86 with IOPL 0: CLI is #GP", [v_cli_vec], 13
            CHECK "V86 with IOPL 0: CLI error code 0", [v_cli_err], 0
            CHECK "V86 with IOPL 0: INT n is #GP", [v_int_vec], 13
            CHECK "V86 with IOPL 0: INT n error code 0", [v_int_err], 0
            CHECK "V86 with IOPL 0: PUSHF is #GP", [v_pushf_vec], 13
            jmp finish32

; INT 0x80 from V86: record the frame and the data segments on entry, IRET back.
v86_int_handler:
            push eax
            push ds
            mov ax, SEL_DATA
            mov ds, ax
            mov eax, gs
            mov [h_cur_gs], eax
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
            mov eax, [esp + 28]
            mov [h_es], eax
            mov eax, [esp + 32]
            mov [h_ds], eax
            mov eax, [esp + 36]
            mov [h_fs], eax
            mov eax, [esp + 40]
            mov [h_gs], eax
            pop ds
            pop eax
            iretd

v86_exit:
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            jmp [ring0_continue]

; ---------------------------------------------------------------- virtual-8086 code (CS = F000)
            section v86
            bits 16
v86_phase1:
            mov ax, cs
            mov [v_cs], ax
            pushfd
            pop dword [v_flags]
            mov ax, [es:v_marker - 0x500]
            mov [v_es_read], ax
            mov dx, COM1 + 5
            in al, dx
            mov [v_lsr], al
            mov word [resume], .port_denied
            mov word [resume + 2], 0
            in al, 0x80
.port_denied:
            mov eax, [fault_vec]
            mov [v_port_vec], eax
            mov eax, [fault_err]
            mov [v_port_err], eax
            int 0x80
.after_int: mov ax, fs
            mov [v_fs_after], ax
            ud2

v86_phase2:
            mov word [resume], .cli_done
            mov word [resume + 2], 0
            cli
.cli_done:  mov eax, [fault_vec]
            mov [v_cli_vec], eax
            mov eax, [fault_err]
            mov [v_cli_err], eax
            mov word [resume], .int_done
            int 0x80
.int_done:  mov eax, [fault_vec]
            mov [v_int_vec], eax
            mov eax, [fault_err]
            mov [v_int_err], eax
            mov word [resume], .pushf_done
            pushf
.pushf_done:
            mov eax, [fault_vec]
            mov [v_pushf_vec], eax
            ud2
