; emu platform test guest: a 4 KiB firmware image that programs the 8259A pair and the 8254 the
; way PC firmware does, enables interrupts, sleeps in HLT until the timer has interrupted it
; IRQ_COUNT times, checks the controllers' state afterwards, prints PASS or FAIL over COM1 and
; leaves through the debug-exit port (emu exits with (value << 1) | 1).
;
; Build: nasm -f bin -o pit_irq.bin pit_irq.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFFF000-FFFFFFFF and F000:F000-F000:FFFF; code runs in segment F000.

COM1        equ 0x3F8
%include "com1.inc"
%include "pic8259.inc"
DEBUG_EXIT  equ 0xF4
EXIT_PASS   equ 0x10                ; emu exits 33
EXIT_FAIL   equ 0x11                ; emu exits 35
MASTER_BASE equ 0x20                ; IRQ 0-7 -> vectors 20h-27h
SLAVE_BASE  equ 0x28                ; IRQ 8-15 -> vectors 28h-2Fh
IRQ_COUNT   equ 20
PIT_COUNT   equ 1193                ; 1.193182 MHz / 1193 = 1000.2 Hz

TICKS       equ 0x0500              ; RAM variables, DS = 0
UNEXPECTED  equ 0x0502
WAKEUPS     equ 0x0504

            bits 16
            org 0xF000

start:
            cli
            cld
            xor ax, ax
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov sp, 0x7000

            ; COM1: 115200 8N1 (PC16550D registers at base+0..7)
            COM1_115200_8N1

            ; Interrupt vector table: every vector of both PICs to 'unexpected', then IRQ 0 to its handler.
            mov di, MASTER_BASE * 4
            mov cx, 16
.ivt:       mov word [di], unexpected
            mov word [di + 2], 0xF000
            add di, 4
            loop .ivt
            mov word [MASTER_BASE * 4], irq0
            mov word [TICKS], 0
            mov word [UNEXPECTED], 0
            mov word [WAKEUPS], 0

            PIC8259_INIT_IRQ0_ONLY
            in al, 0x21
            cmp al, 0xFE
            mov si, msg_imr
            jne fail

            ; 8254 counter 0: LSB then MSB, mode 2 (rate generator), binary
            mov al, 0x34
            out 0x43, al
            mov ax, PIT_COUNT
            out 0x40, al
            mov al, ah
            out 0x40, al

            sti
.sleep:     hlt
            inc word [WAKEUPS]
            cmp word [TICKS], IRQ_COUNT
            jb .sleep
            cli

            mov si, msg_unexpected
            cmp word [UNEXPECTED], 0
            jne fail

            ; Every interrupt was acknowledged and EOIed: nothing in service (OCW3 read ISR).
            mov al, 0x0B
            out 0x20, al
            in al, 0x20
            mov si, msg_isr
            test al, al
            jnz fail

            ; The counter runs on: a latched count lies within 1..PIT_COUNT (8254 counter latch command).
            mov al, 0x00
            out 0x43, al
            in al, 0x40
            mov ah, al
            in al, 0x40
            xchg al, ah
            mov si, msg_latch
            test ax, ax
            jz fail
            cmp ax, PIT_COUNT
            ja fail

            mov si, msg_pass
            call puts
            mov al, EXIT_PASS
            out DEBUG_EXIT, al
.halt:      hlt
            jmp .halt

fail:
            push si
            mov si, msg_fail
            call puts
            pop si
            call puts
            mov al, EXIT_FAIL
            out DEBUG_EXIT, al
            jmp start.halt

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

; Any other vector of the PIC pair, including a spurious IRQ 7 or 15, is a failure.
unexpected:
            push ds
            push ax
            xor ax, ax
            mov ds, ax
            inc word [UNEXPECTED]
            pop ax
            pop ds
            iret

; puts: print the NUL-terminated string at CS:SI
puts:
            push ax
            push dx
.next:      cs lodsb
            test al, al
            jz .done
            mov ah, al
            mov dx, COM1 + 5
.wait:      in al, dx
            test al, 0x20
            jz .wait
            mov al, ah
            mov dx, COM1
            out dx, al
            jmp .next
.done:      pop dx
            pop ax
            ret

msg_pass:       db "pit_irq: 20 timer interrupts through the 8259A, HLT between them", 13, 10, "PASS", 13, 10, 0
msg_fail:       db "FAIL: ", 0
msg_imr:        db "IMR did not read back", 13, 10, 0
msg_unexpected: db "an unexpected vector of the PIC pair was taken", 13, 10, 0
msg_isr:        db "ISR not clear after the EOIs", 13, 10, 0
msg_latch:      db "latched count of counter 0 out of range", 13, 10, 0

; ---------------------------------------------------------------- reset vector
            times 0xFF0 - ($ - $$) db 0xFF
reset:      jmp 0xF000:start            ; FFFFFFF0: first instruction after RESET
            times 0x1000 - ($ - $$) db 0xFF
