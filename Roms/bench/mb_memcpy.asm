; Benchmark kernel: the copy-and-checksum loop of memcpy.asm over 64 KiB. Guest instructions per
; iteration of body: 3 + 16384 * 7 + 1 = 114692.
%include "multiboot_bench.inc"

body:       mov esi, 0x200000
            mov edi, 0x300000
            mov ecx, 16384
.loop:      mov eax, [esi]
            mov [edi], eax
            add ebx, eax
            add esi, 4
            add edi, 4
            dec ecx
            jnz .loop
            ret

iterations: dd 0
load_end:

absolute load_end                       ; not in the file: the loader clears it (bss_end)
            alignb 16
            resb 4096
stack_top:
bss_end:
