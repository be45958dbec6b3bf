; emu platform test firmware: a machine reset puts the local APIC back into its RESET state. The
; first boot software-enables the APIC (SVR 0x1FF) and leaves a mark in RAM, then resets the PC
; through port 92h bit 0 (the PS/2 fast reset). The second boot finds the mark and checks that SVR
; reads 0xFF again (Intel SDM Vol. 3A 11.4.7.1, the state after power-up or reset), prints PASS or
; FAIL over COM1 and leaves through the debug-exit port: 0 (emu exits 1) or 1 (emu exits 3).
;
; Build: nasm -f bin -o apic_reset.bin apic_reset.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFF0000-FFFFFFFF and at F0000-FFFFF. Real-mode code runs in segment F000
; and flat 32-bit code at ROMBASE + label.

ROMBASE     equ 0xF0000
COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
LAPIC       equ 0xFEE00000
APIC_SVR    equ 0x0F0
RESET_MARK  equ 0x0700              ; RAM keeps its contents across the reset
MARK        equ 0x52534554

            bits 16
            org 0

start:
            cli
            cld
            xor ax, ax
            mov ss, ax
            mov sp, 0x7000

            ; COM1: 115200 8N1
            COM1_115200_8N1

            lgdt [cs:gdt_descriptor]
            mov eax, cr0
            or eax, 1
            mov cr0, eax
            jmp dword 0x08:(ROMBASE + pm_entry)

            ; The GDT stays in ROM with its accessed bits preset (see smp.asm).
            align 8
gdt:        dq 0
            dq 0x00CF9B000000FFFF               ; 0x08: code, base 0, 4 GiB, 32-bit, accessed
            dq 0x00CF93000000FFFF               ; 0x10: data, base 0, 4 GiB, accessed
gdt_end:
gdt_descriptor:
            dw gdt_end - gdt - 1
            dd ROMBASE + gdt

            bits 32
pm_entry:
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, 0x7000

            cmp dword [RESET_MARK], MARK
            je .after_reset

            mov esi, ROMBASE + msg_first
            call puts32
            mov dword [LAPIC + APIC_SVR], 0x1FF
            mov dword [RESET_MARK], MARK
            in al, 0x92
            and al, 0xFE
            out 0x92, al
            or al, 0x01                         ; a rising bit 0 resets the processor
            out 0x92, al
.wait:      hlt
            jmp .wait

.after_reset:
            mov dword [RESET_MARK], 0
            mov esi, ROMBASE + msg_second
            call puts32
            mov eax, [LAPIC + APIC_SVR]
            cmp eax, 0xFF
            jne .fail
            mov esi, ROMBASE + msg_pass
            call puts32
            mov al, 0
            out DEBUG_EXIT, al
.stop:      hlt
            jmp .stop

.fail:      mov esi, ROMBASE + msg_fail
            call puts32
            mov al, 1
            out DEBUG_EXIT, al
            jmp .stop

%include "puts32.inc"

msg_first:  db "apic_reset: local APIC enabled, resetting through port 92h", 13, 10, 0
msg_second: db "apic_reset: after the reset", 13, 10, 0
msg_pass:   db "PASS: the local APIC's SVR is 0xFF again", 13, 10, 0
msg_fail:   db "FAIL: the local APIC kept its SVR across the reset", 13, 10, 0

            times 0xFFF0 - ($ - $$) db 0xFF
            bits 16
reset:      jmp 0xF000:start
            times 0x10000 - ($ - $$) db 0xFF
