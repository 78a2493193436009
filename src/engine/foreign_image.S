/*
 * foreign_image: the bytes of weft-abi3.so, the `_weft` module built for the
 * stable ABI (weft_module_abi3.c), which a foreign Python loads (see
 * foreign_python.h). FOREIGN_SO is the built object's path, given by the Makefile.
 */
	.section .rodata
	.balign 64
	.globl weft_abi3_image
weft_abi3_image:
	.incbin FOREIGN_SO
	.globl weft_abi3_image_end
weft_abi3_image_end:
	.section .note.GNU-stack,"",@progbits
