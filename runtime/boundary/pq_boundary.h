/*
 * The float boundary of picoq.runtime.Interpreter.run: float input -> int8, int8 output
 * -> float32, for per-tensor quantized int8 tensors.
 *
 * Python API code, not a kernel: it is the one place where picoq computes in float, so
 * it lives outside kernels/ (whose sources are integer-only and go to firmware) and only
 * the extension compiles it. The results are, value for value, those of the numpy
 * formulas it replaced (runtime/interpreter.py before, tests/test_float_boundary.py keeps
 * them as the oracle):
 *
 *   quantize:   q = clip(sign(v) * floor(|v| + 0.5f) + zero_point, -128, 127),
 *               v = float32(x) / scale, every step in float32 (division, not a
 *               multiplication by 1/scale); so ties round away from zero as TFLite's
 *               QUANTIZE does, +-inf and huge values saturate, and like the float32 sum
 *               it mirrors, |v| = 0.5 - 2^-25 rounds to 1.
 *   dequantize: y = float32(q - zero_point) * scale, one float32 multiplication.
 *
 * A NaN has no int8 value: the quantizers report it (the Python side refuses the input).
 * zero_point must lie in [-128, 127], as the validator guarantees for int8 tensors.
 */
#ifndef PQ_BOUNDARY_H
#define PQ_BOUNDARY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* q[i] = quantized x[i] for i < n. Returns 1 if some x[i] is NaN (q then holds something
 * for it, and is to be thrown away), else 0. */
int pq_quantize_f32_s8(const float *x, int8_t *q, size_t n, float scale, int32_t zero_point);
/* The same from float64: each value is first rounded to float32 (to nearest, the largest
 * ones to +-inf), as numpy's astype(float32) does. */
int pq_quantize_f64_s8(const double *x, int8_t *q, size_t n, float scale, int32_t zero_point);
/* y[i] = dequantized q[i] for i < n. */
void pq_dequantize_s8_f32(const int8_t *q, float *y, size_t n, float scale, int32_t zero_point);

/* The same three for int16 tensors (16x8 models), zero_point in [-32768, 32767]. */
int pq_quantize_f32_s16(const float *x, int16_t *q, size_t n, float scale, int32_t zero_point);
int pq_quantize_f64_s16(const double *x, int16_t *q, size_t n, float scale, int32_t zero_point);
void pq_dequantize_s16_f32(const int16_t *q, float *y, size_t n, float scale, int32_t zero_point);

#ifdef __cplusplus
}
#endif

#endif /* PQ_BOUNDARY_H */
