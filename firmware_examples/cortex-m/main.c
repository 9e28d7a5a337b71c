/*
 * Cortex-M example for a model exported with `picoq export-c`: run the model on every
 * input vector embedded in flash (inputs.S), print each output as one line of decimal
 * bytes over semihosting (semihosting.c), then report the stack high-water mark and exit.
 * With no embedded inputs it runs once on an all-zero input (a size and smoke build).
 *
 * Written against MODEL_* names that the Makefile maps onto the exported model's, like
 * firmware_examples/host/main.c. Uses no libc: output formatting is done by hand.
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

#if CAT(MODEL_PREFIX, _NUM_INPUTS) != 1 || CAT(MODEL_PREFIX, _NUM_OUTPUTS) != 1
#error "this example runs models with one input and one output"
#endif

extern const int8_t fw_inputs_start[], fw_inputs_end[];

static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
static int8_t output[MODEL_OUTPUT_SIZE];

static int run_one(const int8_t *input)
{
    int status = MODEL_INVOKE(input, output, arena);
    if (status != 0) {
        sh_print_info("# invoke failed with status ", status);
        return status;
    }
    sh_print_bytes(output, MODEL_OUTPUT_SIZE, "\n");
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
        int8_t *in = (int8_t *)(arena + CAT(MODEL_PREFIX, _INPUT_ARENA_OFFSET));
        for (k = 0; k < MODEL_INPUT_SIZE; k++) {
            in[k] = 0;
        }
        if (run_one(in) != 0) {
            return 1;
        }
    }
    for (k = 0; k < n; k++) {
        if (run_one(fw_inputs_start + k * MODEL_INPUT_SIZE) != 0) {
            return 1;
        }
    }
    sh_print_info("# stack bytes used: ", sh_stack_used());
    return 0;
}
