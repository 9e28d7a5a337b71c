/*
 * Host example for a model exported with `picoq export-c`: read raw input vectors of the
 * model's input type (int8, or int16 little-endian for a 16x8 model; from the file named on
 * the command line, or stdin), run the model on each, print each output as one line of
 * decimal values.
 *
 * Written against MODEL_* names that the Makefile maps onto the exported model's
 * (-DMODEL_NAME=kws -DMODEL_PREFIX=KWS -DMODEL_HEADER='"kws_model.h"'), so the same
 * file builds any model with one input and one output.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL_INVOKE CAT(MODEL_NAME, _invoke)
#define MODEL_ARENA_SIZE CAT(MODEL_PREFIX, _ARENA_SIZE)
#define MODEL_INPUT_SIZE CAT(MODEL_PREFIX, _INPUT_SIZE)
#define MODEL_OUTPUT_SIZE CAT(MODEL_PREFIX, _OUTPUT_SIZE) /* bytes */
#define MODEL_INPUT_TYPE CAT(MODEL_PREFIX, _INPUT_TYPE)
#define MODEL_OUTPUT_TYPE CAT(MODEL_PREFIX, _OUTPUT_TYPE)

#if CAT(MODEL_PREFIX, _NUM_INPUTS) != 1 || CAT(MODEL_PREFIX, _NUM_OUTPUTS) != 1
#error "this example runs models with one input and one output"
#endif

/* 16-byte aligned, as the header asks. */
#if defined(__GNUC__) || defined(__clang__)
static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
#else
static uint8_t arena[MODEL_ARENA_SIZE];
#endif
static MODEL_INPUT_TYPE input[MODEL_INPUT_SIZE / sizeof(MODEL_INPUT_TYPE)];
static MODEL_OUTPUT_TYPE output[MODEL_OUTPUT_SIZE / sizeof(MODEL_OUTPUT_TYPE)];

int main(int argc, char **argv)
{
    FILE *f = stdin;
    size_t got;
    long count = 0;
    int i;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [input.bin]  (raw input vectors of %d bytes; default stdin)\n",
                argv[0], (int)MODEL_INPUT_SIZE);
        return 2;
    }
    if (argc == 2 && (f = fopen(argv[1], "rb")) == NULL) {
        perror(argv[1]);
        return 1;
    }
    while ((got = fread(input, 1, sizeof input, f)) == sizeof input) {
        int status = MODEL_INVOKE(input, output, arena);
        if (status != 0) {
            fprintf(stderr, "invoke failed with status %d on vector %ld\n", status, count);
            return 1;
        }
        for (i = 0; i < (int)(sizeof output / sizeof output[0]); i++) {
            printf(i ? " %d" : "%d", (int)output[i]);
        }
        putchar('\n');
        count++;
    }
    if (f != stdin) {
        fclose(f);
    }
    if (got != 0 || count == 0) {
        fprintf(stderr, "input: %ld complete vectors and %lu trailing bytes; each vector is %d bytes\n",
                count, (unsigned long)got, (int)MODEL_INPUT_SIZE);
        return 1;
    }
    return 0;
}
