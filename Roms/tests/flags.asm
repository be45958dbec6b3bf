; Flag test ROM: the flags Intel defines for the instructions whose flags are partly undefined,
; in 32-bit protected mode. Each check masks exactly the flags the SDM's "Flags Affected" section
; (Vol. 2A/2B) defines for that case and leaves the undefined ones out:
; - shifts and rotates: a masked count of 0 changes no flag; rotates never touch SF/ZF/AF/PF; OF
;   is defined for a count of 1 only; CF is the last bit out (for ROL/ROR by a multiple of the
;   width, the bit that ends up in bit 0 / the top bit); the count is masked to 5 bits, and RCL/RCR
;   of 8- and 16-bit operands rotate through CF modulo 9 and 17;
; - SHLD/SHRD: count 0 changes nothing, CF is the last bit out, SF/ZF/PF follow the result;
; - BT/BTS/BTR/BTC set CF and leave ZF; BSF/BSR set ZF from the source; POPCNT defines all six;
; - MUL/IMUL: CF = OF = upper half significant; INC/DEC leave CF; NEG sets CF unless the operand
;   is 0; logic instructions clear CF and OF;
; - AAA/AAS: AF and CF; AAM/AAD: SF, ZF, PF of AL; DAA/DAS: CF, AF, SF, ZF, PF; and their results
;   as the current SDM computes them (AAA adds 106H to AX, AAS subtracts 6 from AX and then 1 from
;   AH, so a carry or borrow out of AL reaches AH too).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/flags.bin (exit status 1 = all passed).

%include "lib.inc"

CF          equ 0x001
PF          equ 0x004
AF          equ 0x010
ZF          equ 0x040
SF          equ 0x080
OF          equ 0x800
ARITH       equ CF | PF | AF | ZF | SF | OF

; FL name, initial EFLAGS, mask, expected, instruction...: loads the flags, runs the instruction,
; checks (EFLAGS & mask); EAX and EBX keep what the instruction left.
%macro FL 5+
            push dword %2 | 2
            popfd
            %5
            pushfd
            mov [scratch + 0x44], eax       ; CHECK uses EAX, EBX and ESI: keep the results
            mov [scratch + 0x48], ebx
            pop eax
            and eax, %3
            CHECK %1, eax, %4
            mov eax, [scratch + 0x44]
            mov ebx, [scratch + 0x48]
%endmacro

            section pm
            bits 32
