/*
 * The interpreter core (pq_interp.h): validate, size, bind, invoke.
 *
 * Binding is pointers: each op's parameter struct is its record in the file,
 * its tensor list is the file's OPIO array, each tensor's data is in the file
 * (constants) or at its planned offset in the arena. The one table built at
 * prepare is the tensors' (pointer and shape), which every op reads through.
 * Fast kernels (an op's `fast` hooks in the registry) are planned and
 * prepared here too; their prepared constants go to the caller's state block
 * and their scratch after the activations in the arena, one buffer all ops
 * share since ops run one after another.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_ops.h"
#include "pq_interp.h"

#define ALIGN_STATE 64u
#define ALIGN_BUF 16u
#define OP_RECORD 80u
/* A fast op's inputs, planned on a local copy (on the stack): every op's, up to
 * CONCATENATION's data inputs and requant table; none without fast kernels (firmware). */
#ifdef PQ_WITH_FAST_KERNELS
#define PQ_MAX_FAST_INPUTS (PQ_MAX_CONCAT_INPUTS + 1)
#else
#define PQ_MAX_FAST_INPUTS 1
#endif

static const char *const STATUS_TEXT[PQ_INTERP_N_STATUS] = {
    [PQ_INTERP_OK] = "ok",
    [PQ_INTERP_E_MODEL] = "not a valid .picoq model",
    [PQ_INTERP_E_ALIGN] = "model buffer not 16-byte aligned, or state or arena not 64-byte aligned",
    [PQ_INTERP_E_ENDIAN] = "big-endian core: .picoq structs are little-endian",
    [PQ_INTERP_E_STATE_SIZE] = "state memory smaller than planned",
    [PQ_INTERP_E_ARENA_SIZE] = "arena smaller than planned",
    [PQ_INTERP_E_OPTIONS] = "unknown kernels or instruction set, or one this build or CPU lacks",
    [PQ_INTERP_E_KERNEL] = "a kernel refused its arguments",
};

const char *pq_interp_status_text(int status) {
    return (status >= 0 && status < (int)PQ_INTERP_N_STATUS) ? STATUS_TEXT[status] : "unknown status";
}

pq_interp_options pq_interp_defaults(void) {
    pq_interp_options o;
    memset(&o, 0, sizeof o);
    o.kernels = PQ_KERNEL_REFERENCE;
    o.max_arena = PQ_MODEL_DEFAULT_MAX_ARENA;
    o.num_threads = 1;
    o.min_parallel_ns = PQ_PARALLEL_MIN_NS;
    return o;
}

static size_t align_up(size_t n, size_t a) { return (n + a - 1u) / a * a; }

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

/* Tensor `i` of a validated buffer; data pointers relative to `arena` (NULL: sizing only). */
static void tensor_bind(const uint8_t *buf, uint32_t i, uint8_t *arena, pq_tensor *t) {
    pq_model_tensor info;
    uint32_t d;
    pq_model_tensor_info(buf, i, &info);
    memset(t, 0, sizeof *t);
    t->dtype = info.dtype;
    t->rank = info.rank;
    t->is_const = info.kind == 1;
    t->count = 1;
    for (d = 0; d < info.rank; d++) {
        t->dims[d] = info.dims[d];
        t->count *= info.dims[d];
    }
    if (t->is_const) {
        t->data = (void *)(uintptr_t)(buf + info.offset);
    } else if (arena != NULL) {
        t->data = arena + info.offset;
    }
}

/* Op `i`'s node: pointers into the file, and its kernels for its tensors' dtypes (the
 * validator refused a file whose op has none). */
static void node_bind(const uint8_t *buf, const uint8_t *ops, const int32_t *opio, uint32_t i, pq_node *nd) {
    const uint8_t *rec = ops + OP_RECORD * i;
    uint32_t k, dtype_bits = 0;
    memset(nd, 0, sizeof *nd);
    nd->opcode = (uint16_t)rd16(rec);
    nd->n_inputs = (uint16_t)rd16(rec + 4);
    nd->io = opio + rd32(rec + 8);
    nd->params = rec + 16;
    nd->kernel = PQ_KERNEL_REFERENCE;
    nd->n_parts = 1;
    for (k = 0; k <= nd->n_inputs; k++) {
        pq_model_tensor info;
        if (nd->io[k] < 0) continue;
        pq_model_tensor_info(buf, (uint32_t)nd->io[k], &info);
        dtype_bits |= 1u << (info.dtype & 31u);
    }
    nd->entry = pq_op_kernel_find(nd->opcode, pq_variant_of(dtype_bits));
}

static int little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* The arena bytes the tensors span, 16-aligned (docs/FORMAT.md: activations). */
static size_t activation_bytes(const uint8_t *buf) {
    uint32_t n = pq_model_num_tensors(buf), i;
    size_t end = 0;
    for (i = 0; i < n; i++) {
        pq_model_tensor info;
        pq_model_tensor_info(buf, i, &info);
        if (info.kind == 0 && (size_t)info.offset + info.nbytes > end) end = (size_t)info.offset + info.nbytes;
    }
    return align_up(end, ALIGN_BUF);
}

