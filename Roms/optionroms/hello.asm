; A legacy option ROM of emu's own, for `emu run --option-rom` (fw_cfg "genroms/hello.bin").
; Firmware copies it into the option-ROM area (C0000h-EFFFFh) and, because it carries a PnP
; expansion header, far-calls its init entry at offset 3 while scanning option ROMs. The init
; routine prints one line, with the segment it runs at, through INT 10h and returns with RETF.
;
; Layout (IBM PC option ROM; PnP BIOS specification 1.0A, "Expansion Header for Plug and Play"):
;   00h  55h AAh          signature
;   02h  length           in 512-byte blocks
;   03h  init entry       4 bytes: here a near JMP and padding
;   18h  PCI data offset  0: not a PCI ROM (fw_cfg "genroms/" ROMs belong to no device)
;   1Ah  PnP header offset
; The last byte makes all bytes sum to 0 mod 256; Roms/build.sh sets it after assembling, since
; nasm cannot sum the bytes of code it emits.

bits 16
org 0

%include "pnp.inc"

BLOCKS      equ 1

rom:
            dw 0xaa55
            db BLOCKS
            jmp near init           ; offset 3, 3 bytes
            db 0                    ; the fourth byte of the entry
            times 0x18 - ($ - rom) db 0
            dw 0                    ; PCI data structure: none
            dw pnp - rom

            times 0x20 - ($ - rom) db 0
; PnP expansion header (Roms/common/pnp.inc). No BCV and no BEV: the ROM boots nothing, so
; firmware only calls its init entry.
            PNP_HEADER 0

vendor:     db 'emu', 0
product:    db 'emu hello option ROM', 0

; Called by firmware at CS:0003 with a far CALL; returns with every register as it found it.
init:
            pushf
            pusha
            push ds
            push cs
            pop ds
            mov si, banner
            call puts
            mov ax, cs              ; the segment firmware deployed the ROM at, as 4 hex digits
            mov cx, 4
.digit:     rol ax, 4
            push ax
            and al, 0x0f
            add al, '0'
            cmp al, '9'
            jbe .out
            add al, 'a' - '0' - 10
.out:       call putc
            pop ax
            loop .digit
            mov si, crlf
            call puts
            pop ds
            popa
            popf
            retf

; Writes the NUL-terminated string at DS:SI.
puts:
            lodsb
            test al, al
            jz .done
            call putc
            jmp puts
.done:      ret

; Writes AL through the video BIOS's teletype output (INT 10h, AH=0Eh; BH = page 0, BL = the
; foreground colour, used in graphics modes only). Firmware's own text goes the same way, so the
; ROM's line lands on the screen, and on any console firmware mirrors the screen to (SeaBIOS's
; serial console), in the order it was printed.
putc:
            push ax
            push bx
            mov ah, 0x0e
            mov bx, 0x0007
            int 0x10
            pop bx
            pop ax
            ret

banner:     db 'emu hello option ROM: init called at segment ', 0
crlf:       db 13, 10, 0

            times BLOCKS * 512 - 1 - ($ - rom) db 0
checksum:   db 0                    ; set by Roms/build.sh
