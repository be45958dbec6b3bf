; emu demo guest: a 64 KiB firmware image that boots at the reset vector, prints over COM1
; what it does (real mode, CPUID, protected mode, a memory test), and powers the PC off
; through the ACPI PM1a control register, the path an OS uses after reading the FADT.
;
; Build: nasm -f bin -o demo.bin demo.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFF0000-FFFFFFFF and, as its last 128 KiB, at F0000-FFFFF.
; Real-mode code runs in segment F000, so a label's value is its offset in that segment.

ROMBASE     equ 0xF0000          ; linear address of the image below 1 MiB
COM1        equ 0x3F8
%include "com1.inc"
PM1A_CNT    equ 0x604            ; ACPI PM1a control block of emu's PC
SLP_TYP_S5  equ 5                ; the \_S5 sleep type emu's DSDT publishes
SLP_EN      equ 1 << 13
TEST_BASE   equ 0x00100000       ; memory test at 1 MiB (extended memory, needs no A20 games)
TEST_DWORDS equ 16384            ; 64 KiB

            bits 16
            org 0

; ---------------------------------------------------------------- real mode
start:
            cli
            cld
            xor ax, ax
            mov ss, ax
            mov sp, 0x7000
            mov ax, cs
            mov ds, ax

            ; COM1: 115200 8N1, FIFOs on (PC16550D datasheet, registers at base+0..7)
            COM1_115200_8N1
            mov dx, COM1 + 2
            mov al, 0x07                ; enable and clear FIFOs
            out dx, al
            mov dx, COM1 + 4
            mov al, 0x03                ; DTR, RTS
            out dx, al

            mov al, 0x01
            out 0x80, al                ; POST code 01: serial ready

            mov si, msg_hello
            call puts16

            ; Sum 1..100 with a loop: 5050
            xor ax, ax
            mov cx, 100
.sum:       add ax, cx
            loop .sum
            push ax
            mov si, msg_sum
            call puts16
            pop ax
            call putdec16
            call crlf16

            ; CPUID: vendor and brand string
            xor eax, eax
            cpuid
            mov [cs:0], eax             ; (ROM: the write is dropped, as on real flash)
            mov si, msg_vendor
            call puts16
            push ecx
            push edx
            mov eax, ebx
            call put4chars16
            pop eax
            call put4chars16
            pop eax
            call put4chars16
            call crlf16

            mov al, 0x02
            out 0x80, al                ; POST code 02: entering protected mode

            mov si, msg_pm
            call puts16
            lgdt [cs:gdt_descriptor]
            mov eax, cr0
            or eax, 1
            mov cr0, eax
            jmp dword 0x08:(ROMBASE + pm_entry)

; puts16: print the NUL-terminated string at DS:SI
puts16:
            lodsb
            test al, al
            jz .done
            call putc16
            jmp puts16
.done:      ret

; putc16: print AL, waiting for the transmitter holding register to be empty (LSR bit 5)
putc16:
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

crlf16:
            mov al, 13
            call putc16
            mov al, 10
            jmp putc16

; put4chars16: print the four bytes of EAX, low byte first (clobbers CX)
put4chars16:
            mov cx, 4
.next:      call putc16
            shr eax, 8
            loop .next
            ret

; putdec16: print AX in decimal
putdec16:
            mov bx, 10
            xor cx, cx
.div:       xor dx, dx
            div bx
            push dx
            inc cx
            test ax, ax
            jnz .div
.out:       pop ax
            add al, '0'
            call putc16
            loop .out
            ret

msg_hello:  db "emu demo guest: hello from 16-bit real mode at the reset vector", 13, 10, 0
msg_sum:    db "real mode: sum of 1..100 = ", 0
msg_vendor: db "cpuid: vendor ", 0
msg_pm:     db "switching to 32-bit protected mode", 13, 10, 0

; The descriptors come with their accessed bit already set, as firmware GDTs in ROM do: loading a
; segment sets that bit in memory (Intel SDM Vol. 3A 3.4.5.1), a write real flash drops but KVM's
; instruction emulator cannot complete against a read-only memory slot (it retries the instruction
; forever). With the bit set there is nothing to write, on every backend.
            align 8
gdt:        dq 0                                ; null descriptor
            dq 0x00CF9B000000FFFF               ; 0x08: code, base 0, 4 GiB, 32-bit, accessed
            dq 0x00CF93000000FFFF               ; 0x10: data, base 0, 4 GiB, accessed
gdt_end:
gdt_descriptor:
            dw gdt_end - gdt - 1
            dd ROMBASE + gdt

; ---------------------------------------------------------------- protected mode
            bits 32
pm_entry:
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, 0x7000

            mov al, 0x03
            out 0x80, al                ; POST code 03: protected mode

            mov esi, ROMBASE + msg_in_pm
            call puts32

            ; Memory test: fill 64 KiB at 1 MiB with a pattern, copy it with REP MOVSD,
            ; then verify the copy and sum it.
            mov edi, TEST_BASE
            mov ecx, TEST_DWORDS
            mov eax, 0x12345678
.fill:      stosd
            add eax, 0x9E3779B9
            loop .fill

            mov esi, TEST_BASE
            mov edi, TEST_BASE + TEST_DWORDS * 4
            mov ecx, TEST_DWORDS
            rep movsd

            mov esi, TEST_BASE
            mov edi, TEST_BASE + TEST_DWORDS * 4
            mov ecx, TEST_DWORDS
            xor ebx, ebx
.verify:    mov eax, [esi]
            cmp eax, [edi]
            jne .bad
            add ebx, eax
            add esi, 4
            add edi, 4
            dec ecx
            jnz .verify

            mov esi, ROMBASE + msg_memok
            call puts32
            mov eax, ebx
            call puthex32
            call crlf32
            jmp .poweroff

.bad:       mov esi, ROMBASE + msg_membad
            call puts32

.poweroff:
            mov al, 0x04
            out 0x80, al                ; POST code 04: powering off
            mov esi, ROMBASE + msg_off
            call puts32
            ; ACPI 6.5 4.8.3.2.1: writing SLP_TYP with SLP_EN enters the sleep state; S5 is soft-off.
            mov dx, PM1A_CNT
            mov ax, (SLP_TYP_S5 << 10) | SLP_EN
            out dx, ax
.hang:      hlt
            jmp .hang

puts32:
            lodsb
            test al, al
            jz .done
            call putc32
            jmp puts32
.done:      ret

putc32:
            push edx
            push eax
            mov dx, COM1 + 5
.wait:      in al, dx
            test al, 0x20
            jz .wait
            pop eax
            mov dx, COM1
            out dx, al
            pop edx
            ret

crlf32:
            mov al, 13
            call putc32
            mov al, 10
            jmp putc32

; puthex32: print EAX as 8 hex digits
puthex32:
            mov ecx, 8
.digit:     rol eax, 4
            push eax
            and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .print
            add al, 'a' - '9' - 1
.print:     call putc32
            pop eax
            loop .digit
            ret

msg_in_pm:  db "protected mode: flat 4 GiB segments, paging off", 13, 10, 0
msg_memok:  db "memory: 64 KiB at 1 MiB filled, copied with REP MOVSD, verified; checksum 0x", 0
msg_membad: db "memory: MISMATCH in the copy", 13, 10, 0
msg_off:    db "powering off through ACPI PM1a_CNT (SLP_TYP=S5, SLP_EN)", 13, 10, 0

; ---------------------------------------------------------------- reset vector
            times 0xFFF0 - ($ - $$) db 0xFF
            bits 16
reset:      jmp 0xF000:start            ; FFFFFFF0: first instruction after RESET
            times 0x10000 - ($ - $$) db 0xFF
