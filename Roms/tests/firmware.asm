; Firmware-style test ROM (boot with --bios): reports progress the way a PC BIOS does, with POST
; codes on port 0x80 and text on the debug console ports 0xE9 and 0x402, and checks that code
; copied into RAM and code rewritten while running execute as written (decoded-code invalidation).
;
; POST codes, in order: 10 start, 11 stack in RAM, 12 shadowed to RAM, 13 running from RAM,
; 14 self-modifying code checked, 15 protected mode, 16 code rewritten in a loop checked,
; then AA (final) and power-off through debug-exit with 0 on success (exit status 1) or
; 1 on a failed check (exit status 3).

ROMBASE     equ 0xF0000
DEBUGCON    equ 0xE9
DEBUGCON2   equ 0x402
DEBUG_EXIT  equ 0xF4
SHADOW      equ 0x8000              ; RAM copy of the relocatable part, segment 0x0800

%macro POST 1
            mov al, %1
            out 0x80, al
%endmacro

            bits 16
            org 0

start:      cli
            cld
            POST 0x10
            xor ax, ax
            mov ss, ax
            mov sp, 0x7000
            POST 0x11
            mov ax, cs
            mov ds, ax
            mov si, msg_start
            call dputs

            ; Shadow: copy the relocatable block to RAM and run it there, as a BIOS does
            ; before it enables caching of its own image.
            mov ax, SHADOW >> 4
            mov es, ax
            xor di, di
            mov si, reloc_start
            mov cx, reloc_end - reloc_start
            rep movsb
            POST 0x12
            jmp (SHADOW >> 4):0

; dputs: DS:SI string to both debug console ports
dputs:      lodsb
            test al, al
            jz .done
            mov dx, DEBUGCON
            out dx, al
            mov dx, DEBUGCON2
            out dx, al
            jmp dputs
.done:      ret

fail16:     mov si, msg_fail
            call dputs
            mov al, 1
            out DEBUG_EXIT, al
            hlt

msg_start:  db "firmware: POST start", 10, 0
msg_fail:   db "firmware: FAIL", 10, 0

; ---- copied to SHADOW and executed there (segment 0x0800, offsets from reloc_start)
reloc_start:
            POST 0x13
            mov ax, cs
            mov ds, ax
            mov es, ax
            mov si, msg_ram - reloc_start
            call rputs

            ; Self-modifying code: patch the immediate of a MOV that already ran once.
            mov cx, 2
            xor bx, bx
smc_again:
patch_site: mov ax, 0x1111
            add bx, ax
            mov word [patch_site - reloc_start + 1], 0x2222
            loop smc_again
            cmp bx, 0x1111 + 0x2222
            jne .bad
            POST 0x14
            mov si, msg_smc - reloc_start
            call rputs

            ; Enter 32-bit protected mode with the GDT in the ROM.
            lgdt [cs:gdt_descriptor - reloc_start]
            mov eax, cr0
            or al, 1
            mov cr0, eax
            jmp dword 0x08:(SHADOW + pm32 - reloc_start)
.bad:       jmp 0xF000:fail16

rputs:      lodsb
            test al, al
            jz .done
            mov dx, DEBUGCON
            out dx, al
            mov dx, DEBUGCON2
            out dx, al
            jmp rputs
.done:      ret

            bits 32
pm32:       mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, 0x7000
            POST 0x15
            mov esi, SHADOW + msg_pm - reloc_start
            call pputs

            ; Rewrite a function in RAM 100 times between calls; each call must run the new code.
            mov ecx, 100
            xor ebx, ebx
.loop:      mov [SHADOW + fn_imm - reloc_start], ecx
            call fn
            add ebx, eax
            loop .loop
            cmp ebx, 5050
            jne .bad
            POST 0x16
            mov esi, SHADOW + msg_loop - reloc_start
            call pputs
            POST 0xAA
            mov esi, SHADOW + msg_done - reloc_start
            call pputs
            xor eax, eax
            out DEBUG_EXIT, al
            hlt
.bad:       mov esi, SHADOW + msg_bad32 - reloc_start
            call pputs
            mov al, 1
            out DEBUG_EXIT, al
            hlt

fn:         db 0xB8                 ; mov eax, imm32
fn_imm:     dd 0
            ret

pputs:      lodsb
            test al, al
            jz .done
            mov dx, DEBUGCON
            out dx, al
            mov dx, DEBUGCON2
            out dx, al
            jmp pputs
.done:      ret

            align 8
gdt:        dq 0
            dq 0x00CF9A000000FFFF
            dq 0x00CF92000000FFFF
gdt_descriptor:
            dw 23
            dd SHADOW + gdt - reloc_start

msg_ram:    db "firmware: running from RAM", 10, 0
msg_smc:    db "firmware: PASS self-modifying code (patched MOV immediate)", 10, 0
msg_pm:     db "firmware: protected mode", 10, 0
msg_loop:   db "firmware: PASS code rewritten 100 times between calls", 10, 0
msg_done:   db "firmware: final POST code AA", 10, 0
msg_bad32:  db "firmware: FAIL code rewritten between calls", 10, 0
reloc_end:

            bits 16
            times 0xFFF0 - ($ - $$) db 0xFF
            jmp 0xF000:start
            times 0x10000 - ($ - $$) db 0xFF
