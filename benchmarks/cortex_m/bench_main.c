/*
 * Benchmark firmware of benchmarks/cortex_m.py: instructions of one inference of a model
 * exported with `picoq export-c`, on QEMU's mps2-an386 (Cortex-M4) run with
 * `-icount shift=0`, where every instruction advances virtual time by exactly 1 ns.
 *
 * The counter is the board's CMSDK APB timer 0, free-running down from 0xFFFFFFFF on the
 * 25 MHz peripheral clock: one tick per 40 instructions. A window is the ticks between
 * two reads of it, so one reading is off by up to one tick. Each pass therefore starts
 * at the same phase of a tick (sync_tick), then waits 3k more instructions (k = the
 * pass number): over 40 passes every window starts once at each of the 40 instruction
 * phases of a tick, and the sum of its 40 readings (ticks x 40 / 40 passes) is its exact
 * instruction count. The host checks that on a loop of known length (calibrate).
 *
 * Compiled by the host with MODEL_HEADER, MODEL_NAME and MODEL_PREFIX (as
 * firmware_examples/cortex-m/main.c), BENCH_NUM_OPS (ops of the model) and
 * BENCH_PROFILE: 1 when model.c was compiled with -include prof.h, whose PQ_OP_BEGIN /
 * PQ_OP_END hooks call bench_op_begin / bench_op_end below, to time each op; and
 * BENCH_FALLBACK_WORDS: the length of the kernel set's pq_cmsis_fallbacks[] counters (the
 * CMSIS-NN shim's calls handed to picoq's reference code), 0 when it has none.
 *
 * Run-time arguments (QEMU's -semihosting-config arg=...): "bench PASSES CALIBRATE".
 * Prints "# key: value" lines, then the output bytes of the last pass and the stack
 * high-water mark (semihosting.c's painted stack, as main.c reports it): of the whole run,
 * and of the last pass alone, the stack painted again just before it. Exits non-zero on
 * any failure. Runs its one input (inputs.S): int8, or int16 for a 16x8 model.
 */
#include <stdint.h>

#include "prof.h"
#include "semihosting.h"
#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL_INVOKE CAT(MODEL_NAME, _invoke)
#define MODEL_ARENA_SIZE CAT(MODEL_PREFIX, _ARENA_SIZE)
#define MODEL_INPUT_SIZE CAT(MODEL_PREFIX, _INPUT_SIZE)
#define MODEL_OUTPUT_SIZE CAT(MODEL_PREFIX, _OUTPUT_SIZE)
/* The model's I/O element type, from its header: int8_t, or int16_t for a 16x8 model. The
 * SIZE macros are bytes; the input is raw little-endian bytes of that type (inputs.S), and the
 * output is printed as its bytes, which the host compares with the interpreter's. */
typedef CAT(MODEL_PREFIX, _INPUT_TYPE) model_in_t;
typedef CAT(MODEL_PREFIX, _OUTPUT_TYPE) model_out_t;

#if CAT(MODEL_PREFIX, _NUM_INPUTS) != 1 || CAT(MODEL_PREFIX, _NUM_OUTPUTS) != 1
#error "the benchmark runs models with one input and one output"
#endif

/* CMSDK APB timer 0 of mps2-an386. */
#define TIMER_BASE 0x40000000u
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER_BASE + 0u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER_BASE + 4u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER_BASE + 8u))

/* Calibration: a loop of known length timed once (big) and over 40 phases (small). */
#define CALIB_BIG 1000000u
#define CALIB_SMALL 1000u
#define CALIB_PASSES 40u
#define SYNC_TRIES 200u

#define SYS_GET_CMDLINE 0x15

extern const int8_t fw_inputs_start[], fw_inputs_end[];
extern uint32_t __stack_limit__[]; /* mps2_an386.ld */
#if BENCH_FALLBACK_WORDS > 0
extern uint32_t pq_cmsis_fallbacks[BENCH_FALLBACK_WORDS];
#endif

static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
static model_out_t output[MODEL_OUTPUT_SIZE / sizeof(model_out_t)];
static model_out_t first_output[MODEL_OUTPUT_SIZE / sizeof(model_out_t)];

/* Accumulated ticks: the hooks' own cost (two reads, nothing between), one inference,
 * and per op (the last slot: an op window with nothing in it). */
static uint32_t empty_ticks, invoke_ticks;
static uint32_t op_t0;
static uint32_t op_ticks[BENCH_NUM_OPS + 1];

/* The timer reads are functions that are never inlined, cloned or given a custom
 * calling convention (noipa, GCC): every window has the same fixed cost around its
 * reads, measured by the empty windows, and the exec trace (benchmarks/cortex_m_qemu.py)
 * finds the windows by these functions' addresses. */
