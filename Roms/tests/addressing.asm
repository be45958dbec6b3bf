; Addressing-mode test ROM: every 16-bit ModRM form ([BX+SI] ... [BX], disp8 sign-extended,
; disp16) and the 32-bit ModRM/SIB forms (base, index, scale 1-8, no base with disp32, ESP and EBP
; bases) in 32-bit protected mode, checking the offset (16-bit forms wrap at 64 KiB, 32-bit forms at
; 4 GiB) and the default segment (SS for BP/EBP/ESP bases, DS otherwise, an override wins), as in
; Intel SDM Vol. 2A 2.1.5 (Tables 2-1, 2-2, 2-3) and Vol. 1 3.7.4-3.7.5.
;
; DS has base 0 and SS base SSBASE, so the same offset reads a different marker through each.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/addressing.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_SS2     equ SEL_SPARE               ; 0x48: data, base SSBASE, 4 GiB, B = 1
SSBASE      equ 0x40000
DMARK       equ 0xd0d0d0d0
SMARK       equ 0x55555555

; AT name, offset, segment marker, load instruction...: places DMARK at DS:offset and SMARK at
; SS:offset, runs the load (into EAX) with SS = SEL_SS2, and checks which marker arrived.
%macro AT 4+
            mov dword [%2], DMARK
            mov dword [SSBASE + %2], SMARK
            mov [scratch], esp
            mov dx, SEL_SS2
            mov ss, dx
            %4
            mov dx, SEL_DATA
            mov ss, dx
            mov esp, [scratch]
            pushad                          ; CHECK uses EAX, EBX and ESI: keep the address registers
            CHECK %1, eax, %3
            popad
%endmacro

            section pm
            bits 32
main:
            mov eax, SSBASE
            mov edx, 0xfffff
            mov ebx, SEL_SS2
            mov ecx, 0x93
            call set_descriptor
            mov byte [GDT_BASE + SEL_SS2 + 6], 0xcf   ; G = 1, B = 1

            ; ---- 16-bit forms (67h in 32-bit code): Table 2-1
            mov ebx, 0x9000
            mov esi, 0x0200
            mov edi, 0x0300
            mov ebp, 0x8400
            AT "[BX+SI]", 0x9200, DMARK, a16 mov eax, [bx + si]
            AT "[BX+DI]", 0x9300, DMARK, a16 mov eax, [bx + di]
            AT "[BP+SI] is SS", 0x8600, SMARK, a16 mov eax, [bp + si]
            AT "[BP+DI] is SS", 0x8700, SMARK, a16 mov eax, [bp + di]
            AT "[SI]", 0x0200, DMARK, a16 mov eax, [si]
            AT "[DI]", 0x0300, DMARK, a16 mov eax, [di]
            AT "[disp16]", 0xa345, DMARK, a16 mov eax, [0xa345]
            AT "[BX]", 0x9000, DMARK, a16 mov eax, [bx]
            AT "[BP+disp8] is SS", 0x8410, SMARK, a16 mov eax, [bp + 0x10]
            AT "[BX+SI+disp8] negative", 0x91f0, DMARK, a16 mov eax, [bx + si - 0x10]
            AT "[BP+disp16] is SS", 0x9400, SMARK, a16 mov eax, [bp + 0x1000]
            AT "[DI+disp16]", 0x8300, DMARK, a16 mov eax, [di + 0x8000]
            AT "DS override on [BP]", 0x8400, DMARK, a16 mov eax, [ds:bp]
            AT "SS override on [BX]", 0x9000, SMARK, a16 mov eax, [ss:bx]
            ; wrap-around at 64 KiB: only the low 16 bits of the sum are the offset
            mov ebx, 0xffff
            mov esi, 0x0011
            AT "[BX+SI] wraps at 64 KiB", 0x0010, DMARK, a16 mov eax, [bx + si]
            mov esi, 0x12340002             ; upper halves of 16-bit registers are ignored
            AT "[SI] uses SI, not ESI", 0x0002, DMARK, a16 mov eax, [si]
            xor esi, esi
            AT "[SI-1] wraps to 0xffff", 0xffff, DMARK, a16 mov eax, [si - 1]
            mov edi, 0xf000
            AT "[DI+0x9000] wraps", 0x8000, DMARK, a16 mov eax, [di + 0x9000]

            ; ---- 32-bit forms: Tables 2-2 and 2-3
            mov ebx, 0x0100
            mov ecx, 0x0010
            mov ebp, 0xc000
            mov esi, 3
            AT "[EBX]", 0x0100, DMARK, mov eax, [ebx]
            AT "[disp32]", 0xb456, DMARK, mov eax, [dword 0xb456]
            AT "[EBP+disp8] is SS", 0xc008, SMARK, mov eax, [ebp + 8]
            AT "[EBP+disp32] is SS", 0xd000, SMARK, mov eax, [ebp + 0x1000]
            AT "[EBX+ECX*1]", 0x0110, DMARK, mov eax, [ebx + ecx]
            AT "[EBX+ECX*2]", 0x0120, DMARK, mov eax, [ebx + ecx * 2]
            AT "[EBX+ESI*4+disp8]", 0x0110, DMARK, mov eax, [ebx + esi * 4 + 4]
            AT "[EBX+ECX*8-disp8]", 0x0170, DMARK, mov eax, [ebx + ecx * 8 - 0x10]
            AT "[ECX*4+disp32] (no base)", 0x5040, DMARK, mov eax, [ecx * 4 + 0x5000]
            AT "[EBP*2+disp32] (no base) is DS", 0x19000, DMARK, mov eax, [nosplit ebp * 2 + 0x1000]
            AT "[EBX+EBP] base EBX is DS", 0xc100, DMARK, mov eax, [ebx + ebp * 1]
            AT "[EBP+EBX] base EBP is SS", 0xc100, SMARK, mov eax, [ebp + ebx * 1]
            AT "[EBP+ECX*4+disp8] is SS", 0xc048, SMARK, mov eax, [ebp + ecx * 4 + 8]
            AT "DS override on [EBP]", 0xc000, DMARK, mov eax, [ds:ebp + 0]
            ; ESP as a base is SS; it can never be an index
            mov [scratch + 4], esp
            mov esp, 0xe000
            AT "[ESP] is SS", 0xe000, SMARK, mov eax, [esp]
            mov esp, 0xe000
            AT "[ESP+ECX*2+disp8] is SS", 0xe024, SMARK, mov eax, [esp + ecx * 2 + 4]
            mov esp, [scratch + 4]
            ; wrap-around at 4 GiB
            mov ebx, 0xfffffff0
            AT "[EBX+0x20] wraps at 4 GiB", 0x0010, DMARK, mov eax, [ebx + 0x20]
            mov ecx, 0x40000004
            AT "[ECX*4+0x10] wraps at 4 GiB", 0x0020, DMARK, mov eax, [ecx * 4 + 0x10]
            ; LEA computes the offset without a segment, in the operand size
            mov ebx, 0x12345678
            mov ecx, 0x10
            lea eax, [ebx + ecx * 8 + 0x100]
            CHECK "LEA [EBX+ECX*8+0x100]", eax, 0x123457f8
            mov ebx, 0x12345678
            mov eax, 0xaaaaaaaa
            lea ax, [ebx + ecx * 8 + 0x100]
            CHECK "LEA to AX keeps EAX[31:16]", eax, 0xaaaa57f8
            mov ebx, 0x1234ffff
            mov esi, 0x0002
            a16 lea eax, [bx + si]
            CHECK "LEA with 16-bit addressing into EAX is zero-extended", eax, 0x0001

            jmp finish32
