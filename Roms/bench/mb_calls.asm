; Benchmark kernel: the branchy call/return code of calls.asm. ECX counts 1000 down to 1, so
; EDX = ECX & 3 takes each value 250 times; the loop runs 6 instructions and classify 4, 7, 9 or 5
; for EDX = 0, 3, 2, 1 (helper included). Guest instructions per iteration of body:
; 1 + 250 * (4 * 6 + 4 + 7 + 9 + 5) + 1 = 12252.
%include "multiboot_bench.inc"

body:       mov ecx, 1000
.loop:      mov edx, ecx
            and edx, 3
            call classify
            add eax, ebx
            dec ecx
            jnz .loop
            ret

classify:   cmp edx, 1
            jb .zero
            je .one
            cmp edx, 2
            je .two
            mov ebx, 7
            ret
.zero:      xor ebx, ebx
            ret
.one:       mov ebx, 1
            ret
.two:       call helper
            ret
helper:     mov ebx, 2
            ret

iterations: dd 0
load_end:

absolute load_end                       ; not in the file: the loader clears it (bss_end)
            alignb 16
            resb 4096
stack_top:
bss_end:
