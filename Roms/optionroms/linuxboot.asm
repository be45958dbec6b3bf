; emu's Linux real-mode boot option ROM (fw_cfg "genroms/linuxboot.bin"), for kernels that only
; start through the real-mode entry of the Linux boot protocol with a BIOS underneath: iPXE's
; ipxe.lkrn, which has no 32-bit entry (code32_start 0) and calls INT 10h, 13h and 15h from its
; setup code. emu boots such a --kernel through SeaBIOS; the machine has already laid the image
; out and filled in the setup header (PcFwCfg, Loaders/Linux/RealModeKernel), so this ROM only
; copies the pieces where they go and starts the setup code as a boot loader would
; (Documentation/arch/x86/boot.rst, "Running the Kernel").
;
; The pieces come from the fw_cfg items with QEMU's numbers (docs/specs/fw_cfg.rst): for each of
; setup, kernel, initrd and command line an address item, a size item and a data item. Each is
; copied with one fw_cfg DMA transfer (fw_cfg.rst, "Guest-side DMA Interface"), which writes any
; physical address, so the ROM needs neither unreal mode nor INT 15h block moves.
;
; The PnP header's bootstrap entry vector (BEV) makes SeaBIOS list the ROM as a boot device; the
; machine puts "/rom@genroms/linuxboot.bin" first in the boot order, so INT 19h calls it once POST
; is done. The init entry does nothing. The last byte makes all bytes sum to 0 mod 256
; (Roms/build.sh sets it).

bits 16
org 0

%include "pnp.inc"

BLOCKS      equ 1

SELECTOR    equ 0x510               ; fw_cfg: 16-bit item selector
DATA        equ 0x511               ; fw_cfg: 8-bit data
DMA_LOW     equ 0x518               ; fw_cfg: low half of the DMA descriptor's address (big-endian); writing it starts the transfer
DMA_HIGH    equ 0x514

DMA_ERROR   equ 1 << 0
DMA_READ    equ 1 << 1
DMA_SELECT  equ 1 << 3

KERNEL_ADDR  equ 0x07
KERNEL_SIZE  equ 0x08
INITRD_ADDR  equ 0x0a
INITRD_SIZE  equ 0x0b
KERNEL_DATA  equ 0x11
INITRD_DATA  equ 0x12
CMDLINE_ADDR equ 0x13
CMDLINE_SIZE equ 0x14
CMDLINE_DATA equ 0x15
SETUP_ADDR   equ 0x16
SETUP_SIZE   equ 0x17
SETUP_DATA   equ 0x18

rom:
            dw 0xaa55
            db BLOCKS
            jmp near init           ; offset 3, 3 bytes
            db 0
            times 0x18 - ($ - rom) db 0
            dw 0                    ; PCI data structure: none
            dw pnp - rom

            times 0x20 - ($ - rom) db 0
; PnP expansion header (Roms/common/pnp.inc), with a bootstrap entry vector.
            PNP_HEADER boot

vendor:     db 'emu', 0
product:    db 'Linux boot (emu)', 0

init:
            retf

; The bootstrap entry: never returns. Interrupts stay off from here on; the kernel's setup code
; expects to be entered with them disabled.
boot:
            cli
            cld
            xor ax, ax
            mov ss, ax
            mov sp, 0x7c00          ; below the boot sector area; the setup code gets its own stack below
            mov ds, ax

            mov ax, SETUP_DATA
            mov bx, SETUP_ADDR
            mov cx, SETUP_SIZE
            call copy
            mov ax, KERNEL_DATA
            mov bx, KERNEL_ADDR
            mov cx, KERNEL_SIZE
            call copy
            mov ax, INITRD_DATA
            mov bx, INITRD_ADDR
            mov cx, INITRD_SIZE
            call copy
            mov ax, CMDLINE_DATA
            mov bx, CMDLINE_ADDR
            mov cx, CMDLINE_SIZE
            call copy

            ; boot.rst: segments = the setup's segment, SS:SP = the end of its heap, which the
            ; machine put right below the command line; then a far jump 0x20 paragraphs in.
            mov ax, SETUP_ADDR
            call item32
            mov ebx, eax            ; setup address
            mov ax, CMDLINE_ADDR
            call item32
            sub eax, ebx            ; stack top, relative to the setup segment
            shr ebx, 4
            mov ds, bx
            mov es, bx
            mov fs, bx
            mov gs, bx
            mov ss, bx
            mov sp, ax
            add bx, 0x20
            push bx
            push word 0
            retf

; Copies fw_cfg item AX (data) to the address in item BX, for the size in item CX (nothing when 0).
copy:
            push ax
            mov ax, cx
            call item32
            mov ecx, eax            ; size
            mov ax, bx
            call item32
            mov edi, eax            ; address
            pop ax
            jecxz .done
            ; struct FWCfgDmaAccess { be32 control; be32 length; be64 address; } on the stack (SS = 0)
            movzx eax, ax
            shl eax, 16
            or eax, DMA_SELECT | DMA_READ
            bswap eax
            bswap ecx
            bswap edi
            push dword edi          ; address, low half (big-endian)
            push dword 0            ; address, high half
            push dword ecx          ; length
            push dword eax          ; control
            movzx eax, sp
            bswap eax
            mov dx, DMA_HIGH
            push eax
            xor eax, eax
            out dx, eax
            pop eax
            mov dx, DMA_LOW
            out dx, eax             ; starts the transfer
            mov bx, sp
.wait:      mov eax, [ss:bx]
            bswap eax
            test eax, ~DMA_ERROR
            jnz .wait               ; still running
            add sp, 16
            test eax, DMA_ERROR
            jnz fail
.done:      ret

; EAX = the 32-bit little-endian item AX (the low half of the 64-bit ones: everything fits below 4 GiB).
item32:
            push dx
            push cx
            mov dx, SELECTOR
            out dx, ax
            mov dx, DATA
            mov cx, 4
.byte:      in al, dx
            ror eax, 8
            loop .byte
            pop cx
            pop dx
            ret

; A transfer the device refused: say so on the screen and stop.
fail:
            mov si, failed
            mov bx, 0x0007
.char:      cs lodsb
            test al, al
            jz .halt
            mov ah, 0x0e
            int 0x10
            jmp .char
.halt:      hlt
            jmp .halt

failed:     db 'linuxboot: fw_cfg DMA failed', 13, 10, 0

            times BLOCKS * 512 - 1 - ($ - rom) db 0
checksum:   db 0                    ; set by Roms/build.sh
