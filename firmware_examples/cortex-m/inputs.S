/* The test inputs, embedded in flash as raw bytes: the Makefile copies INPUTS (raw int8
 * vectors back to back, possibly none) to $(BUILD)/inputs.bin, found through -Wa,-I. */
    .section .rodata.fw_inputs, "a"
    .balign 16
    .global fw_inputs_start
fw_inputs_start:
    .incbin "inputs.bin"
    .global fw_inputs_end
fw_inputs_end:
