; Benchmark kernel: the integer ALU loop of alu.asm. Guest instructions per iteration of body:
; 1 + 1000 * 10 + 1 = 10002.
%include "multiboot_bench.inc"

body:       mov ebp, 1000
.loop:      add eax, ebx
            xor ecx, eax
            shl edx, 1
            sub esi, ecx
            inc edi
            and ebx, 0x7fff
            or edx, esi
            lea eax, [eax + ebx * 4 + 7]
            dec ebp
            jnz .loop
            ret

iterations: dd 0
load_end:

absolute load_end                       ; not in the file: the loader clears it (bss_end)
            alignb 16
            resb 4096
stack_top:
bss_end:
