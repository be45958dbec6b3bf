; A boot sector that sets a VGA mode through the VGA BIOS (INT 10h), draws a pattern, programs the
; CRT controller's split screen (Line Compare, CR18 with CR7 bit 4 and CR9 bit 6) and start
; address through the ports, writes "scanout drawn" to port 402h (the debug console) and halts. The byte at
; offset 1FDh picks the scenario (the tests patch it): 0 text mode 03h with blinking off and a
; reprogrammed DAC entry, 1 mode 12h (16-color planar), 2 "mode X" (mode 13h unchained: chain-4
; off, byte mode), 3 mode 13h (chain-4), 4 text mode 03h with blinking on, "BLINK" in a blinking
; attribute and "PALETTE" in color 5 with DAC entry 5 reprogrammed (for --display curses). emu and
; QEMU run it under the same SeaBIOS and VGA BIOS and their screendumps are compared
; (Tests/EndToEnd/VgaScanoutQemuTests, Tests/EndToEnd/Terminal/CursesDisplayTests).
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    cld
    sti
    mov al, [scenario]
    cmp al, 1
    je planar
    cmp al, 2
    je modex
    cmp al, 3
    je chain4
    cmp al, 4
    je blink

text:
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1003              ; attribute bit 7: bright background, not blinking
    xor bl, bl
    int 0x10
    mov ah, 0x01                ; cursor off (CR0A bit 5)
    mov cx, 0x2000
    int 0x10
    mov ax, 0xb800
    mov es, ax
    xor di, di
    xor cx, cx
.cell:                          ; 80x50 cells: characters 21h-7Eh, every attribute
    mov ax, cx
    xor dx, dx
    mov bx, 94
    div bx
    mov al, dl
    add al, 0x21
    mov ah, cl
    xor ah, ch
    stosw
    inc cx
    cmp cx, 80 * 50
    jne .cell
    mov dx, 0x3c8               ; DAC entry 14h (brown in the default palette) becomes 10h, 20h, 30h
    mov al, 0x14
    out dx, al
    inc dx
    mov al, 0x10
    out dx, al
    mov al, 0x20
    out dx, al
    mov al, 0x30
    out dx, al
    mov bx, 80 * 5              ; start at row 5
    mov si, 16 * 12 - 1         ; split after text row 11
    jmp split

planar:
    mov ax, 0x0012
    int 0x10
    mov ax, 0xa000
    mov es, ax
    mov bl, 1                   ; map mask: one plane at a time
.plane:
    mov dx, 0x3c4
    mov al, 2
    mov ah, bl
    out dx, ax
    xor di, di
.byte:
    mov ax, di
    mul bl
    mov dx, di
    shr dx, 7
    xor al, dl
    stosb
    cmp di, 80 * 480
    jne .byte
    shl bl, 1
    cmp bl, 16
    jne .plane
    mov bx, 80 * 40             ; start at pixel row 40
    mov si, 300
    jmp split

modex:
    mov ax, 0x0013
    int 0x10
    mov dx, 0x3c4
    mov ax, 0x0604              ; SR4: chain-4 off, odd/even off
    out dx, ax
    mov dx, 0x3d4
    mov ax, 0x0014              ; CR14: double-word mode off
    out dx, ax
    mov ax, 0xe317              ; CR17: byte mode
    out dx, ax
    mov ax, 0xa000
    mov es, ax
    mov bl, 1
.plane:
    mov dx, 0x3c4
    mov al, 2
    mov ah, bl
    out dx, ax
    xor di, di
.byte:
    mov ax, di
    add al, bl
    mul bl
    mov dx, di
    shr dx, 4
    xor al, dl
    stosb
    cmp di, 80 * 400
    jne .byte
    shl bl, 1
    cmp bl, 16
    jne .plane
    mov bx, 80 * 20             ; start at pixel row 20
    mov si, 2 * 150 - 1         ; split after pixel row 149 (two scan lines per row)
    jmp split

chain4:
    mov ax, 0x0013
    int 0x10
    mov ax, 0xa000
    mov es, ax
    xor di, di
.byte:
    mov ax, di
    mov dx, di
    shr dx, 8
    xor al, dl
    stosb
    cmp di, 64000
    jne .byte
    mov bx, 0
    mov si, 0x3ff               ; no split
    jmp split

blink:
    mov ax, 0x0003              ; blinking stays enabled, as the BIOS sets it
    int 0x10
    mov ax, 0xb800
    mov es, ax
    xor di, di
    mov si, blinking
    mov ah, 0x9e                ; bit 7 blink, background 1 (blue), foreground 14 (yellow)
    call puts
    mov di, 160
    mov si, palette
    mov ah, 0x05                ; foreground 5: attribute palette 5, DAC entry 5
    call puts
    mov dx, 0x3c8               ; DAC entry 5 becomes 3Fh, 2Ch, 00h (FFB000h, an orange)
    mov al, 5
    out dx, al
    inc dx
    mov al, 0x3f
    out dx, al
    mov al, 0x2c
    out dx, al
    xor al, al
    out dx, al
    mov bx, 0
    mov si, 0x3ff
    jmp split

; Stores the string at SI with attribute AH at ES:DI.
puts:
    lodsb
    test al, al
    jz .end
    stosw
    jmp puts
.end:
    ret

; BX: start address; SI: line compare (10 bits).
split:
    mov dx, 0x3d4
    mov al, 0x0c
    mov ah, bh
    out dx, ax
    mov al, 0x0d
    mov ah, bl
    out dx, ax
    mov al, 0x18
    mov ax, si
    mov ah, al
    mov al, 0x18
    out dx, ax
    mov al, 7                   ; CR7 bit 4: line compare bit 8 (writable even while CR0-CR7 are protected)
    out dx, al
    inc dx
    in al, dx
    and al, ~0x10
    mov cx, si
    shr cx, 4
    and cl, 0x10
    or al, cl
    out dx, al
    dec dx
    mov al, 9                   ; CR9 bit 6: line compare bit 9
    out dx, al
    inc dx
    in al, dx
    and al, ~0x40
    mov cx, si
    shr cx, 3
    and cl, 0x40
    or al, cl
    out dx, al
    mov si, done                ; tell the test (SeaBIOS's own log goes to port 402h too)
    mov dx, 0x402
.say:
    lodsb
    out dx, al
    test al, al
    jnz .say
.halt:
    cli
    hlt
    jmp .halt

done:
    db "scanout drawn", 10, 0
blinking:
    db "BLINK", 0
palette:
    db "PALETTE", 0

    times 0x1fd - ($ - $$) db 0
scenario:
    db 0
    dw 0xaa55
