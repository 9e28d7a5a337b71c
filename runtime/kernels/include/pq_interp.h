/*
 * The picoq interpreter core: runs a .picoq buffer as it lies in memory (a
 * file mapped on Linux, a const array in flash, bytes received over the air).
 * The Python extension, the C test harnesses and firmware all call it.
 *
 * In the style of CMSIS-NN's *_get_buffer_size + run: the caller asks how much
 * memory a model needs, provides it, prepares once and invokes many times.
 *
 *     pq_interp_sizes sz;
 *     pq_interp_options opt = pq_interp_defaults();      // reference kernels
 *     if (pq_interp_plan(buf, len, &opt, &sz, &err)) ...  // validates the buffer
 *     // state: sz.state_bytes, arena: sz.arena_bytes, both 64-byte aligned
 *     if (pq_interp_prepare(&it, buf, len, &opt, state, sz.state_bytes, arena, sz.arena_bytes, &err)) ...
 *     memcpy(pq_interp_input(&it, 0)->data, x, pq_interp_input(&it, 0)->count);
 *     if (pq_interp_invoke(&it)) ...                      // it.failed_op says which op
 *
 * No malloc, no float, no libc beyond <string.h>; C99. `buf` must stay where it
 * is while the interpreter lives (constants are used in place), 16-byte aligned,
 * on a little-endian core (every Cortex-M, aarch64 and x86 is).
 *
 * Memory: the arena holds the activations at the offsets the converter planned
 * (docs/FORMAT.md), then one scratch buffer sized for the chosen kernels (the
 * reference kernels need none); the state holds the tensor table, one node per
 * op and the fast kernels' prepared constants.
 */
#ifndef PQ_INTERP_H
#define PQ_INTERP_H

#include <stddef.h>
#include <stdint.h>

#include "pq_model.h"
#include "pq_op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What pq_interp_* return. */
typedef enum {
    PQ_INTERP_OK = 0,
    PQ_INTERP_E_MODEL = 1,      /* the buffer is not a valid .picoq file: see the pq_model_error */
    PQ_INTERP_E_ALIGN = 2,      /* buffer, state or arena not aligned (16, 64, 64 bytes) */
    PQ_INTERP_E_ENDIAN = 3,     /* a big-endian core: the file's structs cannot be used in place */
    PQ_INTERP_E_STATE_SIZE = 4, /* state smaller than pq_interp_plan said */
    PQ_INTERP_E_ARENA_SIZE = 5, /* arena smaller than pq_interp_plan said */
    PQ_INTERP_E_OPTIONS = 6,    /* unknown kernels / isa, or an isa this build or CPU lacks */
    PQ_INTERP_E_KERNEL = 7,     /* invoke: a kernel refused its arguments (failed_op says which) */
    PQ_INTERP_N_STATUS
} pq_interp_status;

/* A one-line description of a status, e.g. "arena smaller than planned". */
const char *pq_interp_status_text(int status);

/* Threads, without pthreads in the core: a split op's part `part` on thread `thread` (0: the
 * caller) returns 0 or a nonzero status; `parallel` runs parts 0 .. n_parts - 1, the caller's
 * thread taking some, and returns when all are done: 0 or the first nonzero status (the Linux
 * runtime passes pq_threadpool_run, pq_threadpool.h). */
typedef int (*pq_part_fn)(void *task_ctx, int32_t part, int32_t thread);
typedef int (*pq_parallel_fn)(void *parallel_ctx, pq_part_fn task, void *task_ctx, int32_t n_parts);

/* Split only ops estimated to take at least this long on one thread: handing parts to a
 * spinning worker and waiting for them costs about 0.5-1 us (cache lines crossing cores) and
 * each thread then works on less data; on the MLPerf layers ops under ~4 us ran no faster. */
#define PQ_PARALLEL_MIN_NS 5000

typedef struct {
    int32_t kernels;     /* PQ_KERNEL_REFERENCE (what firmware runs) or PQ_KERNEL_FAST */
    int32_t isa;         /* PQ_KERNEL_FAST: the instruction set (pq_fast.h pq_isa) */
    uint32_t max_arena;  /* refuse a file whose arena needs more bytes than this */
    int32_t validated;   /* 1: the caller already ran pq_model_validate on this very buffer */
    /* PQ_KERNEL_FAST on several threads: prepare splits each op worth it into at most
     * num_threads parts (1: none); invoke runs a split op's parts through `parallel` (NULL:
     * one after another on the calling thread), thread t >= 1 working in thread_scratch[t]
     * (sizes.scratch_bytes each, 64-byte aligned; the caller's, read at invoke). */
    int32_t num_threads;
    int64_t min_parallel_ns;
    pq_parallel_fn parallel;
    void *parallel_ctx;
    void *const *thread_scratch;
} pq_interp_options;

/* Reference kernels, PQ_MODEL_DEFAULT_MAX_ARENA, validate, one thread, PQ_PARALLEL_MIN_NS. */
pq_interp_options pq_interp_defaults(void);

typedef struct {
    size_t state_bytes;      /* tensor table, nodes, fast kernels' prepared constants */
    size_t arena_bytes;      /* activations, then scratch */
    size_t activation_bytes; /* the part of the arena the tensors use */
    size_t scratch_bytes;    /* the largest scratch one op needs (0 with reference kernels) */
} pq_interp_sizes;

typedef struct {
    const uint8_t *model;
    uint8_t *arena;
    pq_tensor *tensors;
    pq_node *nodes;
    uint32_t n_tensors, n_ops, n_inputs, n_outputs;
    const int32_t *inputs;   /* graph input tensor indices (the file's GRIO) */
    const int32_t *outputs;
    int32_t failed_op;       /* after an invoke that failed: the op's index; else -1 */
    pq_interp_options options;
    pq_interp_sizes sizes;
} pq_interp;

/* Validate `buf` (unless options->validated) and size the memory pq_interp_prepare needs. */
int pq_interp_plan(const uint8_t *buf, uint32_t len, const pq_interp_options *options, pq_interp_sizes *sizes,
                   pq_model_error *err);

/* Bind every tensor and op, choose and prepare kernels. `state` and `arena` are the
 * caller's (64-byte aligned, at least the sizes pq_interp_plan returned) and must
 * outlive `it`; the arena's contents are the caller's between invokes. */
int pq_interp_prepare(pq_interp *it, const uint8_t *buf, uint32_t len, const pq_interp_options *options,
                      void *state, size_t state_bytes, uint8_t *arena, size_t arena_bytes, pq_model_error *err);

/* Run every op once. */
int pq_interp_invoke(pq_interp *it);
/* Run ops [first, end) only (profiling; an op never writes its own inputs). */
int pq_interp_invoke_ops(pq_interp *it, uint32_t first, uint32_t end);

/* Which kernel op i runs: "reference" or its fast kernel's name ("fast-conv-1x1", ...). */
const char *pq_interp_kernel_name(const pq_interp *it, uint32_t i);

/* Graph input / output i (NULL when out of range). */
const pq_tensor *pq_interp_input(const pq_interp *it, uint32_t i);
const pq_tensor *pq_interp_output(const pq_interp *it, uint32_t i);

#ifdef __cplusplus
}
#endif

#endif /* PQ_INTERP_H */
