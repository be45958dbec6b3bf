; Benchmark kernel: a loop whose data shares the 4 KiB page of its code, the case that makes
; page-granular code invalidation (every store to a page holding translated code flushes it) slow.
; Guest instructions per iteration of body: 1 + 1000 * 4 + 1 = 4002.
%include "multiboot_bench.inc"

body:       mov ecx, 1000
.loop:      add dword [counter], 1
            xor eax, ecx
            dec ecx
            jnz .loop
            ret

            align 64
counter:    dd 0                        ; 64 bytes after the code, same page

iterations: dd 0
load_end:

absolute load_end                       ; not in the file: the loader clears it (bss_end)
            alignb 16
            resb 4096
stack_top:
bss_end:
