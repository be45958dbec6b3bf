; emu SMP test firmware: the bootstrap processor wakes CPU 1 with INIT-SIPI-SIPI through its local
; APIC's ICR (Intel SDM Vol. 3A 9.4.4.1), both processors report over COM1, and the BSP leaves
; through the debug-exit port: 0 (emu exits 1) when every check passed, 1 (emu exits 3) otherwise.
; On the way the AP sends the BSP a fixed IPI, the BSP takes three periodic APIC timer interrupts,
; and it restarts the AP with a second INIT and SIPI.
; Run with: emu run --bios smp.bin --smp 2
;
; Build: nasm -f bin -o smp.bin smp.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFF0000-FFFFFFFF and at F0000-FFFFF. Real-mode code runs in segment F000
; and flat 32-bit code at ROMBASE + label. The AP's startup code is copied to AP_BASE and runs
; there from CS = 0800, so it addresses its own data relative to ap_start and calls the ROM's
; routines through absolute addresses.

ROMBASE     equ 0xF0000
COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
LAPIC       equ 0xFEE00000          ; local APIC registers (Intel SDM Vol. 3A Table 11-1)
APIC_ID     equ 0x020
APIC_SVR    equ 0x0F0
APIC_ESR    equ 0x280
APIC_ICR_LO equ 0x300
APIC_ICR_HI equ 0x310
APIC_LVT_TIMER equ 0x320
APIC_INITIAL   equ 0x380
APIC_CURRENT   equ 0x390
APIC_DCR       equ 0x3E0
IA32_APIC_BASE equ 0x1B
AP_BASE     equ 0x8000              ; 4 KiB-aligned page below 1 MiB: SIPI vector 0x08
AP_FLAG     equ 0x7F00              ; the AP stores 0x100 | its APIC ID here when its checks pass
IPI_COUNT   equ 0x7F04              ; fixed IPIs (vector 0x40) the BSP took
TIMER_COUNT equ 0x7F08              ; APIC timer interrupts (vector 0x41) the BSP took
IDT_BASE    equ 0xA000              ; 256 interrupt gates
APIC_EOI    equ 0x0B0

            bits 16
            org 0

; ---------------------------------------------------------------- BSP, real mode
start:
            cli
            cld
            xor ax, ax
            mov ss, ax
            mov sp, 0x7000
            mov ax, cs
            mov ds, ax

            ; COM1: 115200 8N1, FIFOs on
            COM1_115200_8N1
            mov dx, COM1 + 2
            mov al, 0x07
            out dx, al
            mov dx, COM1 + 4
            mov al, 0x03
            out dx, al

            lgdt [cs:gdt_descriptor]
            mov eax, cr0
            or eax, 1
            mov cr0, eax
            jmp dword 0x08:(ROMBASE + pm_entry)

            ; This GDT stays in ROM, so its accessed bits are preset: the CPU sets them on a
            ; segment load only where the memory "supports processor writes" (Intel SDM Vol. 3A
            ; 3.4.5.1), and under KVM a write to a read-only slot is retried forever.
            align 8
gdt:        dq 0
            dq 0x00CF9B000000FFFF               ; 0x08: code, base 0, 4 GiB, 32-bit, accessed
            dq 0x00CF93000000FFFF               ; 0x10: data, base 0, 4 GiB, accessed
gdt_end:
gdt_descriptor:
            dw gdt_end - gdt - 1
            dd ROMBASE + gdt

; ---------------------------------------------------------------- BSP, protected mode
            bits 32
