; emu exits guest: a 64 KiB firmware image that runs in 16-bit real mode and does, once each,
; every kind of access that leaves a hardware-assisted CPU for the emulator: CPUID, port I/O of
; each width, string port I/O in both directions (short, and longer than a page), reads and
; writes of ROM and of unmapped physical memory. It prints what it saw over COM1 and exits
; through the debug-exit port with value 0x21 (emu exits with status 0x43). Under the software
; CPU and under KVM the output must be identical: the tests compare them line for line.
;
; Build: nasm -f bin -o exits.bin exits.asm   (Roms/build.sh does this and checks the result)

COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
UNCLAIMED   equ 0x1234          ; a port no device of emu's PC claims
BUFFER      equ 0x8000          ; scratch RAM at 0000:8000
UNMAPPED    equ 0xA000          ; segment of A0000, the VGA hole: no RAM, no device

            bits 16
            org 0

start:
            cli
            cld
            xor ax, ax
            mov ss, ax
            mov sp, 0x7000
            mov ax, cs
            mov ds, ax

            ; COM1: 115200 8N1, FIFOs on (same programming as the demo guest)
            COM1_115200_8N1
            mov dx, COM1 + 2
            mov al, 0x07
            out dx, al

            mov si, msg_hello
            call puts

; ---- CPUID: every leaf of the table, including leaves out of range
            mov bx, leaves
.leaf:      mov eax, [bx]
            cmp eax, 0xFFFFFFFF
            je .leaves_done
            push bx
            push eax
            mov si, msg_cpuid
            call puts
            pop eax
            push eax
            call puthex32
            mov al, ':'
            call putc
            pop eax
            xor ecx, ecx
            cpuid
            push edx
            push ecx
            push ebx
            call space_hex32
            pop eax
            call space_hex32
            pop eax
            call space_hex32
            pop eax
            call space_hex32
            call crlf
            pop bx
            add bx, 4
            jmp .leaf
.leaves_done:

; ---- string output: one REP OUTSB of a whole line to THR (one exit with count > 1 under KVM)
            mov si, msg_rep
            mov cx, msg_rep_end - msg_rep
            mov dx, COM1
            rep outsb

; ---- string input: REP INSB from LSR, REP INSW from an unclaimed port
            xor ax, ax
            mov es, ax
            mov di, BUFFER
            mov dx, COM1 + 5
            mov cx, 4
            rep insb
            mov dx, UNCLAIMED
            mov cx, 3
            rep insw
            mov si, msg_ins
            call puts
            mov bx, BUFFER
            mov cx, 10
.insdump:   mov al, [es:bx]
            call space_hex8
            inc bx
            loop .insdump
            call crlf

; ---- long string I/O: 6000 bytes in and out, more than a page each (several exits under KVM)
            mov si, msg_long
            call puts
            xor ax, ax
            mov es, ax
            mov di, BUFFER
            mov dx, UNCLAIMED
            mov cx, 3000
            rep insw
            push ds
            mov ds, ax
            mov si, BUFFER
            mov cx, 3000
            rep outsw
            pop ds
            mov bx, BUFFER
            mov cx, 3000
            xor edx, edx
.longsum:   movzx eax, word [es:bx]
            add edx, eax
            add bx, 2
            loop .longsum
            mov eax, edx
            call space_hex32
            mov ax, di
            movzx eax, ax
            call space_hex32
            call crlf

; ---- port I/O of each width on an unclaimed port: reads are all ones
            mov si, msg_ports
            call puts
            mov dx, UNCLAIMED
            in al, dx
            call space_hex8
            in ax, dx
            movzx eax, ax
            call space_hex32
            in eax, dx
            call space_hex32
            mov al, 0x55
            out dx, al
            out dx, ax
            out dx, eax
            call crlf

; ---- ROM: a write is dropped (an MMIO exit into the read-only slot under KVM)
            mov si, msg_rom
            call puts
            mov al, [cs:rom_probe]
            call space_hex8
            mov byte [cs:rom_probe], 0x5A
            mov dword [cs:rom_probe + 4], 0x12345678
            mov al, [cs:rom_probe]
            call space_hex8
            mov eax, [cs:rom_probe + 4]
            call space_hex32
            call crlf

; ---- unmapped physical memory: reads are all ones, writes vanish (MMIO exits of 1, 2 and 4 bytes)
            mov si, msg_hole
            call puts
            mov ax, UNMAPPED
            mov es, ax
            mov byte [es:0], 0x11
            mov word [es:2], 0x2222
            mov dword [es:4], 0x33333333
            mov al, [es:0]
            call space_hex8
            mov ax, [es:2]
            movzx eax, ax
            call space_hex32
            mov eax, [es:4]
            call space_hex32
            call crlf

; ---- RAM: a register checksum over a loop (no exits at all while it runs)
            mov si, msg_sum
            call puts
            mov eax, 0x12345678
            mov ebx, 0x9E3779B9
            xor edx, edx
            mov ecx, 50000
.mix:       add edx, eax
            rol edx, 5
            xor edx, ebx
            add eax, ebx
            loop .mix
            mov eax, edx
            call space_hex32
            call crlf

            mov si, msg_bye
            call puts
            mov al, 0x21
            out DEBUG_EXIT, al
.hang:      hlt
            jmp .hang

; puts: print the NUL-terminated string at DS:SI
puts:
            lodsb
            test al, al
            jz .done
            call putc
            jmp puts
.done:      ret

; putc: print AL once THR is empty (LSR bit 5)
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

crlf:
            mov al, 13
            call putc
            mov al, 10
            jmp putc

; space_hex32 / space_hex8: a space, then EAX as 8 or AL as 2 hex digits
space_hex32:
            push eax
            mov al, ' '
            call putc
            pop eax
puthex32:
            push cx
            mov cx, 8
.digit:     rol eax, 4
            call hexdigit
            loop .digit
            pop cx
            ret

space_hex8:
            push cx
            push eax
            mov al, ' '
            call putc
            pop eax
            shl eax, 24
            mov cx, 2
.digit:     rol eax, 4
            call hexdigit
            loop .digit
            pop cx
            ret

; hexdigit: print the low nibble of AL, keeping EAX
hexdigit:
            push eax
            and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .print
            add al, 'a' - '9' - 1
.print:     call putc
            pop eax
            ret

            align 4
leaves:     dd 0, 1, 2, 0x0B, 0x80000000, 0x80000001, 0x80000002, 0x80000003, 0x80000004
            dd 0x80000005, 0x80000008, 0x40000000, 0x40000001, 0xFFFFFFFF
rom_probe:  db 0xA5, 0xA5, 0xA5, 0xA5, 0xEF, 0xBE, 0xAD, 0xDE

msg_hello:  db "emu exits guest", 13, 10, 0
msg_cpuid:  db "cpuid ", 0
msg_rep:    db "rep outsb: one string, one exit", 13, 10
msg_rep_end:
msg_ins:    db "rep insb/insw:", 0
msg_long:   db "rep insw/outsw of 6000 bytes, sum and end:", 0
msg_ports:  db "unclaimed port in/out:", 0
msg_rom:    db "rom before/after writes:", 0
msg_hole:   db "unmapped memory after writes:", 0
msg_sum:    db "register checksum:", 0
msg_bye:    db "done", 13, 10, 0

; ---------------------------------------------------------------- reset vector
            times 0xFFF0 - ($ - $$) db 0xFF
reset:      jmp 0xF000:start            ; FFFFFFF0: first instruction after RESET
            times 0x10000 - ($ - $$) db 0xFF
