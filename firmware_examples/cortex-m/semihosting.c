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
