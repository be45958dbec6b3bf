; Undefined-flag test ROM: what the emulated processor leaves in the flags the Intel SDM calls
; undefined, where a real processor's value is known. The SDM fixes none of these values, so the
; expected ones are measurements of real Intel hardware: an Intel 80386SX, as published by the
; authors of the public test386.asm CPU tester (its "undefined behaviours" test, POST E0). Only
; cases on which that 386 and the AMD Zen host of the differential harness agree are used for the
; shifts and rotates (checked on the host when this ROM was written); for the BCD adjustments (no
; 32-bit code runs natively there) the 386 is the oracle. Each check compares all six arithmetic
; flags (CF, PF, AF, ZF, SF, OF) after loading a given EFLAGS:
; - AAA/AAS: PF, ZF, SF and OF are those of AL + 6 / AL - 6 (AL + 0 / AL - 0 without adjustment);
; - AAD: CF, AF and OF (and PF, ZF, SF) are those of the addition AL + AH * imm8;
; - AAM: CF, AF and OF are cleared;
; - DAA/DAS: OF is the signed overflow of AL plus or minus the whole correction;
; - SHL/SHR by a non-zero count set AF; OF for counts above 1 follows the result (SHL: MSB(result)
;   XOR CF; SHR: 0); a byte or word shifted by exactly its width gives CF = the last bit out;
; - RCL/RCR of a byte by 9 and of a word by 17 (a full rotation through CF): CF and OF as after
;   the last one-bit step.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/undefflags.bin (exit status 1 = all passed).

%include "lib.inc"

CF          equ 0x001
PF          equ 0x004
AF          equ 0x010
ZF          equ 0x040
SF          equ 0x080
OF          equ 0x800
ARITH       equ CF | PF | AF | ZF | SF | OF

; UF name, AX, initial flags, expected flags, instruction...: AX and the flags in, all six arithmetic flags out.
%macro UF 5+
            mov eax, %2
            push dword %3 | 2
            popfd
            %5
            pushfd
            mov [scratch + 0x44], eax
            pop eax
            and eax, ARITH
            CHECK %1, eax, %4
%endmacro

; SH name, operation, byte or word register, value, count, initial flags, expected flags
%macro SH 7
            mov ecx, %5
            UF %1, %4, %6, %7, %2 %3, cl
%endmacro

            section pm
            bits 32