main:
            ; ---- shifts: a count of 0 (after masking to 5 bits) changes no flag
            mov ecx, 0
            FL "SHL by 0 keeps every flag (set)", ARITH, ARITH, ARITH, shl eax, cl
            FL "SHL by 0 keeps every flag (clear)", 0, ARITH, 0, shl eax, cl
            mov ecx, 32
            mov ebx, 0x80000001
            FL "SHL by 32 is a count of 0", ARITH, ARITH, ARITH, shl ebx, cl
            CHECK "SHL by 32 leaves the operand", ebx, 0x80000001
            mov ebx, 0x80000001
            mov ecx, 0x21
            FL "SHL by 0x21 is SHL by 1: CF and OF", 0, CF | OF | ZF | SF, CF | OF, shl ebx, cl
            ; count 1: SHL OF = top bit of result XOR CF; SHR OF = top bit of the original; SAR OF = 0
            mov bl, 0x40
            FL "SHL 0x40 by 1: OF set, CF clear, SF set", 0, CF | OF | SF | ZF, OF | SF, shl bl, 1
            mov bl, 0x81
            FL "SHR 0x81 by 1: OF from the original top bit, CF", 0, CF | OF | SF | ZF, OF | CF, shr bl, 1
            mov bl, 0x81
            FL "SAR 0x81 by 1: OF = 0, CF, SF", OF, CF | OF | SF | ZF, CF | SF, sar bl, 1
            mov bl, 0x01
            FL "SHR 1 by 1: ZF and CF, PF of 0", 0, CF | ZF | PF | SF, CF | ZF | PF, shr bl, 1
            ; 8-bit shift by 9: the count is masked to 5 bits, not to 3
            mov bl, 0xff
            mov cl, 9
            shl bl, cl
            movzx eax, bl
            CHECK "SHL r8 by 9 shifts everything out", eax, 0
            mov ebx, 0xffff0000
            mov cl, 16
            FL "SHR r32 by 16: CF is bit 15", 0, CF | ZF, 0, shr ebx, cl
            mov ebx, 0xffff8000
            mov cl, 16
            FL "SHR r32 by 16: CF is bit 15 (set)", 0, CF | ZF, CF, shr ebx, cl

            ; ---- rotates: SF, ZF, AF, PF never change
            mov bl, 0x80
            FL "ROL 0x80 by 1: result 1, CF set, OF = MSB ^ CF", ZF | SF | PF | AF, ARITH, ZF | SF | PF | AF | CF | OF, rol bl, 1
            movzx eax, bl
            CHECK "ROL 0x80 by 1: result", eax, 1
            mov bl, 0x01
            FL "ROR 0x01 by 1: CF set, OF = top two bits differ", 0, ARITH, CF | OF, ror bl, 1
            mov bl, 0x81
            mov cl, 8
            FL "ROL r8 by 8: operand unchanged, CF = bit 0", 0, CF | ZF | SF | PF, CF, rol bl, cl
            movzx eax, bl
            CHECK "ROL r8 by 8: result", eax, 0x81
            mov bl, 0x01
            mov cl, 16
            FL "ROR r8 by 16: CF = bit 7 of the result", CF, CF | ZF | SF | PF, 0, ror bl, cl
            mov bl, 0x80
            mov cl, 0
            FL "ROL by 0 keeps CF and OF", CF | OF, CF | OF, CF | OF, rol bl, cl
            ; RCL/RCR: r8 modulo 9, r16 modulo 17 (of the count masked to 5 bits)
            mov bl, 0x01
            mov cl, 9
            FL "RCL r8 by 9 is the identity, CF kept", CF, CF | ZF, CF, rcl bl, cl
            movzx eax, bl
            CHECK "RCL r8 by 9: result", eax, 0x01
            mov bl, 0x01
            mov cl, 10
            FL "RCL r8 by 10 is RCL by 1", 0, CF, 0, rcl bl, cl
            movzx eax, bl
            CHECK "RCL r8 by 10: result", eax, 0x02
            mov bx, 0x8000
            mov cl, 17
            FL "RCR r16 by 17 is the identity", CF, CF, CF, rcr bx, cl
            movzx eax, bx
            CHECK "RCR r16 by 17: result", eax, 0x8000
            mov bx, 0x0001
            mov cl, 1
            FL "RCR r16 0x0001 by 1 with CF: CF out, top bit in", CF, CF | OF, CF | OF, rcr bx, cl
            movzx eax, bx
            CHECK "RCR r16 by 1: result", eax, 0x8000

            ; ---- SHLD/SHRD
            mov ebx, 0x12345678
            mov edx, 0x9abcdef0
            mov cl, 0
            FL "SHLD by 0 keeps every flag", ARITH, ARITH, ARITH, shld ebx, edx, cl
            mov ebx, 0x80000000
            mov edx, 0x80000000
            mov cl, 1
            FL "SHLD by 1: CF out, SF, ZF, PF of the result (1: odd parity)", PF, CF | ZF | SF | PF, CF, shld ebx, edx, cl
            CHECK "SHLD by 1: result", ebx, 1
            mov ebx, 0x00000001
            mov edx, 0
            mov cl, 4
            FL "SHRD by 4: result 0, ZF, CF = bit 3", CF, CF | ZF | SF, ZF, shrd ebx, edx, cl

            ; ---- bit tests and scans
            mov ebx, 0x10
            FL "BT sets CF and leaves ZF (set)", ZF, CF | ZF, CF | ZF, bt ebx, 4
            FL "BT clears CF and leaves ZF (clear)", CF, CF | ZF, 0, bt ebx, 3
            mov ebx, 0
            FL "BSF of 0 sets ZF", 0, ZF, ZF, bsf eax, ebx
            mov ebx, 0x00f0
            FL "BSF of 0xf0 clears ZF", ZF, ZF, 0, bsf eax, ebx
            CHECK "BSF of 0xf0", eax, 4
            mov ebx, 0x00f0
            FL "BSR of 0xf0 clears ZF", ZF, ZF, 0, bsr eax, ebx
            CHECK "BSR of 0xf0", eax, 7
            mov ebx, 0
            FL "POPCNT of 0: ZF, the rest clear", ARITH, ARITH, ZF, popcnt eax, ebx
            mov ebx, 0xf0f0
            FL "POPCNT of 0xf0f0: every flag clear", ARITH, ARITH, 0, popcnt eax, ebx
            CHECK "POPCNT of 0xf0f0", eax, 8

            ; ---- multiply, INC/DEC, NEG, logic
            mov eax, 0x10000
            mov ebx, 0x10000
            FL "MUL with a significant upper half: CF = OF = 1", 0, CF | OF, CF | OF, mul ebx
            mov eax, 0x100
            mov ebx, 0x100
            FL "MUL with no upper half: CF = OF = 0", CF | OF, CF | OF, 0, mul ebx
            mov eax, -2
            mov ebx, 3
            FL "IMUL -2 * 3 fits: CF = OF = 0", CF | OF, CF | OF, 0, imul ebx
            mov eax, 0x40000000
            FL "IMUL r32, r32, imm overflows: CF = OF = 1", 0, CF | OF, CF | OF, imul eax, eax, 4
            mov eax, 0xffffffff
            FL "INC leaves CF (set)", CF, CF | ZF, CF | ZF, inc eax
            FL "DEC leaves CF (clear)", 0, CF | ZF | SF, SF, dec eax
            mov eax, 0
            FL "NEG 0: CF = 0, ZF", CF, CF | ZF, ZF, neg eax
            mov eax, 5
            FL "NEG 5: CF = 1, SF", 0, CF | SF, CF | SF, neg eax
            FL "AND clears CF and OF", CF | OF, CF | OF, 0, and eax, eax
            FL "OR clears CF and OF", CF | OF, CF | OF, 0, or eax, eax
            FL "TEST clears CF and OF", CF | OF, CF | OF, 0, test eax, eax

            ; ---- BCD adjustments
            mov eax, 0x000f
            FL "AAA of 0x0f: AF and CF set", 0, AF | CF, AF | CF, aaa
            CHECK "AAA of 0x0f: AX", eax, 0x0105
            mov eax, 0x0005
            FL "AAA of 0x05: AF and CF clear", CF, AF | CF, 0, aaa
            CHECK "AAA of 0x05: AX", eax, 0x0005
            mov eax, 0x00fa
            FL "AAA of 0xfa: AF and CF set", 0, AF | CF, AF | CF, aaa
            CHECK "AAA of 0x00fa adds 0x106 to AX", eax, 0x0200
            mov eax, 0x0200
            FL "AAS with AF: borrow", AF, AF | CF, AF | CF, aas
            CHECK "AAS of 0x0200 with AF subtracts 6 from AX, then 1 from AH", eax, 0x000a
            mov eax, 0x003f
            FL "AAM 10 of 63: SF, ZF, PF of AL = 3", ZF | SF, ZF | SF | PF, PF, aam
            CHECK "AAM 10 of 63: AX", eax, 0x0603
            mov eax, 0x0000
            FL "AAM of 0: ZF and PF", 0, ZF | SF | PF, ZF | PF, aam
            mov eax, 0x0603
            FL "AAD 10 of 6:3: AL = 63, PF", ZF | SF, ZF | SF | PF, PF, aad
            CHECK "AAD 10 of 6:3: AX", eax, 0x003f
            mov eax, 0x0100
            FL "AAD 0x10 of 1:0 (any base): AL = 16", 0, ZF | SF | PF, 0, db 0xd5, 0x10
            CHECK "AAD 16 of 1:0: AX", eax, 0x0010
            mov eax, 0x009a
            FL "DAA of 0x9a: CF, AF, ZF, PF", 0, CF | AF | ZF | SF | PF, CF | AF | ZF | PF, daa
            CHECK "DAA of 0x9a: AL", eax, 0x0000
            mov eax, 0x0099
            FL "DAA of 0x99 keeps it: SF, PF", 0, CF | AF | ZF | SF | PF, SF | PF, daa
            CHECK "DAA of 0x99: AL", eax, 0x0099
            mov eax, 0x00ff
            FL "DAS of 0xff: CF, AF, SF", 0, CF | AF | ZF | SF | PF, CF | AF | SF | PF, das
            CHECK "DAS of 0xff: AL", eax, 0x0099

            jmp finish32