pm_entry:
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, 0x7000

            mov esi, ROMBASE + msg_bsp
            call puts32
            mov eax, [LAPIC + APIC_ID]
            shr eax, 24
            call puthex8
            call crlf32
            mov eax, [LAPIC + APIC_ID]
            test eax, eax                       ; the BSP is APIC ID 0
            jnz fail

            ; IA32_APIC_BASE: base FEE00000, enabled (bit 11), BSP (bit 8) (Intel SDM Vol. 3A 11.4.4)
            mov ecx, IA32_APIC_BASE
            rdmsr
            cmp eax, 0xFEE00900
            jne fail

            ; Software-enable the APIC, spurious vector 0xFF.
            mov dword [LAPIC + APIC_SVR], 0x1FF

            ; IDT: interrupt gates for the IPI (0x40), the timer (0x41) and the spurious vector (0xFF).
            mov edi, IDT_BASE
            mov ecx, 512
            xor eax, eax
            rep stosd
            mov eax, ROMBASE + ipi_handler
            mov edi, IDT_BASE + 0x40 * 8
            call set_gate
            mov eax, ROMBASE + timer_handler
            mov edi, IDT_BASE + 0x41 * 8
            call set_gate
            mov eax, ROMBASE + spurious_handler
            mov edi, IDT_BASE + 0xFF * 8
            call set_gate
            lidt [ROMBASE + idt_descriptor]
            mov dword [IPI_COUNT], 0
            mov dword [TIMER_COUNT], 0

            ; The AP's startup code goes to AP_BASE.
            mov esi, ROMBASE + ap_start
            mov edi, AP_BASE
            mov ecx, ap_end - ap_start
            rep movsb
            mov dword [AP_FLAG], 0

            ; INIT, then two startup IPIs, to APIC ID 1 (Intel SDM Vol. 3A 9.4.4.1).
            mov dword [LAPIC + APIC_ICR_HI], 1 << 24
            mov dword [LAPIC + APIC_ICR_LO], 0x0000C500     ; INIT, level, assert
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00008500     ; INIT level de-assert
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00004600 | (AP_BASE >> 12)
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00004600 | (AP_BASE >> 12)

            ; Wait for the AP, with the APIC timer as the time limit: one-shot, masked, divide by
            ; 2, the largest count: about 8.6 s at emu's 1 GHz timer clock.
            mov dword [LAPIC + APIC_DCR], 0x0
            mov dword [LAPIC + APIC_LVT_TIMER], 0x10000
            mov dword [LAPIC + APIC_INITIAL], 0xFFFFFFFF
.wait:      mov eax, [AP_FLAG]
            test eax, eax
            jnz .reported
            cmp dword [LAPIC + APIC_CURRENT], 0
            jne .wait
            mov esi, ROMBASE + msg_timeout
            call puts32
            jmp fail

.reported:  cmp eax, 0x101                      ; 0x100 | APIC ID 1
            jne fail
            mov esi, ROMBASE + msg_bsp_done
            call puts32

            ; The AP sent a fixed IPI, vector 0x40, which waits in IRR until interrupts are enabled.
            sti
            mov ecx, 0x4000000
.ipi:       cmp dword [IPI_COUNT], 0
            jne .ipi_done
            dec ecx
            jnz .ipi
            jmp fail
.ipi_done:  mov esi, ROMBASE + msg_ipi
            call puts32

            ; Periodic APIC timer, vector 0x41, divide by 1, 1,000,000 counts (1 ms at 1 GHz).
            mov dword [LAPIC + APIC_DCR], 0xB
            mov dword [LAPIC + APIC_LVT_TIMER], 0x20041
            mov dword [LAPIC + APIC_INITIAL], 1000000
            mov ecx, 0x10000000
.tick:      cmp dword [TIMER_COUNT], 3
            jae .ticked
            dec ecx
            jnz .tick
            jmp fail
.ticked:    mov dword [LAPIC + APIC_LVT_TIMER], 0x10041     ; masked
            mov dword [LAPIC + APIC_INITIAL], 0
            cli
            mov esi, ROMBASE + msg_timer
            call puts32

            ; INIT puts the running (halted) AP back into wait-for-SIPI; a SIPI starts it again.
            mov dword [AP_FLAG], 0
            mov dword [LAPIC + APIC_ICR_LO], 0x0000C500
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00008500
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00004600 | (AP_BASE >> 12)
            mov ecx, 0x10000000
.again:     cmp dword [AP_FLAG], 0x101
            je .restarted
            dec ecx
            jnz .again
            jmp fail
.restarted: mov esi, ROMBASE + msg_restart
            call puts32
            mov dword [LAPIC + APIC_ESR], 0     ; latch the error status
            cmp dword [LAPIC + APIC_ESR], 0
            jne fail
            mov esi, ROMBASE + msg_pass
            call puts32
            mov al, 0
            out DEBUG_EXIT, al
