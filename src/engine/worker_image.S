/*
 * worker_image: the bytes of weft-worker.so (the Python worker, see
 * worker_loader.h), carried inside weft so the binary stays one file.
 * WORKER_SO is the built shared object's path, given by the Makefile.
 */
	.section .rodata
	.balign 64
	.globl weft_worker_image
weft_worker_image:
	.incbin WORKER_SO
	.globl weft_worker_image_end
weft_worker_image_end:
	.section .note.GNU-stack,"",@progbits
