; emu platform test firmware: the 8254's IRQ 0 through the I/O APIC, the way an ACPI operating
; system takes the timer. The 8259A pair is fully masked; I/O APIC input 2 (the MADT's interrupt
; source override for ISA IRQ 0, ACPI 6.5 5.2.12.5) is vector 0x30, input 0 is vector 0x31 and must
; stay silent. The CPU sleeps in HLT until 20 timer interrupts have arrived, prints PASS or FAIL over
; COM1 and leaves through the debug-exit port: 0 (emu exits 1) on success, 1 (emu exits 3) otherwise.
;
; Build: nasm -f bin -o ioapic_pit.bin ioapic_pit.asm   (Roms/build.sh does this and checks the result)
;
; The image is mapped at FFFF0000-FFFFFFFF and at F0000-FFFFF. Real-mode code runs in segment F000
; and flat 32-bit code at ROMBASE + label.

ROMBASE     equ 0xF0000
COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
LAPIC       equ 0xFEE00000          ; local APIC registers (Intel SDM Vol. 3A Table 11-1)
APIC_SVR    equ 0x0F0
APIC_EOI    equ 0x0B0
IOAPIC      equ 0xFEC00000          ; IOREGSEL at +0, IOWIN at +0x10 (82093AA datasheet 3.1)
IRQ_COUNT   equ 20
PIT_COUNT   equ 1193                ; 1.193182 MHz / 1193 = 1000.2 Hz
TICKS       equ 0x7F00              ; timer interrupts taken at vector 0x30 (input 2)
WRONG_PIN   equ 0x7F04              ; interrupts taken at vector 0x31 (input 0)
IDT_BASE    equ 0xA000              ; 256 interrupt gates

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

            ; 8259A pair initialized to vectors 20h-2Fh, then every input masked (OCW1).
            mov al, 0x11
            out 0x20, al
            out 0xA0, al
            mov al, 0x20
            out 0x21, al
            mov al, 0x28
            out 0xA1, al
            mov al, 0x04
            out 0x21, al
            mov al, 0x02
            out 0xA1, al
            mov al, 0x01
            out 0x21, al
            out 0xA1, al
            mov al, 0xFF
            out 0x21, al
            out 0xA1, al

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

            mov edi, IDT_BASE
            mov ecx, 512
            xor eax, eax
            rep stosd
            mov eax, ROMBASE + timer_handler
            mov edi, IDT_BASE + 0x30 * 8
            call set_gate
            mov eax, ROMBASE + wrong_pin_handler
            mov edi, IDT_BASE + 0x31 * 8
            call set_gate
            mov eax, ROMBASE + spurious_handler
            mov edi, IDT_BASE + 0xFF * 8
            call set_gate
            lidt [ROMBASE + idt_descriptor]
            mov dword [TICKS], 0
            mov dword [WRONG_PIN], 0

            ; Software-enable the local APIC, spurious vector 0xFF.
            mov dword [LAPIC + APIC_SVR], 0x1FF

            ; Redirection entries (registers 10h + 2n, 11h + 2n): fixed, physical, edge, active
            ; high, unmasked, to APIC ID 0.
            mov dword [IOAPIC], 0x11 + 2 * 2
            mov dword [IOAPIC + 0x10], 0
            mov dword [IOAPIC], 0x10 + 2 * 2
            mov dword [IOAPIC + 0x10], 0x30
            mov dword [IOAPIC], 0x11
            mov dword [IOAPIC + 0x10], 0
            mov dword [IOAPIC], 0x10
            mov dword [IOAPIC + 0x10], 0x31

            ; 8254 counter 0: LSB then MSB, mode 2 (rate generator), binary
            mov al, 0x34
            out 0x43, al
            mov ax, PIT_COUNT
            out 0x40, al
            mov al, ah
            out 0x40, al

            sti
.sleep:     hlt
            cmp dword [WRONG_PIN], 0
            jne .wrong
            cmp dword [TICKS], IRQ_COUNT
            jb .sleep
            cli

            mov esi, ROMBASE + msg_pass
            call puts32
            mov al, 0
            out DEBUG_EXIT, al
.stop:      hlt
            jmp .stop

.wrong:     cli
            mov esi, ROMBASE + msg_wrong
            call puts32
            mov al, 1
            out DEBUG_EXIT, al
            jmp .stop

timer_handler:
            inc dword [TICKS]
            mov dword [LAPIC + APIC_EOI], 0
            iretd

wrong_pin_handler:
            inc dword [WRONG_PIN]
            mov dword [LAPIC + APIC_EOI], 0
            iretd

%include "idt32.inc"
%include "puts32.inc"

msg_pass:   db "ioapic_pit: 20 timer interrupts through I/O APIC input 2, HLT between them", 13, 10, "PASS", 13, 10, 0
msg_wrong:  db "FAIL: the timer arrived at I/O APIC input 0; ISA IRQ 0 is input 2 (MADT source override)", 13, 10, 0

            times 0xFFF0 - ($ - $$) db 0xFF
            bits 16
reset:      jmp 0xF000:start
            times 0x10000 - ($ - $$) db 0xFF
