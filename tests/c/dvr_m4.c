/*
 * Bare-metal support of tests/c/dsp_vs_reference.c (see dvr_m4.h): a fault handler that
 * names the case that faulted (replacing the weak one of firmware_examples/cortex-m/
 * startup.c, whose vector table and reset handler the harness uses), text output and the
 * command line over semihosting (firmware_examples/cortex-m/semihosting.c writes and
 * exits), and MPU-guarded buffers.
 * Linked with firmware_examples/cortex-m/mps2_an386.ld.
 */
#include "dvr_m4.h"

#include <string.h>

#include "semihosting.h"

/* ---- system control block and MPU (ARMv7-M) ---- */
#define REG(a) (*(volatile uint32_t *)(a))
#define SCB_SHCSR REG(0xE000ED24u)
#define SCB_CFSR REG(0xE000ED28u)
#define SCB_HFSR REG(0xE000ED2Cu)
#define SCB_MMFAR REG(0xE000ED34u)
#define SCB_BFAR REG(0xE000ED38u)
#define MPU_CTRL REG(0xE000ED94u)
#define MPU_RNR REG(0xE000ED98u)
#define MPU_RBAR REG(0xE000ED9Cu)
#define MPU_RASR REG(0xE000EDA0u)

volatile dvr_describe_fn dvr_on_fault;
volatile const char *dvr_running = "harness";

/* ---- faults ---- */
void Fault_Handler(void);
void dvr_fault(const uint32_t *frame);

/* The stacked frame (r0-r3, r12, lr, pc, xpsr) of whichever stack was in use. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b dvr_fault\n\t");
}

void dvr_fault(const uint32_t *frame)
{
    const uint32_t cfsr = SCB_CFSR, hfsr = SCB_HFSR, mmfar = SCB_MMFAR, bfar = SCB_BFAR;
    dvr_guard_disarm();
    dvr_flush();
    dvr_puts("FAULT in the ");
    dvr_puts((const char *)dvr_running);
    dvr_puts(": CFSR ");
    dvr_putu(cfsr, 1);
    dvr_puts(" HFSR ");
    dvr_putu(hfsr, 1);
    dvr_puts(" pc ");
    dvr_putu(frame[6], 1);
    if (cfsr & 0x80u) { /* MMARVALID */
        dvr_puts(" data address ");
        dvr_putu(mmfar, 1);
        dvr_guard_where(mmfar);
    } else if (cfsr & 0x8000u) { /* BFARVALID */
        dvr_puts(" bus address ");
        dvr_putu(bfar, 1);
    }
    dvr_puts("\n");
    if (dvr_on_fault != NULL) {
        dvr_on_fault();
    }
    dvr_flush();
    sh_exit(3);
}

/* ---- text ---- */
static char g_line[256];
static int g_len;

void dvr_flush(void)
{
    if (g_len > 0) {
        g_line[g_len] = '\0';
        sh_write0(g_line);
        g_len = 0;
    }
}

void dvr_puts(const char *s)
{
    while (*s != '\0') {
        if (g_len == (int)sizeof g_line - 1) {
            dvr_flush();
        }
        g_line[g_len++] = *s++;
    }
}

void dvr_putu(uint32_t v, int hex)
{
    char digits[12];
    int n = 0;
    const uint32_t base = hex ? 16u : 10u;
    if (hex) {
        dvr_puts("0x");
    }
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0u);
    while (n > 0) {
        char one[2];
        one[0] = digits[--n];
        one[1] = '\0';
        dvr_puts(one);
    }
}

void dvr_putl(int32_t v)
{
    if (v < 0) {
        dvr_puts("-");
        dvr_putu(0u - (uint32_t)v, 0);
    } else {
        dvr_putu((uint32_t)v, 0);
    }
}

/* ---- command line ---- */
#define SYS_GET_CMDLINE 0x15

static uintptr_t sh_call(uintptr_t op, uintptr_t arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int dvr_cmdline(char **words, int max_words)
{
    static char buf[512];
    uint32_t block[2];
    char *p = buf;
    int n = 0;
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = sizeof buf;
    if (sh_call(SYS_GET_CMDLINE, (uintptr_t)block) != 0) {
        return 0;
    }
    buf[sizeof buf - 1] = '\0';
    while (*p != '\0' && n < max_words) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        words[n++] = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
    }
    return n;
}

/* ---- guarded buffers ---- */
#define GUARD 32 /* the MPU's smallest region */
#define ARENA (448 * 1024)

typedef struct {
    const char *name;
    uint8_t *body, *buf;
    int32_t body_len, n;
} slot;

