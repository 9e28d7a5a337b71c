/*
 * The bare-metal side of tests/c/dsp_vs_reference.c (QEMU mps2-an386, Cortex-M4, or
 * mps2-an385 for the Cortex-M3 build): startup and fault reporting, the semihosting
 * command line, text output without libc, and guarded buffers.
 *
 * Guarded buffers: each case lays its buffers out in `slots` between 32-byte guard
 * regions that the MPU makes inaccessible (8 regions, so up to 7 slots), so a load or
 * store just past a buffer's end or just before its start faults; the fault handler
 * reports the case being run. A slot's bytes that are not its buffer are filled with a
 * canary pattern that dvr_guard_check() verifies after every kernel (a stray store a
 * guard did not catch), and the buffer sits flush against its slot's end guard or its
 * start guard, chosen per buffer.
 */
#ifndef DVR_M4_H
#define DVR_M4_H

#include <stddef.h>
#include <stdint.h>

/* ---- text output (semihosting SYS_WRITE0), one line buffer ---- */
void dvr_puts(const char *s);  /* append */
void dvr_putl(int32_t v);      /* append a decimal value */
void dvr_putu(uint32_t v, int hex);
void dvr_flush(void);          /* write the line buffer (it holds newlines as given) */

/* ---- the semihosting command line (QEMU -semihosting-config arg=...): argv-like words ---- */
int dvr_cmdline(char **words, int max_words);

/* ---- what the fault handler prints before it exits with status 3 ---- */
typedef void (*dvr_describe_fn)(void);
extern volatile dvr_describe_fn dvr_on_fault; /* prints the running case, or NULL */
extern volatile const char *dvr_running;      /* "dsp kernel", "reference kernel", "harness" */

/* ---- guarded buffers ---- */
#define DVR_MAX_SLOTS 7
void dvr_guard_reset(void);                             /* MPU off, no slots */
/* A buffer of n bytes (n >= 1) in a new slot, flush against its end guard (front == 0)
 * or its start guard (front != 0). 4-byte aligned if n is a multiple of 4. */
void *dvr_guard_alloc(const char *name, int32_t n, int front);
void dvr_guard_arm(void);                               /* canaries written, MPU on */
void dvr_guard_disarm(void);                            /* MPU off */
/* The name of the first slot whose canary bytes changed, or NULL; *at = offset of the
 * changed byte from the buffer's start (negative: before it). */
const char *dvr_guard_check(int32_t *at);
/* The slot holding or guarding address a, for fault reports ("after <name>"). */
void dvr_guard_where(uint32_t a);

#endif /* DVR_M4_H */
