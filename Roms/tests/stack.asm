; Stack test ROM: PUSH/POP of segment registers, general registers and memory with 16- and 32-bit
; operand sizes on 32-bit (SS.B = 1) and 16-bit (SS.B = 0) stacks, PUSH/POP with ESP in the
; operand, PUSHA/POPA, ENTER with nesting levels 0-3 and 32 (taken modulo 32), LEAVE, and BOUND.
;
; From the Intel SDM Vol. 2B PUSH/POP/ENTER/LEAVE and Vol. 2A BOUND:
; - the operand size decides how far the stack pointer moves (2 or 4), the stack-address size
;   (SS.B) whether SP or ESP moves; on a 16-bit stack the upper half of ESP is left alone;
; - PUSH of a segment register with a 32-bit operand size moves the stack pointer by 4 and writes
;   the selector with a 16-bit move, leaving the upper word of the slot unmodified: "either a
;   zero-extended value is pushed on the stack or the segment selector is written on the stack using
;   a 16-bit move. For the last case, all recent Core and Atom processors perform a 16-bit move".
;   The 80386 and 80486 do the same (measured on real hardware by the authors of CPU testers), so
;   the 16-bit move is what every Intel processor this ROM could meet does; emu follows it.
; - POP of a segment register with a 32-bit operand size reads 4 bytes and loads the low word;
; - PUSH ESP pushes the value before the push; POP ESP loads the popped value; POP [ESP+d]
;   computes the address after ESP was incremented;
; - ENTER imm16, imm8: push eBP; FrameTemp = eSP; for i = 1 .. level-1: eBP -= size, push [eBP];
;   if level > 0 push FrameTemp; eBP = FrameTemp; eSP -= imm16; the level is taken modulo 32;
; - BOUND r, m: #BR (vector 5, a fault: EIP at BOUND) when the signed index is below the lower or
;   above the upper bound, both inclusive;
; - POP SS that loads an SS of the other size moves SP or ESP as the old SS.B says (POP,
;   Operation: the stack-address size is that of the stack the selector is popped from).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/stack.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_STACK16 equ SEL_SPARE               ; 0x48: 16-bit data segment (B = 0), base S16BASE, limit 0xffff
SEL_VALUE   equ SEL_SPARE + 8           ; 0x50: a flat data segment used as a value to pop
SEL_SMALL32 equ SEL_SPARE + 16          ; 0x58: 32-bit data segment (B = 1), base 0x40000, limit 0xfff
S16BASE     equ 0x30000
FLAT_SP     equ 0x9000                  ; ESP for the 32-bit stack tests
r_a         equ scratch + 0x00
r_b         equ scratch + 0x04
r_c         equ scratch + 0x08
r_d         equ scratch + 0x0c
r_e         equ scratch + 0x10
r_f         equ scratch + 0x14
saved_esp   equ scratch + 0x20

; Run the stack tests on the 16-bit stack: SS = SEL_STACK16, ESP = 0x12340000 (so SP = 0 and the
; upper half is not 0); RESTORE_STACK goes back to the flat ring-0 stack.
%macro STACK16 0
            mov [saved_esp], esp
            mov ax, SEL_STACK16
            mov ss, ax
            mov esp, 0x12340000
%endmacro

%macro RESTORE_STACK 0
            mov ax, SEL_DATA
            mov ss, ax
            mov esp, [saved_esp]
%endmacro

; SREG32 sreg, name: PUSH/POP sreg with both operand sizes on the flat 32-bit stack.
%macro SREG32 2
            mov [saved_esp], esp
            mov esp, FLAT_SP
            mov dword [FLAT_SP - 4], 0xdeadbeef
            o32 push %1
            mov [r_a], esp
            mov eax, [FLAT_SP - 4]
            mov [r_b], eax
            mov dword [FLAT_SP - 4], 0x5555_0000 | SEL_VALUE
%ifnidni %1, cs
%ifidni %1, ss
            mov dword [FLAT_SP - 4], 0x5555_0000 | SEL_DATA
%endif
            o32 pop %1
            mov [r_c], esp
            mov ax, %1
            movzx eax, ax
            mov [r_d], eax
%else
            mov esp, FLAT_SP
            mov dword [r_c], FLAT_SP
            mov dword [r_d], SEL_VALUE
