/* The .picoq model as a const byte array in flash, as firmware holds a model received
 * over the air: the Makefile copies MODEL to $(BUILD)/model.picoq, found through -Wa,-I.
 * 16-byte aligned, as pq_interp.h asks of the buffer. */
    .section .rodata.ota_model, "a"
    .balign 16
    .global ota_model_start
ota_model_start:
    .incbin "model.picoq"
    .global ota_model_end
ota_model_end:
