; Double-fault and triple-fault test ROM (Intel SDM Vol. 3A 6.15, interrupt 8, Table 6-5):
; a contributory fault while delivering a contributory fault is #DF with error code 0; a
; contributory fault while delivering a benign one is delivered on its own (with the IDT error
; code and its EXT bit, 6.13); a page fault while delivering a page fault is #DF, here through a
; task gate so the handler gets a fresh stack (8.3: NT, back link, busy bits, CR0.TS); and a fault
; while delivering #DF shuts the processor down, which resets the PC. The ROM then starts again at
; the reset vector, finds the mark it left in RAM and reports the reset.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/doublefault.bin (exit status 1 = all
; passed); with --no-reboot emu exits with status 0 at the triple fault instead.

%include "lib.inc"

PD32        equ PAGE_TABLES
PT32        equ PAGE_TABLES + 0x1000
%define PTE32(a) (PT32 + ((a) >> 12) * 4)
RESET_MARK  equ 0x0700                  ; outside VARS, which the frame clears
MARK        equ 0x4c504952              ; "TRPL"
SEL_DFTSS   equ SEL_SPARE               ; the #DF task's TSS
DF_STACK    equ STACKS + 0x1000
BAD_STACK   equ 0x300000                ; the page below it is not present

            section pm
            bits 32
main:
            cmp dword [RESET_MARK], MARK
            je after_reset

            mov eax, STACK_TOP
            call tss32_install

            ; #GP whose gate is not present: #NP while delivering a contributory fault -> #DF.
            mov byte [IDT_BASE + 13 * 8 + 5], 0x0e
            EXPECT_FAULT .r1
            mov ax, 0x1234
            mov ds, ax
.r1:        CHECK "#NP while delivering #GP: #DF", [fault_vec], 8
            CHECK "#DF: error code 0", [fault_err], 0
            mov byte [IDT_BASE + 13 * 8 + 5], 0x8e

            ; INT3 (benign, software) whose gate is not present: #NP delivered on its own, EXT = 0.
            mov byte [IDT_BASE + 3 * 8 + 5], 0x0e
            EXPECT_FAULT .r2
            int3
.r2:        CHECK "#NP while delivering INT3: handled serially as #NP", [fault_vec], 11
            CHECK "#NP for INT3: error code names IDT entry 3, EXT clear", [fault_err], 3 * 8 + 2
            mov byte [IDT_BASE + 3 * 8 + 5], 0x8e

            ; #UD (benign, raised by the processor) whose gate is not present: EXT = 1.
            mov byte [IDT_BASE + 6 * 8 + 5], 0x0e
            EXPECT_FAULT .r3
            ud2
.r3:        CHECK "#NP while delivering #UD: handled serially as #NP", [fault_vec], 11
            CHECK "#NP for #UD: error code names IDT entry 6, EXT set", [fault_err], 6 * 8 + 2 + 1
            mov byte [IDT_BASE + 6 * 8 + 5], 0x8e

            ; A #PF whose delivery page-faults: #DF through a task gate to a task with its own stack.
            mov edi, TSS2_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS2_BASE + 28], PD32                        ; CR3
            mov dword [TSS2_BASE + 32], df_task                     ; EIP
            mov dword [TSS2_BASE + 36], 2                           ; EFLAGS
            mov dword [TSS2_BASE + 56], DF_STACK                    ; ESP
            mov dword [TSS2_BASE + 72], SEL_DATA                    ; ES
            mov dword [TSS2_BASE + 76], SEL_CODE32                  ; CS
            mov dword [TSS2_BASE + 80], SEL_DATA                    ; SS
            mov dword [TSS2_BASE + 84], SEL_DATA                    ; DS
            mov word [TSS2_BASE + 0x66], 0x68
            mov eax, TSS2_BASE
            mov edx, 0x67
            mov ebx, SEL_DFTSS
            mov ecx, 0x89
            call set_descriptor
            mov word [IDT_BASE + 8 * 8], 0                          ; task gate: TSS selector, type 5
            mov word [IDT_BASE + 8 * 8 + 2], SEL_DFTSS
            mov word [IDT_BASE + 8 * 8 + 4], 0x8500
            mov word [IDT_BASE + 8 * 8 + 6], 0

            mov edi, PD32
            mov edx, 3
            call pg32_identity
            mov dword [PTE32(BAD_STACK - 0x1000)], 0
            mov dword [PTE32(0x301000)], 0
            mov eax, PD32
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax

            mov esp, BAD_STACK
.f4:        mov eax, [0x301000]
            ; not reached: the #DF task takes over
            jmp finish32

df_task:
            mov esp, DF_STACK - 4
            CHECK "#PF while delivering #PF: #DF through the task gate", [esp], 0
            mov eax, cr2
            CHECK "CR2 is the address of the second page fault (the push)", eax, BAD_STACK - 4
            str ax
            movzx eax, ax
            CHECK "task gate: TR is the #DF task's TSS", eax, SEL_DFTSS
            CHECKW "task switch: back link is the interrupted task", [TSS2_BASE], SEL_TSS
            pushfd
            pop eax
            and eax, 0x4000
            CHECK "task switch through a gate sets NT", eax, 0x4000
            mov eax, cr0
            and eax, 8
            CHECK "task switch sets CR0.TS", eax, 8
            movzx eax, byte [GDT_BASE + SEL_TSS + 5]
            and eax, 0x0f
            CHECK "interrupted task stays busy (nested)", eax, 0xb
            movzx eax, byte [GDT_BASE + SEL_DFTSS + 5]
            and eax, 0x0f
            CHECK "#DF task is busy", eax, 0xb
            mov eax, [TSS_BASE + 56]
            CHECK "interrupted task's ESP saved in its TSS", eax, BAD_STACK

            ; Triple fault: a fault while delivering #DF. With an IDT limit of 0, #UD cannot be
            ; delivered (#GP), the #GP cannot (#DF), and the #DF cannot: shutdown, then a reset.
            mov dword [RESET_MARK], MARK
            mov eax, [checks]
            mov [RESET_MARK + 4], eax
            mov eax, [failures]
            mov [RESET_MARK + 8], eax
            lidt [empty_idtr]
            ud2
            jmp finish32

empty_idtr: dw 0
            dd 0

after_reset:
            mov dword [RESET_MARK], 0
            mov eax, [RESET_MARK + 4]           ; the counts from before the reset
            mov [checks], eax
            mov eax, [RESET_MARK + 8]
            mov [failures], eax
            CHECK "triple fault reset the machine (the ROM ran again from the reset vector)", 1, 1
            jmp finish32