static uint8_t g_arena[ARENA] __attribute__((aligned(GUARD)));
static slot g_slots[DVR_MAX_SLOTS];
static int g_nslots;
static int32_t g_used; /* bytes of g_arena laid out: guard, body, guard, body, ..., guard */

static uint8_t canary(const uint8_t *a)
{
    return (uint8_t)(((uint32_t)(uintptr_t)a * 2654435761u) >> 24);
}

void dvr_guard_disarm(void)
{
    MPU_CTRL = 0;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void dvr_guard_reset(void)
{
    dvr_guard_disarm();
    g_nslots = 0;
    g_used = GUARD;
}

void *dvr_guard_alloc(const char *name, int32_t n, int front)
{
    slot *s = &g_slots[g_nslots];
    const int32_t body_len = (n + 16 + GUARD - 1) / GUARD * GUARD; /* >= 16 canary bytes */
    if (g_nslots == DVR_MAX_SLOTS || n < 1 || body_len + GUARD > ARENA - g_used) {
        dvr_flush();
        dvr_puts("harness error: guarded buffer ");
        dvr_puts(name);
        dvr_puts(" of ");
        dvr_putl(n);
        dvr_puts(" bytes does not fit\n");
        dvr_flush();
        sh_exit(2);
    }
    s->name = name;
    s->n = n;
    s->body = g_arena + g_used;
    s->body_len = body_len;
    s->buf = front ? s->body : s->body + body_len - n;
    g_used += body_len + GUARD;
    ++g_nslots;
    return s->buf;
}

void dvr_guard_arm(void)
{
    uint32_t region;
    int i;
    for (i = 0; i < g_nslots; ++i) {
        const slot *s = &g_slots[i];
        uint8_t *p;
        for (p = s->body; p < s->buf; ++p) {
            *p = canary(p);
        }
        for (p = s->buf + s->n; p < s->body + s->body_len; ++p) {
            *p = canary(p);
        }
    }
    /* Guard k sits before slot k's body (the last one after the last body). */
    for (region = 0; region < 8u; ++region) {
        MPU_RNR = region;
        if (region <= (uint32_t)g_nslots) {
            const uint8_t *g = region < (uint32_t)g_nslots ? g_slots[region].body - GUARD : g_arena + g_used - GUARD;
            MPU_RBAR = (uint32_t)(uintptr_t)g;
            /* XN, AP 000 (no access, privileged or not), size 2^(4+1) = 32 bytes, enabled */
            MPU_RASR = (1u << 28) | (0u << 24) | (4u << 1) | 1u;
        } else {
            MPU_RASR = 0;
        }
    }
    /* MemManage, BusFault and UsageFault get their own status (else all are HardFaults). */
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    MPU_CTRL = (1u << 2) | 1u; /* PRIVDEFENA: everything else keeps the default map */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

const char *dvr_guard_check(int32_t *at)
{
    int i;
    for (i = 0; i < g_nslots; ++i) {
        const slot *s = &g_slots[i];
        const uint8_t *p;
        for (p = s->body; p < s->body + s->body_len; ++p) {
            if ((p < s->buf || p >= s->buf + s->n) && *p != canary(p)) {
                *at = (int32_t)(p - s->buf);
                return s->name;
            }
        }
    }
    return NULL;
}

void dvr_guard_where(uint32_t a)
{
    int g;
    for (g = 0; g <= g_nslots; ++g) {
        const uint32_t lo = (uint32_t)(uintptr_t)(g < g_nslots ? g_slots[g].body - GUARD : g_arena + g_used - GUARD);
        if (a < lo || a >= lo + GUARD) {
            continue;
        }
        dvr_puts(" (a guard: ");
        if (g > 0) {
            const slot *s = &g_slots[g - 1];
            dvr_puts("byte ");
            dvr_putl((int32_t)(a - (uint32_t)(uintptr_t)s->buf));
            dvr_puts(" of ");
            dvr_puts(s->name);
            dvr_puts(" [");
            dvr_putl(s->n);
            dvr_puts(" bytes]");
        }
        if (g > 0 && g < g_nslots) {
            dvr_puts(", or ");
        }
        if (g < g_nslots) {
            const slot *s = &g_slots[g];
            dvr_puts("byte ");
            dvr_putl((int32_t)(a - (uint32_t)(uintptr_t)s->buf));
            dvr_puts(" of ");
            dvr_puts(s->name);
            dvr_puts(" [");
            dvr_putl(s->n);
            dvr_puts(" bytes]");
        }
        dvr_puts(")");
        return;
    }
}
