/*
 * Accessors for a buffer pq_model_validate accepted (pq_model.h): they trust it.
 */
#include "pq_contract.h"

/* ---- accessors for a validated buffer ---- */
static const uint8_t *section_tagged(const uint8_t *buf, const uint8_t *tag) {
    uint32_t n = rd32(buf + 24), i;
    for (i = 0; i < n; i++) {
        const uint8_t *e = buf + PQV_HEADER_SIZE + PQV_SECTION_SIZE * i;
        if (same4(e, tag)) return e;
    }
    return NULL;
}
static const uint8_t *section_of(const uint8_t *buf, int s) { return section_tagged(buf, pqv_tags[s]); }
const uint8_t *pq_model_section(const uint8_t *buf, const char *tag) {
    const uint8_t *e = section_tagged(buf, (const uint8_t *)tag);
    return e ? buf + rd32(e + 4) : NULL;
}
static const uint8_t *section_data(const uint8_t *buf, int s) {
    const uint8_t *e = section_of(buf, s);
    return e ? buf + rd32(e + 4) : NULL;
}

uint32_t pq_model_arena_size(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m) : 0;
}
uint32_t pq_model_num_inputs(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m + 4) : 0;
}
uint32_t pq_model_num_outputs(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m + 8) : 0;
}
uint32_t pq_model_num_tensors(const uint8_t *buf) {
    const uint8_t *e = section_of(buf, S_TENS);
    return e ? rd32(e + 8) / PQV_TENSOR_SIZE : 0;
}
uint32_t pq_model_num_ops(const uint8_t *buf) {
    const uint8_t *e = section_of(buf, S_OPS);
    return e ? rd32(e + 8) / PQV_OP_SIZE : 0;
}
int32_t pq_model_input(const uint8_t *buf, uint32_t i) {
    const uint8_t *g = section_data(buf, S_GRIO);
    return (g && i < pq_model_num_inputs(buf)) ? rdi32(g + 4u * i) : -1;
}
int32_t pq_model_output(const uint8_t *buf, uint32_t i) {
    const uint8_t *g = section_data(buf, S_GRIO);
    return (g && i < pq_model_num_outputs(buf)) ? rdi32(g + 4u * (pq_model_num_inputs(buf) + i)) : -1;
}
int pq_model_tensor_info(const uint8_t *buf, uint32_t index, pq_model_tensor *out) {
    const uint8_t *t = section_data(buf, S_TENS), *r, *data = section_data(buf, S_DATA);
    const uint8_t *strs = section_data(buf, S_STRS);
    uint32_t d;
    if (t == NULL || data == NULL || strs == NULL || index >= pq_model_num_tensors(buf)) return -1;
    r = t + PQV_TENSOR_SIZE * index;
    out->dtype = r[0];
    out->rank = r[1];
    out->kind = r[2];
    out->quant = r[3];
    for (d = 0; d < PQ_MODEL_MAX_DIMS; d++) out->dims[d] = rdi32(r + 12 + 4 * d);
    out->offset = rd32(r + 36) + (r[2] == KIND_CONST ? (uint32_t)(data - buf) : 0u);
    out->nbytes = rd32(r + 40);
    out->scale_bits = rd32(r + 44);
    out->zero_point = rdi32(r + 48);
    out->name = strs + rd32(r + 4);
    out->name_len = rd32(r + 8);
    return 0;
}
int pq_model_scratch(const uint8_t *buf, uint32_t op, uint32_t *offset, uint32_t *size) {
    const uint8_t *e = section_tagged(buf, pqv_tag_scra);
    if (op >= pq_model_num_ops(buf)) return -1;
    *offset = e ? rd32(buf + rd32(e + 4) + PQV_SCRATCH_SIZE * op) : 0u;
    *size = e ? rd32(buf + rd32(e + 4) + PQV_SCRATCH_SIZE * op + 4) : 0u;
    return 0;
}
