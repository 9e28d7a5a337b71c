/*
 * Per-op profiling hooks of benchmarks/cortex_m.py: the profiled build compiles the
 * exported model.c with `-include prof.h`, so each op's PQ_OP_BEGIN / PQ_OP_END reads
 * the timer and bench_main.c adds the ticks between them to that op's total.
 * bench_main.c includes it too, for the declarations.
 */
#ifndef BENCH_PROF_H
#define BENCH_PROF_H

#include <stdint.h>

uint32_t bench_now(void);
void bench_op_begin(void);
void bench_op_end(uint32_t index);

#define PQ_OP_BEGIN(index) bench_op_begin()
#define PQ_OP_END(index) bench_op_end(index)

#endif /* BENCH_PROF_H */