.stop:      hlt
            jmp .stop

fail:
            mov esi, ROMBASE + msg_fail
            call puts32
            mov al, 1
            out DEBUG_EXIT, al
            jmp pm_entry.stop

ipi_handler:
            inc dword [IPI_COUNT]
            mov dword [LAPIC + APIC_EOI], 0
            iretd

timer_handler:
            inc dword [TIMER_COUNT]
            mov dword [LAPIC + APIC_EOI], 0
            iretd

delay:
            mov ecx, 100000
.spin:      loop .spin
            ret

crlf32:
            mov al, 13
            call putc32
            mov al, 10
            jmp putc32

; puthex8: print AL as two hex digits
puthex8:
            push eax
            shr al, 4
            call .nibble
            pop eax
.nibble:    and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .print
            add al, 'a' - '9' - 1
.print:     jmp putc32

%include "idt32.inc"
%include "puts32.inc"

msg_bsp:      db "BSP: running, local APIC ID ", 0
msg_ap:       db "AP: started by SIPI, local APIC ID ", 0
msg_bsp_done: db "BSP: the AP reported in", 13, 10, 0
msg_ipi:      db "BSP: fixed IPI from the AP taken", 13, 10, 0
msg_timer:    db "BSP: three periodic APIC timer interrupts taken", 13, 10, 0
msg_restart:  db "BSP: the AP restarted after INIT and SIPI", 13, 10, 0
msg_pass:     db "SMP PASS", 13, 10, 0
msg_fail:     db "SMP FAIL", 13, 10, 0
msg_timeout:  db "BSP: no word from the AP", 13, 10, 0

; ---------------------------------------------------------------- AP startup code (runs at AP_BASE)
            align 16
            bits 16
ap_start:
            cli
            cld
            mov ax, cs                          ; 0800 after SIPI vector 08
            mov ds, ax
            lgdt [ap_gdt_descriptor - ap_start]
            mov eax, cr0
            or eax, 1
            mov cr0, eax
            jmp dword 0x08:(AP_BASE + ap_pm - ap_start)

            align 8
ap_gdt:     dq 0
            dq 0x00CF9A000000FFFF
            dq 0x00CF92000000FFFF
ap_gdt_end:
ap_gdt_descriptor:
            dw ap_gdt_end - ap_gdt - 1
            dd AP_BASE + ap_gdt - ap_start

            bits 32
ap_pm:
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, 0x6000

            mov esi, ROMBASE + msg_ap
            mov ebx, ROMBASE + puts32
            call ebx
            mov eax, [LAPIC + APIC_ID]          ; this CPU's own APIC at the shared address
            shr eax, 24
            mov ebx, ROMBASE + puthex8
            call ebx
            mov ebx, ROMBASE + crlf32
            call ebx

            ; The APIC ID equals the initial APIC ID of CPUID leaf 1 (EBX bits 24-31).
            mov eax, 1
            cpuid
            shr ebx, 24
            mov eax, [LAPIC + APIC_ID]
            shr eax, 24
            cmp eax, ebx
            jne .bad
            ; IA32_APIC_BASE: enabled, not the BSP.
            mov ecx, IA32_APIC_BASE
            rdmsr
            cmp eax, 0xFEE00800
            jne .bad
            ; Enable this APIC and send the BSP (APIC ID 0) a fixed IPI, vector 0x40.
            mov dword [LAPIC + APIC_SVR], 0x1FF
            mov dword [LAPIC + APIC_ICR_HI], 0
            mov dword [LAPIC + APIC_ICR_LO], 0x00004040
            mov eax, [LAPIC + APIC_ID]
            shr eax, 24
            or eax, 0x100
            mov [AP_FLAG], eax
.halt:      cli
            hlt
            jmp .halt
.bad:       mov dword [AP_FLAG], 0xBAD
            jmp .halt
ap_end:

; ---------------------------------------------------------------- reset vector
            times 0xFFF0 - ($ - $$) db 0xFF
            bits 16
reset:      jmp 0xF000:start
            times 0x10000 - ($ - $$) db 0xFF
