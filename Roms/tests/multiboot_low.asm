; The multiboot test kernel (multiboot.asm) linked at 0x8000, below 1 MiB, where real-mode test
; kernels load and where QEMU's multiboot loader puts them: `emu run --kernel multiboot_low.bin`
; must load it there (Multiboot 0.6.96 3.1.3 leaves the address to the kernel) and pass the same
; checks.
;
; Build: Roms/build.sh.

%define LOAD_ADDR 0x8000
%include "multiboot.asm"
