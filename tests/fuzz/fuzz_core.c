/*
 * libFuzzer target for the C core: a hostile buffer through validate, plan, prepare and invoke.
 * Built twice from this one source by tests/fuzz/fuzz_core.py (`build`):
 *
 *   fuzz_ref   the reference kernels (what firmware runs);
 *   fuzz_fast  -DPQ_FUZZ_FAST=1: the fast kernels of the best instruction set this machine runs,
 *              chosen by the core's own detection (pq_isa_supported), split over 1..4 threads.
 *
 * The fuzzing build skips the header's CRC (PQ_MODEL_SKIP_CRC): a mutant would almost never
 * match it, and the fuzzer would never get past the header. That leaves the CRC field's four
 * bytes free, so the target reads its own knobs from them (the fuzzer mutates them like any
 * byte): the seed of the graph inputs' values and, for fuzz_fast, the thread count. The real
 * entry path (pq_interp_plan validating with the CRC) still runs on every buffer the skipping
 * validator accepts, and must refuse it for the checksum alone or accept it.
 *
 * Besides the sanitizers' reports, the target aborts (a finding) when the core contradicts
 * itself: a buffer the validator accepted that pq_interp_plan, pq_interp_prepare or
 * pq_interp_invoke then refuses, accessors of a prepared model that disagree with it, or a
 * verdict of pq_model_validate_ws (with its workspace) that is not pq_model_validate_flags'
 * (rescanning) to the last field of the error.
 *
 * Invoke is skipped when the prepared model's estimated work exceeds WORK_CAP inner-loop steps
 * (a 64 KB mutant can ask for 10^11 multiply-adds, minutes under ASan); validate and prepare
 * always run. The full-size models run under the sanitizers in tests/test_core_sanitized.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pq_fast.h"
#include "pq_interp.h"

#define MAX_ARENA (1u << 20) /* far above every MLPerf Tiny arena (the largest, IC ResNet large: 120 KB) */
#define WORK_CAP (1u << 18)  /* a few ms of reference CONV_2D under ASan */
#define MAX_THREADS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int32_t param(const pq_node *nd, int k) {
    int32_t v;
    memcpy(&v, (const uint8_t *)nd->params + 4 * k, 4);
    return v;
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Inner-loop steps of one op, about: multiply-adds for the windowed ops, else elements touched. */
static uint64_t op_work(const pq_interp *it, const pq_node *nd) {
    const pq_tensor *y = &it->tensors[nd->io[nd->n_inputs]], *x = &it->tensors[nd->io[0]];
    uint64_t out = (uint64_t)y->count, sum = out;
    int k;
    switch (nd->opcode) {
    case PQ_OP_CONV_2D: /* filter [oc, kh, kw, in channels per group] */
        return out * (uint64_t)it->tensors[nd->io[1]].count / (uint64_t)y->dims[3];
    case PQ_OP_DEPTHWISE_CONV_2D: /* filter [1, kh, kw, oc] */
    case PQ_OP_FULLY_CONNECTED:   /* filter [out_depth, accum] */
        return out * (uint64_t)it->tensors[nd->io[1]].count / (uint64_t)it->tensors[nd->io[1]].dims[0] /
               (nd->opcode == PQ_OP_FULLY_CONNECTED ? 1u : (uint64_t)y->dims[3]);
    case PQ_OP_AVERAGE_POOL_2D:
    case PQ_OP_MAX_POOL_2D: /* the window is clipped to the input */
        return out * min64((uint64_t)param(nd, 2), (uint64_t)x->dims[1]) *
               min64((uint64_t)param(nd, 3), (uint64_t)x->dims[2]);
    default:
        for (k = 0; k < nd->n_inputs; k++) {
            if (nd->io[k] >= 0) sum += (uint64_t)it->tensors[nd->io[k]].count;
        }
        return sum;
    }
}

static int too_much_work(const pq_interp *it) {
    uint64_t work = 0;
    uint32_t i;
    for (i = 0; i < it->n_ops; i++) {
        work += 16u + op_work(it, &it->nodes[i]);
        if (work > WORK_CAP) return 1;
    }
    return 0;
}

/* The graph inputs' values: xorshift32 from the CRC field (never 0). The rest of the arena is
 * written before it is read (the validator's data-flow rule), filled only to be deterministic. */
static void fill_inputs(const pq_interp *it, uint32_t seed) {
    uint32_t i, s = seed | 1u;
    for (i = 0; i < it->n_inputs; i++) {
        const pq_tensor *t = pq_interp_input(it, i);
        uint8_t *p = (uint8_t *)t->data;
        size_t n = (size_t)t->count * (t->dtype == 2 ? 4u : 1u), k;
        for (k = 0; k < n; k++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            p[k] = (uint8_t)(s >> 24);
        }
    }
}

#ifdef PQ_FUZZ_FAST
/* pq_parallel_fn without threads: part p runs on "thread" p % n (its own scratch buffer), so
 * a part that overruns its thread's scratch meets ASan's redzone. */
typedef struct {
    int32_t n_threads;
} serial_ctx;

static int serial_parallel(void *ctx, pq_part_fn task, void *task_ctx, int32_t n_parts) {
    const serial_ctx *sc = (const serial_ctx *)ctx;
    int32_t p;
    for (p = 0; p < n_parts; p++) {
        int rc = task(task_ctx, p, p % sc->n_threads);
        if (rc) return rc;
    }
    return 0;
}

static int best_isa(void) {
    int isa = PQ_ISA_COUNT - 1;
    while (isa > 0 && !pq_isa_supported(isa)) isa--;
    return isa;
}
#endif

/* Each block exactly as large as asked, so ASan's redzone sits right behind its last byte. */
static void *block(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n) ? NULL : p;
}

/* What a validated, prepared model promises through the accessors (each line an oracle). */
static void check_accessors(const pq_interp *it, const uint8_t *buf, const pq_interp_sizes *sz) {
    uint32_t i, off, n;
    if (pq_model_arena_size(buf) > MAX_ARENA || sz->activation_bytes > pq_model_arena_size(buf)) abort();
    if (pq_model_input(buf, it->n_inputs) != -1 || pq_model_output(buf, it->n_outputs) != -1) abort();
    if (pq_interp_input(it, it->n_inputs) != NULL || pq_interp_output(it, it->n_outputs) != NULL) abort();
    if (pq_model_scratch(buf, it->n_ops, &off, &n) != -1 || *pq_interp_kernel_name(it, it->n_ops) != '\0') abort();
    for (i = 0; i < it->n_outputs; i++) {
        const pq_tensor *t = pq_interp_output(it, i);
        if (pq_model_output(buf, i) != it->outputs[i] || t->is_const) abort();
        size_t bytes = (size_t)t->count * (t->dtype == 2 ? 4u : 1u);
        if ((uint8_t *)t->data < it->arena || (uint8_t *)t->data + bytes > it->arena + sz->activation_bytes) {
            abort();
        }
    }
    for (i = 0; i < it->n_inputs; i++) {
        if (pq_model_input(buf, i) != it->inputs[i]) abort();
    }
    for (i = 0; i < it->n_ops; i++) {
        /* Format 1.1's SCRA plan: inside the file's arena (the runtime places its own scratch). */
        if (pq_model_scratch(buf, i, &off, &n) != 0 || (uint64_t)off + n > pq_model_arena_size(buf)) abort();
        if (*pq_interp_kernel_name(it, i) == '\0') abort();
    }
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* The workspace changes the validator's speed, never its verdict: every field of the error. */
static void check_workspace_verdict(const uint8_t *buf, uint32_t size) {
    pq_model_error a, b;
    size_t n = pq_model_validate_ws_bytes(buf, size);
    void *ws = block(n);
    int ra, rb;
    if (ws == NULL) return;
    ra = pq_model_validate_flags(buf, size, MAX_ARENA, PQ_MODEL_SKIP_CRC, &a);
    rb = pq_model_validate_ws(buf, size, MAX_ARENA, PQ_MODEL_SKIP_CRC, ws, n, &b);
    free(ws);
    if (ra != rb || a.code != b.code || a.index != b.index || a.sub != b.sub || a.offset != b.offset ||
        a.value != b.value || !same_str(a.field, b.field) || !same_str(a.why, b.why) || !same_str(a.param, b.param)) {
        abort();
    }
}

static void run(const uint8_t *buf, uint32_t size) {
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    void *state, *arena;
    void *scratch[MAX_THREADS] = {NULL};
    int rc, k;
    if (pq_model_validate_flags(buf, size, MAX_ARENA, PQ_MODEL_SKIP_CRC, &err) != PQ_MODEL_OK) return;
    /* Valid but for the CRC: at least the 32-byte header, whose CRC field holds the knobs. */
#ifdef PQ_FUZZ_FAST
    serial_ctx sc;
    opt.kernels = PQ_KERNEL_FAST;
    opt.isa = best_isa();
    sc.n_threads = 1 + (int32_t)(buf[13] % MAX_THREADS);
    opt.num_threads = sc.n_threads;
    opt.min_parallel_ns = 0; /* split every op that can be split, however small */
    /* Bit 2: no `parallel` at all (the core runs the parts itself, all on the calling thread). */
    opt.parallel = buf[13] & 4u ? NULL : serial_parallel;
    opt.parallel_ctx = &sc;
    opt.thread_scratch = scratch;
#endif
    opt.max_arena = MAX_ARENA;
    /* The real entry path, which validates with the CRC: it accepts, or refuses for the checksum only. */
    rc = pq_interp_plan(buf, size, &opt, &sz, &err);
    if (rc != PQ_INTERP_OK && !(rc == PQ_INTERP_E_MODEL && err.code == PQ_MODEL_E_HEADER_CRC32)) abort();
    if (*pq_interp_status_text(rc) == '\0') abort();
    opt.validated = 1;
    if (pq_interp_plan(buf, size, &opt, &sz, &err) != PQ_INTERP_OK) abort(); /* validated: cannot fail */
    state = block(sz.state_bytes);
    arena = block(sz.arena_bytes);
    for (k = 1; k < opt.num_threads; k++) {
        if ((scratch[k] = block(sz.scratch_bytes)) == NULL) goto out;
    }
    if (state == NULL || arena == NULL) goto out;
    memset(arena, 0x5a, sz.arena_bytes);
    /* Planned, the model must prepare and run: a kernel refusing a valid model is a finding too. */
    rc = pq_interp_prepare(&it, buf, size, &opt, state, sz.state_bytes, (uint8_t *)arena, sz.arena_bytes, &err);
    if (rc != PQ_INTERP_OK) abort();
    check_accessors(&it, buf, &sz);
    if (!too_much_work(&it)) {
        fill_inputs(&it, rd32(buf + 12));
        if (pq_interp_invoke(&it) != PQ_INTERP_OK) abort();
    }
out:
    for (k = 0; k < MAX_THREADS; k++) free(scratch[k]);
    free(state);
    free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The core needs a 16-aligned buffer; libFuzzer's copy has no alignment promise. */
    uint8_t *buf;
    if (size > UINT32_MAX || (buf = (uint8_t *)block(size)) == NULL) return 0;
    memcpy(buf, data, size);
    check_workspace_verdict(buf, (uint32_t)size);
    run(buf, (uint32_t)size);
    free(buf);
    return 0;
}
