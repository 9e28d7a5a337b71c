#include "semihosting.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026 /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023    /* QEMU exits with status 1 */

static uintptr_t sh_call(uintptr_t op, uintptr_t arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write0(const char *s)
{
    sh_call(SYS_WRITE0, (uintptr_t)s);
}

void sh_exit(int status)
{
    /* 32-bit SYS_EXIT takes only a reason code: success or not is all the host sees. */
    sh_call(SYS_EXIT, status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
    for (;;) {
    }
}

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

void sh_print_info(const char *label, int32_t value)
{
    char buf[64];
    char *p = buf;
    while (*label != '\0' && p < buf + sizeof buf - 13) {
        *p++ = *label++;
    }
    p = put_int(p, value);
    *p++ = '\n';
    *p = '\0';
    sh_write0(buf);
}

/* n values, element i read by get(data, i), as decimal separated by spaces, then `end`. */
static void print_values(const void *data, int32_t n, int32_t (*get)(const void *, int32_t), const char *end)
{
    static char line[128];
    char *p = line;
    int32_t i;
    for (i = 0; i < n; i++) {
        if (p - line > (int)sizeof line - 8) { /* room for " -32768" and NUL */
            *p = '\0';
            sh_write0(line);
            p = line;
        }
        if (i != 0) {
            *p++ = ' ';
        }
        p = put_int(p, get(data, i));
    }
    *p = '\0';
    sh_write0(line);
    sh_write0(end);
}

static int32_t get_int8(const void *data, int32_t i)
{
    return ((const int8_t *)data)[i];
}

static int32_t get_int16(const void *data, int32_t i)
{
    return ((const int16_t *)data)[i];
}

void sh_print_bytes(const int8_t *bytes, int32_t n, const char *end)
{
    print_values(bytes, n, get_int8, end);
}

void sh_print_int16s(const int16_t *values, int32_t n, const char *end)
{
    print_values(values, n, get_int16, end);
}

extern uint32_t __stack_top__[], __stack_limit__[]; /* mps2_an386.ld */

int32_t sh_stack_used(void)
{
    const uint32_t *p = __stack_limit__;
    while (p < __stack_top__ && *p == STACK_PAINT) {
        p++;
    }
    return (int32_t)((const uint8_t *)__stack_top__ - (const uint8_t *)p);
}