/* Plan op `i`'s fast kernel on a local copy of its tensors (nothing is bound yet).
 * Returns 1 and the sizes when the fast kernel applies. */
static int fast_plan(const pq_interp_options *o, const uint8_t *buf, const pq_node *nd, size_t *state,
                     size_t *scratch) {
    const pq_op_kernel *entry = nd->entry;
    pq_tensor local[PQ_MAX_FAST_INPUTS + 1];
    int32_t io[PQ_MAX_FAST_INPUTS + 1];
    pq_node ln = *nd;
    uint32_t k;
    *state = *scratch = 0;
    if (o->kernels != PQ_KERNEL_FAST || entry == NULL || entry->fast == NULL) return 0;
    if (nd->n_inputs > PQ_MAX_FAST_INPUTS) return 0;
    for (k = 0; k <= nd->n_inputs; k++) {
        io[k] = nd->io[k] < 0 ? -1 : (int32_t)k;
        if (nd->io[k] >= 0) tensor_bind(buf, (uint32_t)nd->io[k], NULL, &local[k]);
    }
    ln.io = io;
    return entry->fast->plan(&ln, local, o->isa, state, scratch);
}

static int check_options(const pq_interp_options *o) {
    if (o->kernels == PQ_KERNEL_REFERENCE) return PQ_INTERP_OK;
    if (o->kernels != PQ_KERNEL_FAST || !pq_fast_isa_available(o->isa)) return PQ_INTERP_E_OPTIONS;
    if (o->num_threads < 1 || (o->num_threads > 1 && o->thread_scratch == NULL)) return PQ_INTERP_E_OPTIONS;
    return PQ_INTERP_OK;
}

int pq_interp_plan(const uint8_t *buf, uint32_t len, const pq_interp_options *options, pq_interp_sizes *sizes,
                   pq_model_error *err) {
    pq_interp_options o = options ? *options : pq_interp_defaults();
    uint32_t i, n_ops;
    const uint8_t *ops;
    const int32_t *opio;
    size_t state, scratch = 0;
    int rc;
    memset(sizes, 0, sizeof *sizes);
    if (!little_endian()) return PQ_INTERP_E_ENDIAN;
    if ((uintptr_t)buf % ALIGN_BUF) return PQ_INTERP_E_ALIGN;
    rc = check_options(&o);
    if (rc) return rc;
    if (!o.validated && pq_model_validate(buf, len, o.max_arena, err) != PQ_MODEL_OK) return PQ_INTERP_E_MODEL;
    n_ops = pq_model_num_ops(buf);
    ops = pq_model_section(buf, "OPS_");
    opio = (const int32_t *)(const void *)pq_model_section(buf, "OPIO");
    state = align_up((size_t)pq_model_num_tensors(buf) * sizeof(pq_tensor), ALIGN_STATE);
    state += align_up((size_t)n_ops * sizeof(pq_node), ALIGN_STATE);
    for (i = 0; i < n_ops; i++) {
        pq_node nd;
        size_t st, sc;
        node_bind(buf, ops, opio, i, &nd);
        if (fast_plan(&o, buf, &nd, &st, &sc)) {
            state += align_up(st, ALIGN_STATE);
            if (sc > scratch) scratch = sc;
        }
    }
    sizes->state_bytes = state;
    sizes->activation_bytes = activation_bytes(buf);
    sizes->scratch_bytes = align_up(scratch, ALIGN_STATE);
    sizes->arena_bytes = scratch ? align_up(sizes->activation_bytes, ALIGN_STATE) + sizes->scratch_bytes
                                 : sizes->activation_bytes;
    return PQ_INTERP_OK;
}