__attribute__((noipa)) uint32_t bench_now(void)
{
    return TIMER_VALUE;
}

__attribute__((noipa)) void bench_op_begin(void)
{
    op_t0 = TIMER_VALUE;
}

__attribute__((noipa)) void bench_op_end(uint32_t index)
{
    uint32_t t = TIMER_VALUE;
    op_ticks[index] += op_t0 - t;
}

/* Ticks of a window of exactly 4 * LOOPS + 3 instructions: the two instructions that
 * load the count, the loop of 4, and one of the two reads. LOOPS: a constant < 2^32. */
#define CALIB_WINDOW(LOOPS, ticks)                                                        \
    do {                                                                                  \
        uint32_t a_, b_;                                                                  \
        __asm__ volatile("ldr %[a], [%[t], #4]\n\t"                                      \
                         "movw r0, #%c[lo]\n\t"                                          \
                         "movt r0, #%c[hi]\n"                                             \
                         "1:\n\t"                                                         \
                         "subs r0, r0, #1\n\t"                                            \
                         "nop\n\t"                                                        \
                         "nop\n\t"                                                        \
                         "bne 1b\n\t"                                                     \
                         "ldr %[b], [%[t], #4]\n"                                         \
                         : [a] "=&r"(a_), [b] "=&r"(b_)                                   \
                         : [t] "r"(TIMER_BASE), [lo] "i"((LOOPS) & 0xFFFFu),              \
                           [hi] "i"((LOOPS) >> 16)                                        \
                         : "r0", "cc", "memory");                                         \
        (ticks) = a_ - b_;                                                                \
    } while (0)

/* Waits until two reads 41 instructions apart see two ticks pass, which happens only
 * when the second read is the first at a tick edge: the program then goes on at one
 * fixed phase of the tick. Each try moves the reads by one instruction against the
 * ticks, so 40 tries suffice; returns 0 when they do not (a timer not ticking every 40
 * instructions, or QEMU run without -icount). */
static uint32_t sync_tick(void)
{
    uint32_t tries = SYNC_TRIES, prev, cur, diff;
    __asm__ volatile(
        "ldr %[prev], [%[t], #4]\n\t"
        ".rept 6\n\tnop\n\t.endr\n" /* the first interval is 41 instructions too */
        "1:\n\t"
        ".rept 34\n\tnop\n\t.endr\n\t"
        "ldr %[cur], [%[t], #4]\n\t"
        "subs %[diff], %[prev], %[cur]\n\t"
        "mov %[prev], %[cur]\n\t"
        "cmp %[diff], #2\n\t"
        "beq 2f\n\t"
        "subs %[tries], %[tries], #1\n\t"
        "bne 1b\n"
        "2:\n"
        : [prev] "=&r"(prev), [cur] "=&r"(cur), [diff] "=&r"(diff), [tries] "+r"(tries)
        : [t] "r"(TIMER_BASE)
        : "cc", "memory");
    return tries;
}

/* 3 * (n + 1) + 1 instructions. */
static void delay3(uint32_t n)
{
    __asm__ volatile(
        "adds %[n], %[n], #1\n"
        "1:\n\t"
        "subs %[n], %[n], #1\n\t"
        "nop\n\t"
        "bne 1b\n"
        : [n] "+r"(n)
        :
        : "cc");
}

/* Puts pass k at phase 3k (mod 40) of a tick; 0 if the timer would not sync. */
static uint32_t phase(uint32_t k)
{
    if (sync_tick() == 0u) {
        return 0u;
    }
    delay3(k);
    return 1u;
}

static uint32_t parse_uint(const char **s)
{
    uint32_t v = 0u;
    while (**s == ' ') {
        (*s)++;
    }
    while (**s >= '0' && **s <= '9') {
        v = v * 10u + (uint32_t)(**s - '0');
        (*s)++;
    }
    return v;
}

/* "bench PASSES CALIBRATE" from QEMU (-semihosting-config arg=bench,arg=40,arg=1). */
static void read_args(uint32_t *passes, uint32_t *calibrate)
{
    static char line[64];
    struct {
        char *buf;
        int32_t len;
    } block = {line, (int32_t)sizeof line};
    register uintptr_t r0 __asm__("r0") = SYS_GET_CMDLINE;
    register uintptr_t r1 __asm__("r1") = (uintptr_t)&block;
    const char *s = line;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    if (r0 != 0u) {
        return;
    }
    while (*s != '\0' && *s != ' ') { /* the program name */
        s++;
    }
    *passes = parse_uint(&s);
    *calibrate = parse_uint(&s);
}

