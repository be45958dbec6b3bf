; emu sampling test guest: a Multiboot kernel (a.out kludge, as Roms/bench/multiboot_bench.inc, so
; `emu run --kernel` and `qemu-system-x86_64 -kernel` load it alike) that keeps a known duty cycle:
; the 8254 interrupts 20 times a second through the 8259A, and after each interrupt the CPU runs an
; ALU loop (32-bit flat code, which the software CPU translates) until the 8254's count says half
; the period has passed, then sleeps in HLT until the next interrupt. So it runs for half of the
; time and sleeps for the other half, whatever the host's speed, and it counts the interrupts it
; took. On a busy host the CPU wakes late from HLT, or reaches the HLT late, so the guest measures
; what it ran on the 8254, within bounds: at most from the interrupt's reload to its last look at
; the count before the HLT, at least from the count its interrupt handler reads first to that last
; look (the host may have held the CPU between its waking and that read). The time it slept is the
; rest of the periods. A profiler's samples at the instruction after the HLT must give a share
; between the two, and the interrupt count over a wall-clock interval is the 8254's rate, sampled
; or not.
;
; Build: nasm -f bin -o duty.bin duty.asm   (Roms/build.sh does this and checks the result)
;
; What the tests read, at fixed offsets from the load address (also the file offsets):
;   +32  dd  interrupts taken (IRQ 0)
;   +36  dd  ALU loop rounds run (the guest's progress)
;   +40  dd  the address of the instruction after the HLT (RIP while the CPU sleeps)
;   +44  dd  8254 clocks (1.193182 MHz) the guest ran at least, summed: from the handler's first read to the last look
;   +48  dd  8254 clocks the guest ran at most, summed: from the reload (PIT_COUNT) to the last look

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ (1 << 16)                ; the address fields below are valid (Multiboot 0.6.96 3.1.1)
LOAD_ADDR   equ 0x00100000
MASTER_BASE equ 0x20                    ; IRQ 0-7 -> vectors 20h-27h
SLAVE_BASE  equ 0x28                    ; IRQ 8-15 -> vectors 28h-2Fh
%include "pic8259.inc"
PIT_COUNT   equ 59659                   ; 1.193182 MHz / 59659 = 20.0 Hz
ROUND       equ 1000                    ; ALU loop iterations between two looks at the 8254
APIC_BASE   equ 0xFEE00000

            bits 32
            org LOAD_ADDR

header:     dd MB_MAGIC
            dd MB_FLAGS
            dd -(MB_MAGIC + MB_FLAGS)
            dd header
            dd LOAD_ADDR
            dd load_end
            dd bss_end
            dd start
interrupts: dd 0                        ; +32
rounds:     dd 0                        ; +36
            dd woke                     ; +40
ran:        dd 0                        ; +44
ran_most:   dd 0                        ; +48
woke_count: dd 0                        ; the count the interrupt handler read first

start:      cli
            ; Our own GDT: the Multiboot loader's CS is flat but its selector is not specified
            ; (Multiboot 0.6.96 3.2), and the IDT's gates name one.
            lgdt [gdt_descriptor]
            jmp 0x08:.flat
.flat:      mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, stack_top

            ; IDT: every vector to 'ignore' (a spurious IRQ 7 or 15, the APIC's spurious vector), vector 20h to irq0.
            mov edi, idt
            mov ecx, 256
.gate:      mov eax, ignore
            call set_gate
            add edi, 8
            loop .gate
            mov edi, idt + MASTER_BASE * 8
            mov eax, irq0
            call set_gate
            lidt [idt_descriptor]

            ; The 8259A reaches the CPU through the local APIC's LINT0 in virtual-wire mode (Intel MP spec
            ; 3.6.2.2), as PC firmware leaves it: LINT0 ExtINT, LINT1 NMI, the APIC software-enabled.
            mov dword [APIC_BASE + 0xF0], 0x1FF     ; SVR: APIC enabled, spurious vector FF
            mov dword [APIC_BASE + 0x350], 0x700    ; LVT LINT0: ExtINT
            mov dword [APIC_BASE + 0x360], 0x400    ; LVT LINT1: NMI

            PIC8259_INIT_IRQ0_ONLY

            ; 8254 counter 0: LSB then MSB, mode 2 (rate generator), binary. It counts down from
            ; PIT_COUNT and interrupts when it reloads (8254 datasheet, mode 2).
            mov al, 0x34
            out 0x43, al
            mov ax, PIT_COUNT
            out 0x40, al
            mov al, ah
            out 0x40, al
            sti

sleep:      hlt
woke:       ; an interrupt ended the HLT (the counter reloaded PIT_COUNT then): run until the count is
            ; below half, i.e. half a period has passed since the interrupt
            mov esi, [woke_count]       ; the count when the CPU woke
.round:     mov ecx, ROUND
.alu:       add eax, ecx
            xor edx, eax
            rol edx, 3
            dec ecx
            jnz .alu
            inc dword [rounds]
            call read_count
            cmp eax, PIT_COUNT / 2
            ja .round
            mov edx, PIT_COUNT
            sub edx, eax
            add [ran_most], edx         ; from the reload
            sub esi, eax                ; from the handler's read (none counted if it ran past a reload)
            jb sleep
            add [ran], esi
            jmp sleep

; read_count: EAX = counter 0's current count (counter latch command: SC = 00, RW = 00; then the
; latched count, LSB then MSB; 8254 datasheet, Read Operations)
read_count: xor eax, eax
            out 0x43, al
            in al, 0x40
            mov ah, al
            in al, 0x40
            xchg al, ah
            ret

; IRQ 0: read the count first, count the interrupt, then a non-specific EOI to the master (OCW2 0x20).
irq0:       push eax
            call read_count
            mov [woke_count], eax
            inc dword [interrupts]
            mov al, 0x20
            out 0x20, al
            pop eax
            iretd

ignore:     iretd

; set_gate: a 32-bit interrupt gate at EDI for the handler at EAX, code selector 0x08
set_gate:   mov [edi], ax
            mov word [edi + 2], 0x08
            mov word [edi + 4], 0x8E00
            shr eax, 16
            mov [edi + 6], ax
            ret

            align 8
gdt:        dq 0
            dq 0x00CF9A000000FFFF       ; 08: flat 32-bit code
            dq 0x00CF92000000FFFF       ; 10: flat data
gdt_descriptor:
            dw 3 * 8 - 1
            dd gdt

idt_descriptor:
            dw 256 * 8 - 1
            dd idt
load_end:

absolute load_end                       ; not in the file: the loader clears it (bss_end)
            alignb 16
idt:        resb 256 * 8
            resb 4096
stack_top:
bss_end:
