/*
 * Cortex-M example for a model exported with `picoq export-c`: run the model on every
 * input vector embedded in flash (inputs.S), print each output as one line of decimal
 * bytes over semihosting, then report the stack high-water mark and exit.
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
extern uint32_t __stack_top__[], __stack_limit__[]; /* mps2_an386.ld */

static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
static int8_t output[MODEL_OUTPUT_SIZE];
static char line[128]; /* sent in pieces: RAM stays independent of the output size */

/* Decimal text of v at p; returns the end. */
static char *put_int(char *p, int32_t v)
{
    char digits[11];
    int n = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    if (v < 0) {
        *p++ = '-';
    }
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0u);
    while (n > 0) {
        *p++ = digits[--n];
    }
    return p;
}

static void print_info(const char *label, int32_t value)
{
    char buf[64];
    char *p = buf;
    while (*label != '\0') {
        *p++ = *label++;
    }
    p = put_int(p, value);
    *p++ = '\n';
    *p = '\0';
    sh_write0(buf);
}

static int run_one(const int8_t *input)
{
    char *p = line;
    int i;
    int status = MODEL_INVOKE(input, output, arena);
    if (status != 0) {
        print_info("# invoke failed with status ", status);
        return status;
    }
    for (i = 0; i < MODEL_OUTPUT_SIZE; i++) {
        if (p - line > (int)sizeof line - 8) { /* room for " -128\n" and NUL */
            *p = '\0';
            sh_write0(line);
            p = line;
        }
        if (i != 0) {
            *p++ = ' ';
        }
        p = put_int(p, output[i]);
    }
    *p++ = '\n';
    *p = '\0';
    sh_write0(line);
    return 0;
}

/* Bytes of stack ever used: the painted words (startup.c) that are no longer paint. */
static int32_t stack_used(void)
{
    const uint32_t *p = __stack_limit__;
    while (p < __stack_top__ && *p == STACK_PAINT) {
        p++;
    }
    return (int32_t)((const uint8_t *)__stack_top__ - (const uint8_t *)p);
}

int main(void)
{
    const int32_t n = (int32_t)((fw_inputs_end - fw_inputs_start) / MODEL_INPUT_SIZE);
    int32_t k;
    print_info("# inputs: ", n);
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
    print_info("# stack bytes used: ", stack_used());
    return 0;
}
