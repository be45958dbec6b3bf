; Address-size and operand-size details in 32-bit protected mode (flat segments):
; - string instructions with a 16-bit address size (67h) use SI, DI and, with REP, CX: they wrap
;   at 64 KiB and leave bits 31:16 of ESI, EDI and ECX as they were (Intel SDM Vol. 2B STOS, MOVS,
;   LODS, CMPS, SCAS: "(E)DI", "(E)SI"; Vol. 2B REP: the count register is CX for a 16-bit address
;   size; Vol. 1 3.3.7 and 3.7.5: a 16-bit effective address is an offset modulo 64 KiB);
; - MOV from a segment register: to memory it always writes 16 bits, whatever the operand size; to
;   a 32-bit register it zero-extends on P6-family and later processors (Vol. 2B MOV, Description);
;   MOV to a segment register from a 32-bit register uses the low 16 bits;
; - a segment with G = 1 has the limit (field << 12) | FFFH: a dword read ending one byte past it is
;   #GP(0), the last dword inside is allowed, and an offset of FFFFFFFFH is past it too (Vol. 3A 5.3);
; - LOCK on MOV is #UD (Vol. 2A LOCK: only the listed read-modify-write instructions accept it);
; - 16-bit addressing wraps the sum of base, index and displacement at 64 KiB also for LEA.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/addrsize.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_G       equ SEL_SPARE               ; 0x48: data, base 0, G = 1, limit field 9FH (0x9ffff)
r_a         equ scratch + 0x00
r_b         equ scratch + 0x04
r_c         equ scratch + 0x08
r_d         equ scratch + 0x0c
r_e         equ scratch + 0x10

; STOS16 suffix, size, name: a16 STOS from EDI = 0x1ffff - (size - 1) upwards and from 0x10000
; downwards; the store lands at DI and EDI[31:16] stays 1.
%macro STOS16 3
            cld
            mov edi, 0x1ffff - (%2 - 1)
            mov eax, 0x12345678
            mov dword [0xfffc], 0
            a16 stos%1
            mov [r_a], edi
            mov eax, [0xfffc]
            mov [r_b], eax
            std
            mov edi, 0x10000
            mov dword [0], 0
            mov eax, 0x9abcdef0
            a16 stos%1
            cld
            mov [r_c], edi
            mov eax, [0]
            mov [r_d], eax
            CHECK %3, [r_a], 0x10000
            CHECK %3, [r_b], (0x12345678 << ((4 - %2) * 8)) & 0xffffffff
            CHECK %3, [r_c], 0x1ffff - (%2 - 1)
            CHECK %3, [r_d], 0x9abcdef0 & (0xffffffff >> ((4 - %2) * 8))
%endmacro

            section pm
            bits 32