%endif
            mov esp, FLAT_SP
            mov dword [FLAT_SP - 4], 0xdeadbeef
            o16 push %1
            mov [r_e], esp
            mov eax, [FLAT_SP - 4]
            mov [r_f], eax
            mov esp, [saved_esp]
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            mov fs, ax
            mov gs, ax
            mov ss, ax
            CHECKN %2, " o32 push: ESP", [r_a], FLAT_SP - 4
%ifidni %1, cs
            CHECKN %2, " o32 push: 16-bit move, upper word kept", [r_b], 0xdead0000 | SEL_CODE32
%elifidni %1, ss
            CHECKN %2, " o32 push: 16-bit move, upper word kept", [r_b], 0xdead0000 | SEL_DATA
%else
            CHECKN %2, " o32 push: 16-bit move, upper word kept", [r_b], 0xdead0000 | SEL_DATA
%endif
%ifnidni %1, cs
            CHECKN %2, " o32 pop: ESP", [r_c], FLAT_SP
%ifidni %1, ss
            CHECKN %2, " o32 pop: low word loaded", [r_d], SEL_DATA
%else
            CHECKN %2, " o32 pop: low word loaded", [r_d], SEL_VALUE
%endif
%endif
            CHECKN %2, " o16 push: ESP", [r_e], FLAT_SP - 2
%ifidni %1, cs
            CHECKN %2, " o16 push: one word", [r_f], (SEL_CODE32 << 16) | 0xbeef
%elifidni %1, ss
            CHECKN %2, " o16 push: one word", [r_f], (SEL_DATA << 16) | 0xbeef
%else
            CHECKN %2, " o16 push: one word (the popped selector)", [r_f], (SEL_VALUE << 16) | 0xbeef
%endif
%endmacro

; SREG16 sreg, name: the same on the 16-bit stack (SP wraps from 0 to 0xfffc / 0xfffe).
%macro SREG16 2
            mov dword [S16BASE + 0xfffc], 0xdeadbeef
            STACK16
            o32 push %1
            mov [r_a], esp
            mov dword [ss:0xfffc], 0x5555_0000 | SEL_VALUE
%ifnidni %1, cs
            o32 pop %1
            mov [r_c], esp
            mov ax, %1
            movzx eax, ax
            mov [r_d], eax
            mov ax, SEL_DATA
            mov %1, ax
%endif
            mov esp, 0x12340000
            o16 push %1
            mov [r_e], esp
            RESTORE_STACK
            mov eax, [S16BASE + 0xfffc]
            mov [r_b], eax
            CHECKN %2, " o32 push, 16-bit stack: ESP", [r_a], 0x1234fffc
%ifnidni %1, cs
            CHECKN %2, " o32 pop, 16-bit stack: ESP", [r_c], 0x12340000
            CHECKN %2, " o32 pop, 16-bit stack: low word loaded", [r_d], SEL_VALUE
%endif
            CHECKN %2, " o16 push, 16-bit stack: ESP", [r_e], 0x1234fffe
%ifidni %1, cs
            CHECKN %2, " o16 push, 16-bit stack: the word at SP", [r_b], (SEL_CODE32 << 16) | SEL_VALUE
%else
            CHECKN %2, " o16 push, 16-bit stack: the word at SP", [r_b], (SEL_DATA << 16) | SEL_VALUE
%endif
%endmacro

            section pm
            bits 32
