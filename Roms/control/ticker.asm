; emu control test guest: a 64 KiB firmware image that prints "tick NNNN" (hexadecimal, counting up
; from 0000) over COM1 ten times a second, for ever. The 8254 interrupts 100 times a second through
; the 8259A and the CPU sleeps in HLT between interrupts, so the rate is the same under the software
; CPU, KVM and QEMU, and a stopped guest shows as a pause in its output. Tests of the control socket
; and the debugger run it (QEMU boots the same image with -bios).
;
; Build: nasm -f bin -o ticker.bin ticker.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFF0000-FFFFFFFF and F000:0000-F000:FFFF; code runs in segment F000.

COM1        equ 0x3F8
%include "com1.inc"
%include "pic8259.inc"
MASTER_BASE equ 0x20                ; IRQ 0-7 -> vectors 20h-27h
SLAVE_BASE  equ 0x28                ; IRQ 8-15 -> vectors 28h-2Fh
PIT_COUNT   equ 11932               ; 1.193182 MHz / 11932 = 100.0 Hz
TICKS_PER_LINE equ 10

TICKS       equ 0x0500              ; RAM variables, DS = 0
LINES       equ 0x0502

            bits 16
            org 0

start:
            cli
            cld
            xor ax, ax
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov sp, 0x7000

            COM1_115200_8N1

            ; The 8259A reaches the CPU through the local APIC's LINT0 in virtual-wire mode (Intel MP spec
            ; 3.6.2.2), as PC firmware sets it up: LINT0 ExtINT, LINT1 NMI, the APIC software-enabled.
            ; Its registers are at FEE00000, past 1 MiB: ES becomes a flat 4 GiB segment for that
            ; ("unreal mode": a descriptor cache loaded in protected mode stays in real mode, SDM Vol. 3A 9.9.2).
            o32 lgdt [cs:gdtr]
            mov eax, cr0
            or al, 1
            mov cr0, eax
            mov bx, 8
            mov es, bx
            and al, 0xFE
            mov cr0, eax
            xor bx, bx
            mov es, bx
            mov dword [es:dword 0xFEE000F0], 0x1FF    ; SVR: APIC enabled, spurious vector FF
            mov dword [es:dword 0xFEE00350], 0x700    ; LVT LINT0: ExtINT
            mov dword [es:dword 0xFEE00360], 0x400    ; LVT LINT1: NMI

            ; Interrupt vector table: every vector of both PICs to 'ignore', IRQ 0 to 'irq0'.
            mov di, MASTER_BASE * 4
            mov cx, 16
.ivt:       mov word [di], ignore
            mov word [di + 2], 0xF000
            add di, 4
            loop .ivt
            mov word [MASTER_BASE * 4], irq0
            mov word [TICKS], 0
            mov word [LINES], 0

            PIC8259_INIT_IRQ0_ONLY

            ; 8254 counter 0: LSB then MSB, mode 2 (rate generator), binary
            mov al, 0x34
            out 0x43, al
            mov ax, PIT_COUNT
            out 0x40, al
            mov al, ah
            out 0x40, al

            mov si, msg_hello
            call puts
            sti
.sleep:     hlt
            cmp word [TICKS], TICKS_PER_LINE
            jb .sleep
            mov word [TICKS], 0
            mov si, msg_tick
            call puts
            mov ax, [LINES]
            call puthex16
            mov si, msg_eol
            call puts
            inc word [LINES]
            jmp .sleep

; IRQ 0: count, then a non-specific EOI to the master (OCW2 0x20).
irq0:
            push ax
            push ds
            xor ax, ax
            mov ds, ax
            inc word [TICKS]
            mov al, 0x20
            out 0x20, al
            pop ds
            pop ax
            iret

; Any other vector of the PIC pair (a spurious IRQ 7 or 15) is ignored.
ignore:
            iret

; putc: send AL over COM1 when the transmitter holding register is empty (LSR bit 5)
putc:
            push dx
            push ax
            mov dx, COM1 + 5
.wait:      in al, dx
            test al, 0x20
            jz .wait
            pop ax
            mov dx, COM1
            out dx, al
            pop dx
            ret

; puts: print the NUL-terminated string at CS:SI
puts:
            push ax
.next:      cs lodsb
            test al, al
            jz .done
            call putc
            jmp .next
.done:      pop ax
            ret

; puthex16: print AX as four hexadecimal digits
puthex16:
            push cx
            push bx
            mov bx, ax
            mov cx, 4
.digit:     rol bx, 4
            mov al, bl
            and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .out
            add al, 'a' - '9' - 1
.out:       call putc
            loop .digit
            pop bx
            pop cx
            ret

; A flat 4 GiB read/write data segment (selector 8) for the APIC registers.
            align 8
gdt:        dq 0
            dq 0x00CF93000000FFFF
gdtr:       dw 15
            dd 0xF0000 + gdt

msg_hello:  db "ticker: ten lines a second", 13, 10, 0
msg_tick:   db "tick ", 0
msg_eol:    db 13, 10, 0

; ---------------------------------------------------------------- reset vector
            times 0xFFF0 - ($ - $$) db 0xFF
reset:      jmp 0xF000:start            ; FFFFFFF0: first instruction after RESET
            times 0x10000 - ($ - $$) db 0xFF