int pq_interp_prepare(pq_interp *it, const uint8_t *buf, uint32_t len, const pq_interp_options *options,
                      void *state, size_t state_bytes, uint8_t *arena, size_t arena_bytes, pq_model_error *err) {
    pq_interp_options o = options ? *options : pq_interp_defaults();
    uint8_t *mem = (uint8_t *)state, *scratch;
    uint32_t i;
    const uint8_t *ops;
    const int32_t *opio;
    int rc;
    memset(it, 0, sizeof *it);
    it->failed_op = -1;
    rc = pq_interp_plan(buf, len, &o, &it->sizes, err);
    if (rc) return rc;
    o.validated = 1;
    if ((uintptr_t)state % ALIGN_STATE || (uintptr_t)arena % ALIGN_STATE) return PQ_INTERP_E_ALIGN;
    if (state_bytes < it->sizes.state_bytes) return PQ_INTERP_E_STATE_SIZE;
    if (arena_bytes < it->sizes.arena_bytes) return PQ_INTERP_E_ARENA_SIZE;
    it->options = o;
    it->model = buf;
    it->arena = arena;
    it->n_tensors = pq_model_num_tensors(buf);
    it->n_ops = pq_model_num_ops(buf);
    it->n_inputs = pq_model_num_inputs(buf);
    it->n_outputs = pq_model_num_outputs(buf);
    it->inputs = (const int32_t *)(const void *)pq_model_section(buf, "GRIO");
    it->outputs = it->inputs + it->n_inputs;
    it->tensors = (pq_tensor *)(void *)mem;
    mem += align_up((size_t)it->n_tensors * sizeof(pq_tensor), ALIGN_STATE);
    it->nodes = (pq_node *)(void *)mem;
    mem += align_up((size_t)it->n_ops * sizeof(pq_node), ALIGN_STATE);
    for (i = 0; i < it->n_tensors; i++) tensor_bind(buf, i, arena, &it->tensors[i]);
    ops = pq_model_section(buf, "OPS_");
    opio = (const int32_t *)(const void *)pq_model_section(buf, "OPIO");
    scratch = arena + align_up(it->sizes.activation_bytes, ALIGN_STATE);
    for (i = 0; i < it->n_ops; i++) {
        pq_node *nd = &it->nodes[i];
        size_t st, sc;
        node_bind(buf, ops, opio, i, nd);
        if (fast_plan(&o, buf, nd, &st, &sc)) {
            const pq_fast_op *fast = nd->entry->fast;
            rc = fast->prepare(nd, it->tensors, o.isa, mem);
            if (rc != PQ_OK) return PQ_INTERP_E_KERNEL;
            nd->kernel = PQ_KERNEL_FAST;
            /* A kernel needing no scratch still gets a valid pointer (never dereferenced):
             * drivers form `scratch + 0`, undefined on NULL. */
            nd->scratch = sc ? scratch : (void *)arena;
            if (o.num_threads > 1 && fast->split != NULL) {
                fast->split(nd, it->tensors, o.isa, o.num_threads, o.min_parallel_ns);
            }
            mem += align_up(st, ALIGN_STATE);
        }
    }
    return PQ_INTERP_OK;
}

/* One part of a split op, on any thread (pq_part_fn). */
typedef struct {
    const pq_interp *it;
    const pq_node *nd;
} part_job;

static int run_part(void *ctx, int32_t part, int32_t thread) {
    const part_job *job = (const part_job *)ctx;
    void *scratch = thread == 0 ? job->nd->scratch : job->it->options.thread_scratch[thread];
    return job->it->options.kernels == PQ_KERNEL_FAST
               ? (int)job->nd->entry->fast->eval(job->nd, job->it->tensors, scratch, part,
                                                              job->nd->n_parts)
               : (int)PQ_ERR_PARAM;
}

static pq_status run_split(const pq_interp *it, const pq_node *nd) {
    part_job job;
    int32_t p;
    job.it = it;
    job.nd = nd;
    if (it->options.parallel != NULL) {
        return it->options.parallel(it->options.parallel_ctx, run_part, &job, nd->n_parts) ? PQ_ERR_PARAM : PQ_OK;
    }
    for (p = 0; p < nd->n_parts; p++) {
        if (run_part(&job, p, 0)) return PQ_ERR_PARAM;
    }
    return PQ_OK;
}

int pq_interp_invoke_ops(pq_interp *it, uint32_t first, uint32_t end) {
    uint32_t i;
    it->failed_op = -1;
    if (end > it->n_ops) end = it->n_ops;
    for (i = first; i < end; i++) {
        const pq_node *nd = &it->nodes[i];
        pq_status st = nd->kernel != PQ_KERNEL_FAST ? nd->entry->eval(nd, it->tensors)
                       : nd->n_parts > 1            ? run_split(it, nd)
                                                    : nd->entry->fast->eval(nd, it->tensors, nd->scratch, 0, 1);
        if (st != PQ_OK) {
            it->failed_op = (int32_t)i;
            return PQ_INTERP_E_KERNEL;
        }
    }
    return PQ_INTERP_OK;
}

int pq_interp_invoke(pq_interp *it) { return pq_interp_invoke_ops(it, 0, it->n_ops); }

const char *pq_interp_kernel_name(const pq_interp *it, uint32_t i) {
    const pq_node *nd;
    if (i >= it->n_ops) return "";
    nd = &it->nodes[i];
    return nd->kernel == PQ_KERNEL_FAST ? nd->entry->fast->name(nd) : "reference";
}

const pq_tensor *pq_interp_input(const pq_interp *it, uint32_t i) {
    return i < it->n_inputs ? &it->tensors[it->inputs[i]] : NULL;
}

const pq_tensor *pq_interp_output(const pq_interp *it, uint32_t i) {
    return i < it->n_outputs ? &it->tensors[it->outputs[i]] : NULL;
}
