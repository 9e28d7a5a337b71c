/*
 * Minimal Cortex-M startup for QEMU mps2-an386: vector table, reset handler that
 * copies .data, zeroes .bss and paints the stack (so main can report its high-water
 * mark), and fault handlers that end the run through semihosting instead of hanging.
 */
#include <stdint.h>

#include "semihosting.h"

/* Linker-script symbols (mps2_an386.ld), declared as arrays: only their addresses count. */
extern uint32_t __data_start__[], __data_end__[], __data_load__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[], __stack_limit__[];

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

/* Only the first 16 system vectors: the program uses no device interrupt. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top__, /* initial stack pointer */
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};

void Reset_Handler(void)
{
    const uint32_t *src = __data_load__;
    uint32_t *dst = __data_start__;
    volatile uint32_t *p;
    uintptr_t sp;
    while (dst < __data_end__) {
        *dst++ = *src++;
    }
    for (dst = __bss_start__; dst < __bss_end__; dst++) {
        *dst = 0;
    }
    /* Paint the stack up to 64 bytes below the live frame; main reports how much of it
     * was used. volatile: the compiler must not turn this into a memset call. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = __stack_limit__; (uintptr_t)p < sp - 64u; p++) {
        *p = STACK_PAINT;
    }
    sh_exit(main());
}

/* Weak: a program may bring its own (tests/c/dvr_m4.c names the case that faulted). */
__attribute__((weak)) void Fault_Handler(void)
{
    sh_write0("# fault: the program crashed\n");
    sh_exit(3);
}
