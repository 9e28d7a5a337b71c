/*
 * ARM semihosting, the two calls this firmware needs: write a string to the
 * debugger's (here QEMU's) console, and end the run with a status. A BKPT 0xAB traps
 * to the host; on real hardware without a debugger attached it would fault, so
 * production firmware replaces these with a UART.
 */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

#include <stdint.h>

#define STACK_PAINT 0xC0FFEE11u

void sh_write0(const char *s);
void sh_exit(int status) __attribute__((noreturn));

/* Output helpers the examples share, no libc: "label<value>\n"; n bytes as decimal
 * values separated by spaces, then `end` (e.g. "\n"), sent in pieces: no buffer the size
 * of the output. */
void sh_print_info(const char *label, int32_t value);
void sh_print_bytes(const int8_t *bytes, int32_t n, const char *end);
/* The same for n int16 values (a 16x8 model's output). */
void sh_print_int16s(const int16_t *values, int32_t n, const char *end);
/* Bytes of stack ever used: the painted words (startup.c) that are no longer paint. */
int32_t sh_stack_used(void);

#endif
