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

#endif