main:
            mov eax, S16BASE
            mov edx, 0xffff
            mov ebx, SEL_STACK16
            mov ecx, 0x93                   ; present, DPL 0, data read/write, accessed; G = 0, B = 0
            call set_descriptor
            xor eax, eax
            mov edx, 0xfffff
            mov ebx, SEL_VALUE
            mov ecx, 0x93
            call set_descriptor
            mov eax, 0x40000
            mov edx, 0xfff
            mov ebx, SEL_SMALL32
            mov ecx, 0x93
            call set_descriptor
            or byte [GDT_BASE + SEL_SMALL32 + 6], 0x40      ; B = 1

            ; ---- segment registers, 32-bit stack
            SREG32 ds, "PUSH/POP DS"
            SREG32 es, "PUSH/POP ES"
            SREG32 fs, "PUSH/POP FS"
            SREG32 gs, "PUSH/POP GS"
            SREG32 ss, "PUSH/POP SS"
            SREG32 cs, "PUSH CS"

            ; ---- segment registers, 16-bit stack
            SREG16 ds, "PUSH/POP DS"
            SREG16 es, "PUSH/POP ES"
            SREG16 fs, "PUSH/POP FS"
            SREG16 gs, "PUSH/POP GS"
            SREG16 cs, "PUSH CS"

            ; ---- POP SS that changes the stack's size: SP or ESP moves as the old SS.B says
            ; (Vol. 2B POP, Operation: StackAddrSize is that of the stack the value is popped from).
            mov dword [S16BASE + 0xfffc], SEL_DATA
            STACK16
            mov esp, 0x1234fffc
            o32 pop ss                      ; 16-bit stack -> flat 32-bit SS
            mov [r_a], esp
            RESTORE_STACK
            mov word [S16BASE + 0xfffe], SEL_DATA
            STACK16
            mov esp, 0x1234fffe
            o16 pop ss
            mov [r_b], esp
            RESTORE_STACK
            mov [saved_esp], esp
            mov dword [0x2fffc], SEL_STACK16
            mov esp, 0x2fffc
            o32 pop ss                      ; flat 32-bit stack -> 16-bit SS
            mov [r_c], esp
            RESTORE_STACK
            mov [saved_esp], esp
            mov word [0x2fffe], SEL_STACK16
            mov esp, 0x2fffe
            o16 pop ss
            mov [r_d], esp
            RESTORE_STACK
            CHECK "o32 POP SS from a 16-bit stack to a 32-bit SS: SP wraps, ESP[31:16] kept", [r_a], 0x12340000
            CHECK "o16 POP SS from a 16-bit stack to a 32-bit SS: SP wraps, ESP[31:16] kept", [r_b], 0x12340000
            CHECK "o32 POP SS from a 32-bit stack to a 16-bit SS: ESP + 4", [r_c], 0x30000
            CHECK "o16 POP SS from a 32-bit stack to a 16-bit SS: ESP + 2", [r_d], 0x30000

            ; ---- general registers and memory on the 16-bit stack
            mov dword [S16BASE + 0xfffc], 0xdeadbeef
            STACK16
            mov ebx, 0x11223344
            push ebx                        ; 32-bit push to SS:0xfffc
            mov [r_a], esp
            mov ecx, [ss:0xfffc]
            mov [r_b], ecx
            pop edx
            mov [r_c], esp
            mov [r_d], edx
            o16 push bx                     ; SP = 0xfffe
            mov [r_e], esp
            mov dword [DATA], 0xcafef00d
            push dword [DATA]               ; SP = 0xfffa
            mov eax, [ss:0xfffa]
            mov [r_f], eax
            RESTORE_STACK
            CHECK "PUSH r32, 16-bit stack: ESP", [r_a], 0x1234fffc
            CHECK "PUSH r32, 16-bit stack: the dword", [r_b], 0x11223344
            CHECK "POP r32, 16-bit stack: ESP", [r_c], 0x12340000
            CHECK "POP r32, 16-bit stack: value", [r_d], 0x11223344
            CHECK "PUSH r16, 16-bit stack: ESP", [r_e], 0x1234fffe
            CHECK "PUSH m32, 16-bit stack: value", [r_f], 0xcafef00d

            ; ---- ESP as an operand (flat stack)
            mov [saved_esp], esp
            mov esp, FLAT_SP
            push esp                        ; pushes FLAT_SP
            mov eax, [FLAT_SP - 4]
            mov [r_a], eax
            mov dword [FLAT_SP - 4], 0x7000
            pop esp                         ; ESP = 0x7000
            mov [r_b], esp
            mov esp, FLAT_SP
            mov dword [FLAT_SP], 0xaaaaaaaa
            mov dword [FLAT_SP + 4], 0xbbbbbbbb
            push dword 0x12345678
            pop dword [esp]                 ; address computed after ESP += 4: stores at FLAT_SP
            mov eax, [FLAT_SP]
            mov [r_c], eax
            mov [r_d], esp
            push dword [esp]                ; reads [FLAT_SP] (ESP before the push)
            mov eax, [FLAT_SP - 4]
            mov [r_e], eax
            mov esp, [saved_esp]
            CHECK "PUSH ESP pushes the old ESP", [r_a], FLAT_SP
            CHECK "POP ESP loads the popped value", [r_b], 0x7000
            CHECK "POP [ESP] stores after ESP was incremented", [r_c], 0x12345678
            CHECK "POP [ESP]: ESP", [r_d], FLAT_SP
            CHECK "PUSH [ESP] reads before the decrement", [r_e], 0x12345678

            ; ---- PUSHA/POPA: the ESP image is the value before PUSHA; POPA skips it
            mov [saved_esp], esp
            mov esp, FLAT_SP
            mov eax, 1
            mov ecx, 2
            mov edx, 3
            mov ebx, 4
            mov ebp, 6
            mov esi, 7
            mov edi, 8
            pushad
            mov eax, [FLAT_SP - 20]         ; order EAX ECX EDX EBX ESP EBP ESI EDI
            mov [r_a], eax
            mov dword [FLAT_SP - 20], 0x5555
            mov dword [FLAT_SP - 4], 0x11   ; EAX image
            popad
            mov [r_b], esp
            mov [r_c], eax
            mov [r_d], edi
            mov esp, [saved_esp]
            CHECK "PUSHAD stores the ESP before it", [r_a], FLAT_SP
            CHECK "POPAD leaves ESP alone", [r_b], FLAT_SP
            CHECK "POPAD loads EAX", [r_c], 0x11
            CHECK "POPAD loads EDI", [r_d], 8

            ; ---- ENTER / LEAVE, 32-bit, flat stack
            mov [saved_esp], esp
            mov esp, FLAT_SP
            mov ebp, 0x8800                 ; an outer frame: its display at 0x8800 - 4k
            mov dword [0x8800 - 4], 0xa1
            mov dword [0x8800 - 8], 0xa2
            mov dword [0x8800 - 12], 0xa3
            enter 0x20, 0
            mov [r_a], ebp
            mov [r_b], esp
            leave
            mov [r_c], esp
            mov [r_d], ebp
            mov esp, [saved_esp]
            CHECK "ENTER 0x20, 0: EBP = ESP after pushing EBP", [r_a], FLAT_SP - 4
            CHECK "ENTER 0x20, 0: ESP", [r_b], FLAT_SP - 4 - 0x20
            CHECK "LEAVE: ESP", [r_c], FLAT_SP
            CHECK "LEAVE: EBP", [r_d], 0x8800

            mov [saved_esp], esp
            mov esp, FLAT_SP
            mov ebp, 0x8800
            enter 8, 3                      ; push EBP; push [EBP-4], [EBP-8]; push FrameTemp
            mov [r_a], ebp
            mov [r_b], esp
            mov eax, [FLAT_SP - 8]
            mov [r_c], eax
            mov eax, [FLAT_SP - 12]
            mov [r_d], eax
            mov eax, [FLAT_SP - 16]
            mov [r_e], eax
            mov eax, [FLAT_SP - 4]
            mov [r_f], eax
            mov esp, [saved_esp]
            CHECK "ENTER 8, 3: EBP = FrameTemp", [r_a], FLAT_SP - 4
            CHECK "ENTER 8, 3: ESP", [r_b], FLAT_SP - 16 - 8
            CHECK "ENTER 8, 3: first display entry [EBP-4]", [r_c], 0xa1
            CHECK "ENTER 8, 3: second display entry [EBP-8]", [r_d], 0xa2
            CHECK "ENTER 8, 3: FrameTemp pushed last", [r_e], FLAT_SP - 4
            CHECK "ENTER 8, 3: old EBP pushed first", [r_f], 0x8800

            mov [saved_esp], esp
            mov esp, FLAT_SP
            mov ebp, 0x8800
            enter 4, 1                      ; level 1: push EBP, push FrameTemp
            mov [r_a], esp
            mov eax, [FLAT_SP - 8]
            mov [r_b], eax
            mov esp, FLAT_SP
            mov ebp, 0x8800
            enter 4, 33                     ; 33 mod 32 = 1
            mov [r_c], esp
            mov esp, FLAT_SP
            mov ebp, 0x8800
            enter 4, 32                     ; 32 mod 32 = 0
            mov [r_d], esp
            mov esp, [saved_esp]
            CHECK "ENTER 4, 1: ESP", [r_a], FLAT_SP - 8 - 4
            CHECK "ENTER 4, 1: FrameTemp", [r_b], FLAT_SP - 4
            CHECK "ENTER 4, 33 is level 1", [r_c], FLAT_SP - 8 - 4
            CHECK "ENTER 4, 32 is level 0", [r_d], FLAT_SP - 4 - 4

            ; ---- ENTER / LEAVE, 16-bit operand size on the 16-bit stack
            mov dword [S16BASE + 0x7ffc], 0x00b200b1 ; display words at BP-2, BP-4 for BP = 0x8000
            STACK16
            mov esp, 0x12349000
            mov ebp, 0x56788000
            o16 enter 6, 3                  ; push BP; push [BP-2], [BP-4]; push FrameTemp
            mov [r_a], ebp
            mov [r_b], esp
            movzx eax, word [ss:0x9000 - 4]
            mov [r_c], eax
            movzx eax, word [ss:0x9000 - 6]
            mov [r_d], eax
            movzx eax, word [ss:0x9000 - 8]
            mov [r_e], eax
            o16 leave
            mov [r_f], esp
            mov [scratch + 0x18], ebp
            RESTORE_STACK
            CHECK "o16 ENTER 6, 3, 16-bit stack: BP = FrameTemp, EBP[31:16] kept", [r_a], 0x56788ffe
            CHECK "o16 ENTER 6, 3, 16-bit stack: SP", [r_b], 0x12348ff8 - 6
            CHECK "o16 ENTER 6, 3: [BP-2]", [r_c], 0xb2
            CHECK "o16 ENTER 6, 3: [BP-4]", [r_d], 0xb1
            CHECK "o16 ENTER 6, 3: FrameTemp", [r_e], 0x8ffe
            CHECK "o16 LEAVE: SP = BP + 2", [r_f], 0x12349000
            CHECK "o16 LEAVE: BP popped, EBP[31:16] kept", [scratch + 0x18], 0x56788000

            ; ---- o32 ENTER on the 16-bit stack: FrameTemp is ESP, not SP (Vol. 2A ENTER,
            ; Operation: "IF OperandSize = 32 THEN Push(EBP); FrameTemp <- ESP"), so EBP gets
            ; ESP[31:16] as well; the display entries are read at BP - 4 ("ELSE (* StackSize = 16 *)
            ; BP <- BP - 4; Push([BP])"); the pushes and the allocation move SP alone.
            mov dword [S16BASE + 0x9ffc], 0xd15b1a77
            STACK16
            mov ebp, 0x5678a000
            enter 8, 2                      ; o32: push EBP; push [BP-4]; push FrameTemp
            mov [r_a], ebp
            mov [r_b], esp
            mov eax, [ss:0xfffc]
            mov [r_c], eax
            mov eax, [ss:0xfff8]
            mov [r_d], eax
            mov eax, [ss:0xfff4]
            mov [r_e], eax
            RESTORE_STACK
            CHECK "o32 ENTER 8, 2, 16-bit stack: EBP = FrameTemp = ESP, bits 31:16 too", [r_a], 0x1234fffc
            CHECK "o32 ENTER 8, 2, 16-bit stack: ESP (SP moved, ESP[31:16] kept)", [r_b], 0x1234ffec
            CHECK "o32 ENTER 8, 2, 16-bit stack: old EBP at SP = FFFC", [r_c], 0x5678a000
            CHECK "o32 ENTER 8, 2, 16-bit stack: display dword from [BP - 4]", [r_d], 0xd15b1a77
            CHECK "o32 ENTER 8, 2, 16-bit stack: FrameTemp pushed", [r_e], 0x1234fffc

            ; ---- ENTER whose new ESP is past SS's limit: #SS(0) before anything changes
            ; (Vol. 2A ENTER, Protected Mode Exceptions: "#SS(0) If the new value of the SP or ESP
            ; register is outside the stack segment limit"; Vol. 3A 6.5: a fault is restartable).
            mov [saved_esp], esp
            mov ax, SEL_SMALL32
            mov ss, ax
            mov esp, 0x800
            mov ebp, 0x11112222
            EXPECT_FAULT .ess
.enter_ss:  enter 0x1000, 0                 ; EBP fits at 0x7FC; ESP would become 0xFFFFF7FC
.ess:       mov [r_a], esp
            mov [r_b], ebp
            RESTORE_STACK
            CHECK "ENTER with the new ESP past SS's limit: #SS", [fault_vec], 12
            CHECK "ENTER #SS: error code 0", [fault_err], 0
            CHECK "ENTER #SS: saved EIP is the ENTER", [fault_ip], .enter_ss
            CHECK "ENTER #SS: ESP unchanged", [r_a], 0x800
            CHECK "ENTER #SS: EBP unchanged", [r_b], 0x11112222

            ; ---- POP to a destination that faults (a write through CS is #GP(0), Vol. 3A 5.5):
            ; ESP is left as it was (Vol. 3A 6.5)
            push dword 0x1234
            mov [r_a], esp
            EXPECT_FAULT .popm
            pop dword [cs:DATA]
.popm:      mov [r_b], esp
            add esp, 4
            CHECK "POP m through CS: #GP", [fault_vec], 13
            CHECK "POP m #GP: ESP unchanged", [r_b], [r_a]

            ; ---- PUSHAD/POPAD whose block crosses SS's limit: #SS(0) with nothing changed
            ; (Vol. 2B PUSHA/POPA: "#SS(0) If the starting or ending stack address is outside the
            ; stack segment limit").
            mov [saved_esp], esp
            mov ax, SEL_SMALL32
            mov ss, ax
            mov esp, 0xff0
            mov edi, 0x0d0d0d0d
            mov ebp, 0x0b0b0b0b
            mov eax, 0x0a0a0a0a
            EXPECT_FAULT .pss
.popad_ss:  popad                           ; 32 bytes from 0xFF0: the last 16 past the limit
.pss:       mov [r_a], esp
            mov [r_b], edi
            mov [r_c], ebp
            mov [r_d], eax
            mov esp, 0x1c                   ; room for the #SS frame and the handler's pushes
            EXPECT_FAULT .pss2
.pushad_ss: pushad                          ; the eighth dword would go below offset 0
.pss2:      mov [r_e], esp
            RESTORE_STACK
            CHECK "POPAD past SS's limit: #SS", [fault_vec + 0], 12
            CHECK "POPAD #SS: ESP unchanged", [r_a], 0xff0
            CHECK "POPAD #SS: EDI (popped first) unchanged", [r_b], 0x0d0d0d0d
            CHECK "POPAD #SS: EBP unchanged", [r_c], 0x0b0b0b0b
            CHECK "POPAD #SS: EAX unchanged", [r_d], 0x0a0a0a0a
            CHECK "PUSHAD past SS's limit: #SS, EIP at PUSHAD", [fault_ip], .pushad_ss
            CHECK "PUSHAD #SS: ESP unchanged", [r_e], 0x1c

            ; ---- BOUND (signed, both bounds inclusive)
            mov dword [fault_count], 0
            mov dword [DATA], -2
            mov dword [DATA + 4], 5
            mov eax, -2
            bound eax, [DATA]
            mov eax, 5
            bound eax, [DATA]
            mov eax, -1
            bound eax, [DATA]
            CHECK "BOUND within [-2, 5]: no fault", [fault_count], 0
            EXPECT_FAULT .br1
            mov eax, 6
.bound1:    bound eax, [DATA]
.br1:       CHECK "BOUND above the upper bound: #BR", [fault_vec], 5
            CHECK "BOUND #BR is a fault: EIP at BOUND", [fault_ip], .bound1
            EXPECT_FAULT .br2
            mov eax, -3
            bound eax, [DATA]
.br2:       CHECK "BOUND below the lower bound: #BR", [fault_vec], 5
            mov dword [DATA + 8], 0x0010fff0 ; o16 bounds: lower -16, upper 16
            mov dword [fault_count], 0
            mov ax, -16
            o16 bound ax, [DATA + 8]
            mov ax, 16
            o16 bound ax, [DATA + 8]
            CHECK "o16 BOUND within [-16, 16]", [fault_count], 0
            EXPECT_FAULT .br3
            mov eax, 0xffff0011             ; AX = 17: only the word is compared
            o16 bound ax, [DATA + 8]
.br3:       CHECK "o16 BOUND: AX = 17 above 16 is #BR", [fault_vec], 5

            jmp finish32