main:
            ; ---- 16-bit address-size strings
            STOS16 b, 1, "a16 STOSB: DI wraps, EDI[31:16] kept; stored at DI"
            STOS16 w, 2, "a16 STOSW: DI wraps, EDI[31:16] kept; stored at DI"
            STOS16 d, 4, "a16 STOSD: DI wraps, EDI[31:16] kept; stored at DI"

            mov dword [0xfffc], 0x44332211
            mov dword [0], 0x88776655
            mov esi, 0x5550fffe
            a16 lodsw
            mov [r_a], esi
            mov [r_b], eax
            CHECK "a16 LODSW: SI wraps, ESI[31:16] kept", [r_a], 0x55500000
            mov eax, [r_b]
            and eax, 0xffff
            CHECK "a16 LODSW: the word at DS:SI", eax, 0x4433

            mov esi, 0x7770ffff
            mov edi, 0x66662000
            a16 movsb
            mov [r_a], esi
            mov [r_b], edi
            movzx eax, byte [0x2000]
            mov [r_c], eax
            CHECK "a16 MOVSB: SI wraps, ESI[31:16] kept", [r_a], 0x77700000
            CHECK "a16 MOVSB: DI + 1, EDI[31:16] kept", [r_b], 0x66662001
            CHECK "a16 MOVSB: byte from DS:SI to ES:DI", [r_c], 0x44

            mov dword [0x3000], 0x00004433
            mov esi, 0x1111fffe
            mov edi, 0x22223000
            a16 cmpsw
            sete al
            movzx eax, al
            mov [r_a], eax
            mov [r_b], esi
            mov [r_c], edi
            CHECK "a16 CMPSW: equal words", [r_a], 1
            CHECK "a16 CMPSW: SI wraps, ESI[31:16] kept", [r_b], 0x11110000
            CHECK "a16 CMPSW: DI + 2", [r_c], 0x22223002

            mov edi, 0x3333ffff
            mov al, 0x44
            a16 scasb
            sete al
            movzx eax, al
            mov [r_a], eax
            mov [r_b], edi
            CHECK "a16 SCASB: match", [r_a], 1
            CHECK "a16 SCASB: DI wraps, EDI[31:16] kept", [r_b], 0x33330000

            ; REP with a 16-bit address size counts in CX and leaves ECX[31:16].
            mov dword [0xfffc], 0
            mov dword [0], 0
            mov ecx, 0xabcd0003
            mov edi, 0x0001fffe
            mov al, 0xee
            a16 rep stosb
            mov [r_a], ecx
            mov [r_b], edi
            mov eax, [0xfffc]
            mov [r_c], eax
            mov eax, [0]
            mov [r_d], eax
            CHECK "a16 REP STOSB: CX counts to 0, ECX[31:16] kept", [r_a], 0xabcd0000
            CHECK "a16 REP STOSB: DI wraps, EDI[31:16] kept", [r_b], 0x00010001
            CHECK "a16 REP STOSB: bytes at FFFE and FFFF", [r_c], 0xeeee0000
            CHECK "a16 REP STOSB: byte at 0 after the wrap", [r_d], 0x000000ee
            mov ecx, 0xffff0000
            mov edi, 0x4000
            a16 rep stosb
            mov [r_a], edi
            CHECK "a16 REP with CX = 0 (ECX not 0): no iteration", [r_a], 0x4000

            ; ---- MOV with segment registers
            mov dword [0x4000], 0xdeadbeef
            o32 mov [0x4000], ds
            CHECK "MOV m, DS with a 32-bit operand size writes 16 bits", [0x4000], 0xdead0000 | SEL_DATA
            mov dword [0x4000], 0xdeadbeef
            mov [0x4000], cs
            CHECK "MOV m16, CS", [0x4000], 0xdead0000 | SEL_CODE32
            mov eax, 0xffffffff
            mov eax, ss
            CHECK "MOV r32, SS zero-extends (P6 family and later)", eax, SEL_DATA
            mov eax, 0xffffffff
            mov ax, es
            CHECK "MOV r16, ES keeps EAX[31:16]", eax, 0xffff0000 | SEL_DATA
            mov eax, 0x12340000 | SEL_DATA
            mov fs, eax
            mov eax, fs
            CHECK "MOV FS, r32 uses the low 16 bits", eax, SEL_DATA

            ; ---- page-granular limit: field 9FH with G = 1 is 0x9ffff
            mov dword [GDT_BASE + SEL_G], 0x0000009f
            mov dword [GDT_BASE + SEL_G + 4], 0x00c09200
            mov ax, SEL_G
            mov fs, ax
            EXPECT_FAULT .l1
            mov eax, [fs:0x9fffd]
.l1:        CHECK "G = 1, limit 9FFFFH: dword read at 9FFFDH is #GP", [fault_vec], 13
            CHECK "G = 1, limit 9FFFFH: error code 0", [fault_err], 0
            EXPECT_FAULT .l2
            mov [fs:0x9fffd], eax
.l2:        CHECK "G = 1, limit 9FFFFH: dword write at 9FFFDH is #GP", [fault_vec], 13
            mov dword [fault_vec], 0xffffffff
            mov eax, [fs:0x9fffc]
            mov [fs:0x9fffc], eax
            CHECK "G = 1, limit 9FFFFH: the last dword is allowed", [fault_vec], 0xffffffff
            EXPECT_FAULT .l3
            mov eax, [fs:0xffffffff]
.l3:        CHECK "G = 1, limit 9FFFFH: offset FFFFFFFFH is #GP", [fault_vec], 13
            mov ax, SEL_DATA
            mov fs, ax

            ; ---- LOCK MOV
            EXPECT_FAULT .k1
.kf:        db 0xf0                             ; LOCK (nasm refuses to write it before MOV)
            mov [0x4000], eax
.k1:        CHECK "LOCK MOV: #UD", [fault_vec], 6
            CHECK "LOCK MOV: saved EIP at the instruction", [fault_ip], .kf

            ; ---- 16-bit LEA wraps
            mov ebx, 0xfff0
            mov esi, 0x0020
            mov eax, 0xffffffff
            a16 lea eax, [bx + si + 0x10]
            CHECK "a16 LEA r32: (BX + SI + 10H) mod 64 KiB, zero-extended", eax, 0x20
            mov ebx, 0xfff0
            mov esi, 0x0020
            mov eax, 0xffffffff
            lea ax, [ebx + esi]
            CHECK "LEA r16 with 32-bit addressing keeps EAX[31:16] and the low 16 bits", eax, 0xffff0010
            jmp finish32