main:
            ; ---- AAA: undefined PF, ZF, SF, OF
            UF "AAA 0000H: PF ZF of AL + 0", 0x0000, 0, PF | ZF, aaa
            UF "AAA 0001H from PF ZF SF OF: all clear", 0x0001, PF | ZF | SF | OF, 0, aaa
            UF "AAA 007AH: SF OF of 7AH + 6", 0x007a, 0, CF | AF | SF | OF, aaa
            CHECK "AAA 007AH: AX", [scratch + 0x44], 0x0100
            UF "AAA 007BH with AF: PF SF OF of 7BH + 6", 0x007b, AF, CF | PF | AF | SF | OF, aaa

            ; ---- AAD: undefined CF, AF, OF
            UF "AAD 0001H from CF AF OF: all clear", 0x0001, CF | AF | OF, 0, aad
            UF "AAD 0D8EH: CF AF OF of 8EH + 82H", 0x0d8e, 0, CF | AF | OF, aad
            CHECK "AAD 0D8EH: AX", [scratch + 0x44], 0x0010
            UF "AAD 0106H: AF of 06H + 0AH", 0x0106, 0, AF, aad
            UF "AAD 01F7H: CF AF of F7H + 0AH", 0x01f7, 0, CF | AF, aad

            ; ---- AAM: undefined CF, AF, OF
            UF "AAM 0000H: PF ZF", 0x0000, 0, PF | ZF, aam
            UF "AAM 0000H from CF AF OF: they are cleared", 0x0000, CF | AF | OF, PF | ZF, aam

            ; ---- AAS: undefined PF, ZF, SF, OF
            UF "AAS 0000H from SF OF: PF ZF of AL - 0", 0x0000, SF | OF, PF | ZF, aas
            UF "AAS 0000H with AF: PF SF of 00H - 6", 0x0000, AF, CF | PF | AF | SF, aas
            CHECK "AAS 0000H with AF: AX (AX - 6, AH - 1, AL AND 0FH)", [scratch + 0x44], 0xfe0a
            UF "AAS 0001H from PF ZF SF OF: all clear", 0x0001, PF | ZF | SF | OF, 0, aas
            UF "AAS 0680H with AF: OF of 80H - 6", 0x0680, AF, CF | AF | OF, aas

            ; ---- DAA, DAS: undefined OF
            UF "DAA 1AH from AF OF: OF of 1AH + 06H clear", 0x001a, AF | OF, AF, daa
            UF "DAA 1AH with CF: OF of 1AH + 66H set", 0x001a, CF, CF | AF | SF | OF, daa
            CHECK "DAA 1AH with CF: AL", [scratch + 0x44], 0x0080
            UF "DAS 80H from OF: no correction, OF clear", 0x0080, OF, SF, das
            UF "DAS 80H with AF: OF of 80H - 06H set", 0x0080, AF, AF | OF, das
            CHECK "DAS 80H with AF: AL", [scratch + 0x44], 0x007a

            ; ---- SHR, SHL: AF set by any non-zero count; OF for counts above 1; CF at the width
            SH "SHR 81H by 1", shr, al, 0x81, 1, 0, CF | AF | OF
            SH "SHR 82H by 2: AF set, OF clear", shr, al, 0x82, 2, 0, CF | AF
            SH "SHR 80H by 8: CF is the MSB", shr, al, 0x80, 8, 0, CF | PF | AF | ZF
            SH "SHR 00H by 8 from CF", shr, al, 0x00, 8, CF, PF | AF | ZF
            SH "SHR 80H by 32 is a count of 0", shr, al, 0x80, 32, 0, 0
            SH "SHR 8000H by 16: CF is the MSB", shr, ax, 0x8000, 16, 0, CF | PF | AF | ZF
            SH "SHR 0000H by 16 from CF", shr, ax, 0x0000, 16, CF, PF | AF | ZF
            SH "SHR 8000H by 32 is a count of 0", shr, ax, 0x8000, 32, 0, 0
            SH "SHL 81H by 1", shl, al, 0x81, 1, 0, CF | AF | OF
            SH "SHL 41H by 2: OF = MSB(result) XOR CF", shl, al, 0x41, 2, 0, CF | AF | OF
            SH "SHL 01H by 8: CF is the LSB", shl, al, 0x01, 8, 0, CF | PF | AF | ZF | OF
            SH "SHL 00H by 8 from CF", shl, al, 0x00, 8, CF, PF | AF | ZF
            SH "SHL 01H by 32 is a count of 0", shl, al, 0x01, 32, 0, 0
            SH "SHL 0001H by 16: CF is the LSB", shl, ax, 0x0001, 16, 0, CF | PF | AF | ZF | OF
            SH "SHL 0000H by 16 from CF", shl, ax, 0x0000, 16, CF, PF | AF | ZF
            SH "SHL 0001H by 32 is a count of 0", shl, ax, 0x0001, 32, 0, 0

            ; ---- RCR, RCL through a whole byte (9) or word (17)
            SH "RCR 00H by 9", rcr, al, 0x00, 9, 0, 0
            SH "RCR 00H by 9 from CF OF", rcr, al, 0x00, 9, CF | OF, CF
            SH "RCR 40H by 9", rcr, al, 0x40, 9, 0, OF
            SH "RCR 40H by 9 from CF OF", rcr, al, 0x40, 9, CF | OF, CF | OF
            SH "RCR 0000H by 17 from CF OF", rcr, ax, 0x0000, 17, CF | OF, CF
            SH "RCR 4000H by 17", rcr, ax, 0x4000, 17, 0, OF
            SH "RCL 00H by 9 from CF OF", rcl, al, 0x00, 9, CF | OF, CF | OF
            SH "RCL 80H by 9", rcl, al, 0x80, 9, 0, OF
            SH "RCL 80H by 9 from CF OF", rcl, al, 0x80, 9, CF | OF, CF
            SH "RCL 0000H by 17 from CF OF", rcl, ax, 0x0000, 17, CF | OF, CF | OF
            SH "RCL 8000H by 17", rcl, ax, 0x8000, 17, 0, OF
            SH "RCL 8000H by 17 from CF OF", rcl, ax, 0x8000, 17, CF | OF, CF
            jmp finish32