/* Each pass: the empty windows, then one timed inference (in the profiled build, also
 * each op's window inside it). Returns 0, or the failure to report. */
static int pass(uint32_t k, const model_in_t *input)
{
    uint32_t a, b;
    int status;
    if (phase(k) == 0u) {
        sh_write0("# fault: the timer does not tick every 40 instructions (-icount shift=0?)\n");
        return 2;
    }
    a = bench_now();
    b = bench_now();
    empty_ticks += a - b;
#if BENCH_PROFILE
    bench_op_begin();
    bench_op_end(BENCH_NUM_OPS);
#endif
    a = bench_now();
    status = MODEL_INVOKE(input, output, arena);
    b = bench_now();
    invoke_ticks += a - b;
    if (status != 0) {
        sh_print_info("# fault: invoke returned ", status);
        return 1;
    }
    return 0;
}

/* Paints the free stack again, as startup.c does at reset, so that sh_stack_used() then
 * measures what runs from here on (plus the frames above this one). */
static void repaint_stack(void)
{
    volatile uint32_t *p;
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = __stack_limit__; (uintptr_t)p < sp - 64u; p++) {
        *p = STACK_PAINT;
    }
}

static int same_output(void)
{
    int32_t i;
    for (i = 0; i < (int32_t)(MODEL_OUTPUT_SIZE / sizeof(model_out_t)); i++) {
        if (output[i] != first_output[i]) {
            return 0;
        }
    }
    return 1;
}

static void calibrate(void)
{
    uint32_t k, t, ticks = 0u;
    CALIB_WINDOW(CALIB_BIG, t);
    sh_print_info("# calib big instructions: ", (int32_t)(4u * CALIB_BIG + 3u));
    sh_print_info("# calib big ticks: ", (int32_t)t);
    for (k = 0u; k < CALIB_PASSES; k++) {
        if (phase(k) == 0u) {
            sh_write0("# fault: the timer does not tick every 40 instructions (-icount shift=0?)\n");
            sh_exit(2);
        }
        CALIB_WINDOW(CALIB_SMALL, t);
        ticks += t;
    }
    sh_print_info("# calib small instructions: ", (int32_t)(4u * CALIB_SMALL + 3u));
    sh_print_info("# calib small passes: ", (int32_t)CALIB_PASSES);
    sh_print_info("# calib small ticks: ", (int32_t)ticks);
}

int main(void)
{
    uint32_t passes = 1u, calib = 1u, k, mismatches = 0u;
    int32_t i, stack_inference = 0;
    if (fw_inputs_end - fw_inputs_start != MODEL_INPUT_SIZE) {
        sh_print_info("# fault: embedded input bytes are not the model's ", MODEL_INPUT_SIZE);
        return 1;
    }
    read_args(&passes, &calib);
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = 1u; /* enable, no interrupt, internal clock */
    if (calib != 0u) {
        calibrate();
    }
    for (k = 0u; k < passes; k++) {
        int status;
        if (k + 1u == passes) {
            repaint_stack();
        }
        status = pass(k, (const model_in_t *)(const void *)fw_inputs_start); /* .balign 16 */
        if (status != 0) {
            return status;
        }
        if (k + 1u == passes) {
            stack_inference = sh_stack_used();
        }
        if (k == 0u) {
            for (i = 0; i < (int32_t)(MODEL_OUTPUT_SIZE / sizeof(model_out_t)); i++) {
                first_output[i] = output[i];
            }
        } else if (!same_output()) {
            mismatches++;
        }
    }
    sh_print_info("# passes: ", (int32_t)passes);
    sh_print_info("# arena bytes: ", MODEL_ARENA_SIZE);
    sh_print_info("# profile: ", BENCH_PROFILE);
    sh_print_info("# empty ticks: ", (int32_t)empty_ticks);
    sh_print_info("# invoke ticks: ", (int32_t)invoke_ticks);
    sh_print_info("# pass mismatches: ", (int32_t)mismatches);
    sh_print_info("# stack bytes used by a pass: ", stack_inference);
#if BENCH_FALLBACK_WORDS > 0
    for (i = 0; i < BENCH_FALLBACK_WORDS; i++) {
        sh_print_info("# fallback calls: ", (int32_t)pq_cmsis_fallbacks[i]);
    }
#endif
#if BENCH_PROFILE
    for (i = 0; i <= BENCH_NUM_OPS; i++) {
        sh_print_info("# op ticks: ", (int32_t)op_ticks[i]);
    }
#endif
    sh_print_bytes((const int8_t *)(const void *)output, MODEL_OUTPUT_SIZE, "\n");
    sh_print_info("# stack bytes used: ", sh_stack_used());
    return 0;
}
