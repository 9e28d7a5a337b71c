/*
 * Cortex-M example for a model exported with `picoq export-c`: run the model on every
 * input vector embedded in flash (inputs.S), print each output as one line of decimal
 * bytes over semihosting (semihosting.c), then report the stack high-water mark and exit.
 * With no embedded inputs it runs once on an all-zero input (a size and smoke build).
 *
 * Written against MODEL_* names that the Makefile maps onto the exported model's, like
 * firmware_examples/host/main.c. Uses no libc: output formatting is done by hand.
 *
 * int8 and 16x8 models alike: the model's header says its I/O element type
 * (NAME_INPUT_TYPE / NAME_OUTPUT_TYPE: int8_t, or int16_t for a 16x8 model) and its SIZE
 * macros are bytes. The embedded inputs are raw little-endian vectors of that type, and
 * each output is printed as decimal values of that type (int16 values for a 16x8 model).
 */
#include <stdint.h>

#include "semihosting.h"
#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL_INVOKE CAT(MODEL_NAME, _invoke)
#define MODEL_ARENA_SIZE CAT(MODEL_PREFIX, _ARENA_SIZE)
#define MODEL_INPUT_SIZE CAT(MODEL_PREFIX, _INPUT_SIZE)
#define MODEL_OUTPUT_SIZE CAT(MODEL_PREFIX, _OUTPUT_SIZE)
typedef CAT(MODEL_PREFIX, _INPUT_TYPE) model_in_t;
typedef CAT(MODEL_PREFIX, _OUTPUT_TYPE) model_out_t;
#define MODEL_INPUT_COUNT ((int32_t)(MODEL_INPUT_SIZE / sizeof(model_in_t)))
#define MODEL_OUTPUT_COUNT ((int32_t)(MODEL_OUTPUT_SIZE / sizeof(model_out_t)))

#if CAT(MODEL_PREFIX, _NUM_INPUTS) != 1 || CAT(MODEL_PREFIX, _NUM_OUTPUTS) != 1
#error "this example runs models with one input and one output"
#endif

extern const int8_t fw_inputs_start[], fw_inputs_end[];

static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
static model_out_t output[MODEL_OUTPUT_COUNT];

/* One output as a line of decimal values of its type. */
static void print_output(void)
{
    if (sizeof(model_out_t) == 1u) { /* decided at compile time: the other branch is dropped */
        sh_print_bytes((const int8_t *)(const void *)output, MODEL_OUTPUT_COUNT, "\n");
    } else {
        sh_print_int16s((const int16_t *)(const void *)output, MODEL_OUTPUT_COUNT, "\n");
    }
}

static int run_one(const model_in_t *input)
{
    int status = MODEL_INVOKE(input, output, arena);
    if (status != 0) {
        sh_print_info("# invoke failed with status ", status);
        return status;
    }
    print_output();
    return 0;
}

int main(void)
{
    const int32_t n = (int32_t)((fw_inputs_end - fw_inputs_start) / MODEL_INPUT_SIZE);
    int32_t k;
    sh_print_info("# inputs: ", n);
    if (n == 0) {
        /* No embedded inputs: an all-zero input, written in place in the arena (which
         * invoke() accepts: it moves the input with memmove). */
        model_in_t *in = (model_in_t *)(void *)(arena + CAT(MODEL_PREFIX, _INPUT_ARENA_OFFSET));
        for (k = 0; k < MODEL_INPUT_COUNT; k++) {
            in[k] = 0;
        }
        if (run_one(in) != 0) {
            return 1;
        }
    }
    for (k = 0; k < n; k++) {
        /* inputs.S aligns the vectors to 16 bytes; each is MODEL_INPUT_SIZE bytes (even for int16). */
        if (run_one((const model_in_t *)(const void *)(fw_inputs_start + k * MODEL_INPUT_SIZE)) != 0) {
            return 1;
        }
    }
    sh_print_info("# stack bytes used: ", sh_stack_used());
    return 0;
}
