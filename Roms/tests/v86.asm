; Virtual-8086 mode test ROM (Intel SDM Vol. 3A chapter 20): IRET with VM set enters V86 from
; ring 0 (Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE), real-mode segment arithmetic, PUSHF hiding
; VM, INT n with IOPL 3 reaching a ring-0 handler with the V86 frame (GS, FS, DS, ES, SS, ESP,
; EFLAGS, CS, EIP) and null data segments (20.3.1.1, Figure 20-2), IRET back; the I/O bitmap applying
; whatever IOPL (20.2.8.1); with IOPL < 3, CLI, STI, PUSHF, POPF, INT n and IRET are #GP(0)
; (20.2.7) while INT3 is not IOPL-sensitive: it goes through its gate, whose DPL 0 is below CPL 3,
; so #GP(3 * 8 + 2) (Vol. 2A INT n/INTO/INT3, "IF software interrupt and gate DPL < CPL"). With
; IOPL 3: POPF cannot change IOPL (Vol. 2A POPF, virtual-8086 mode), CLI/STI change IF, HLT and
; MOV to CR0 are privileged (CPL 3 in V86: #GP(0)), MOV to a segment register gives base =
; selector * 16, and an access past offset FFFFH of a segment (limit FFFFH) is #GP(0) (Vol. 2A
; MOV, "Virtual-8086 Mode Exceptions"; 20.1.1). An INT n from V86 must reach a non-conforming
; ring-0 code segment: a gate to ring-3 code or to a conforming segment is #GP(that code segment's
; selector) (Vol. 2A INT n, INTERRUPT-FROM-VIRTUAL-8086-MODE; Vol. 3A 20.3.1.1). PUSHFD and POPFD
; (32-bit operand size) are IOPL-sensitive like PUSHF and POPF.
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
v_sti_vec   equ scratch + 0x60
v_popf_vec  equ scratch + 0x64
v_iret_vec  equ scratch + 0x68
v_int3_vec  equ scratch + 0x6c
v_int3_err  equ scratch + 0x70
v_popf_fl   equ scratch + 0x74          ; phase 1: flags after POPF tried to clear IOPL and IF
; Further V86 results (the fault variables and scratch live below 0x600; scratch + 0x78 is ring0_continue)
v_hlt_vec   equ 0x0620
v_seg_read  equ 0x0624
v_cr0_vec   equ 0x0600
v_wrap_vec  equ 0x0604
v_wrap_err  equ 0x0608
v_a32_vec   equ 0x060c
v_cli_if    equ 0x0610
v_sti_if    equ 0x0614
v_popf_err  equ 0x0618
v_iret_err  equ 0x061c
SEG_MARKER  equ 0x12348                 ; linear address read through DS = 0x1234, offset 8
v_gr3_vec   equ 0x0628
v_gr3_err   equ 0x062c
v_gcf_vec   equ 0x0630
v_gcf_err   equ 0x0634
v_pfd_vec   equ 0x0638
v_ppd_vec   equ 0x063c
SEL_CONF    equ SEL_SPARE               ; 0x48: flat conforming code, DPL 0

            section v86 start=0x8000 vstart=0x8000
            section pm
            bits 32
main:
            ; TSS with SS0:ESP0 and an I/O bitmap allowing COM1 only.
            TSS32_IO_INSTALL TSS_LIMIT

            mov eax, 0x80                       ; INT 0x80: DPL 3 interrupt gate
            mov ebx, v86_int_handler
            mov ecx, SEL_CODE32
            mov edx, 0xee
            call set_gate32
            mov eax, [GDT_BASE + SEL_CODE32]    ; SEL_CONF: SEL_CODE32 made conforming
            mov [GDT_BASE + SEL_CONF], eax
            mov eax, [GDT_BASE + SEL_CODE32 + 4]
            mov [GDT_BASE + SEL_CONF + 4], eax
            mov byte [GDT_BASE + SEL_CONF + 5], 0x9e
            mov eax, 0x81                       ; DPL-3 gate to ring-3 code
            mov ebx, v86_int_handler
            mov ecx, SEL_UCODE32
            mov edx, 0xee
            call set_gate32
            mov eax, 0x82                       ; DPL-3 gate to conforming ring-0 code
            mov ecx, SEL_CONF
            call set_gate32
            mov ecx, SEL_CODE32
            mov eax, 6                          ; #UD: the way out of V86 back to ring 0
            mov ebx, v86_exit
            mov edx, 0x8e
            call set_gate32
            mov dword [v_marker], 0x5a5a
            mov dword [SEG_MARKER], 0xc0de
            mov al, 0xff                        ; the V86 code sets IF: keep every PIC line masked
            out 0x21, al
            out 0xa1, al

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
            mov eax, [v_popf_fl]
            and eax, 0x3200
            CHECK "V86 with IOPL 3: POPF changes IF but not IOPL", eax, 0x3200
            CHECK "V86 with IOPL 3: CLI clears IF", [v_cli_if], 0
            CHECK "V86 with IOPL 3: STI sets IF", [v_sti_if], 0x200
            CHECK "V86: HLT is privileged (#GP)", [v_hlt_vec], 13
            CHECK "V86: MOV to CR0 is privileged (#GP)", [v_cr0_vec], 13
            CHECK "V86: MOV DS, 0x1234 reads linear 0x12340 + offset", [v_seg_read], 0xc0de
            CHECK "V86: word at offset 0xFFFF crosses the 64 KiB limit: #GP", [v_wrap_vec], 13
            CHECK "V86: limit violation error code 0", [v_wrap_err], 0
            CHECK "V86: 32-bit address 0x10000 is past the limit: #GP", [v_a32_vec], 13
            CHECK "V86: INT to a gate whose code segment is ring 3: #GP", [v_gr3_vec], 13
            CHECK "V86: INT to ring-3 code: error code is its selector", [v_gr3_err], SEL_UCODE32
            CHECK "V86: INT to a gate whose code segment is conforming: #GP", [v_gcf_vec], 13
            CHECK "V86: INT to conforming code: error code is its selector", [v_gcf_err], SEL_CONF

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
            CHECK "V86 with IOPL 0: STI is #GP", [v_sti_vec], 13
            CHECK "V86 with IOPL 0: POPF is #GP", [v_popf_vec], 13
            CHECK "V86 with IOPL 0: POPF error code 0", [v_popf_err], 0
            CHECK "V86 with IOPL 0: IRET is #GP", [v_iret_vec], 13
            CHECK "V86 with IOPL 0: IRET error code 0", [v_iret_err], 0
            CHECK "V86 with IOPL 0: INT3 is not IOPL-sensitive: its DPL-0 gate gives #GP", [v_int3_vec], 13
            CHECK "V86 with IOPL 0: INT3 error code is the IDT vector 3 (3 * 8 + 2)", [v_int3_err], 3 * 8 + 2
            CHECK "V86 with IOPL 0: PUSHFD is #GP", [v_pfd_vec], 13
            CHECK "V86 with IOPL 0: POPFD is #GP", [v_ppd_vec], 13
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
            ; POPF with IOPL 3 from V86: IF is set from the image, IOPL is left alone.
            push word 0x0202                    ; IOPL 0, IF 1
            popf
            pushf
            pop word [v_popf_fl]
            cli
            pushf
            pop ax
            and ax, 0x200
            mov [v_cli_if], ax
            sti
            pushf
            pop ax
            and ax, 0x200
            mov [v_sti_if], ax
            cli
            mov word [resume], .hlt_done
            mov word [resume + 2], 0
            hlt
.hlt_done:  mov eax, [fault_vec]
            mov [v_hlt_vec], eax
            mov word [resume], .cr0_done
            mov eax, 0x11
            mov cr0, eax
.cr0_done:  mov eax, [fault_vec]
            mov [v_cr0_vec], eax
            mov ax, 0x1234
            mov ds, ax
            mov ax, [8]
            xor bx, bx
            mov ds, bx
            mov [v_seg_read], ax
            mov word [resume], .wrap_done
            mov ax, [0xffff]
.wrap_done: mov eax, [fault_vec]
            mov [v_wrap_vec], eax
            mov eax, [fault_err]
            mov [v_wrap_err], eax
            mov word [resume], .a32_done
            mov esi, 0x10000
            mov al, [esi]
.a32_done:  mov eax, [fault_vec]
            mov [v_a32_vec], eax
            mov word [resume], .gr3_done
            int 0x81
.gr3_done:  mov eax, [fault_vec]
            mov [v_gr3_vec], eax
            mov eax, [fault_err]
            mov [v_gr3_err], eax
            mov word [resume], .gcf_done
            int 0x82
.gcf_done:  mov eax, [fault_vec]
            mov [v_gcf_vec], eax
            mov eax, [fault_err]
            mov [v_gcf_err], eax
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
            mov word [resume], .sti_done
            sti
.sti_done:  mov eax, [fault_vec]
            mov [v_sti_vec], eax
            mov word [resume], .popf_done
            push word 0x0002
            popf
.popf_done: mov eax, [fault_vec]
            mov [v_popf_vec], eax
            mov eax, [fault_err]
            mov [v_popf_err], eax
            mov word [resume], .iret_done
            push word 0x0002
            push cs
            push word .iret_done
            iret
.iret_done: mov eax, [fault_vec]
            mov [v_iret_vec], eax
            mov eax, [fault_err]
            mov [v_iret_err], eax
            mov word [resume], .int3_done
            int3
.int3_done: mov eax, [fault_vec]
            mov [v_int3_vec], eax
            mov eax, [fault_err]
            mov [v_int3_err], eax
            mov dword [fault_vec], 0
            mov word [resume], .pfd_done
            pushfd
.pfd_done:  mov eax, [fault_vec]
            mov [v_pfd_vec], eax
            mov dword [fault_vec], 0
            mov word [resume], .ppd_done
            push dword 0x00000002
            popfd
.ppd_done:  mov eax, [fault_vec]
            mov [v_ppd_vec], eax
            ud2
