/*
 * The input window of one pooling output pixel, clipped to the image: padding
 * never counts (TFLite Micro's reference pooling). Shared by AVERAGE_POOL_2D and
 * MAX_POOL_2D.
 */
#ifndef PQ_POOL_WINDOW_H
#define PQ_POOL_WINDOW_H

#include <stdint.h>

#include "pq_kernels.h"

typedef struct {
    int32_t y0, x0;             /* the window's origin in the input (may be negative: padding) */
    int32_t fy_start, fy_end;   /* filter rows inside the image: [fy_start, fy_end) */
    int32_t fx_start, fx_end;   /* filter columns inside the image */
} pq_pool_window;

static inline pq_pool_window pq_pool_window_at(const pq_pool_params *p, int32_t in_h, int32_t in_w, int32_t oy,
                                               int32_t ox)
{
    pq_pool_window w;
    w.y0 = oy * p->stride_h - p->pad_h;
    w.x0 = ox * p->stride_w - p->pad_w;
    w.fy_start = w.y0 < 0 ? -w.y0 : 0;
    w.fy_end = p->filter_h < in_h - w.y0 ? p->filter_h : in_h - w.y0;
    w.fx_start = w.x0 < 0 ? -w.x0 : 0;
    w.fx_end = p->filter_w < in_w - w.x0 ? p->filter_w : in_w - w.x0;
    return w;
}

/* The same window's taps as `runs` runs of `len` taps in an NHWC image of in_w x depth:
 * a run's taps are `depth` bytes apart, runs `stride` bytes apart (start to start), the
 * first tap at byte `first` of the image. A window as wide as the image is one run of all
 * its taps (the rows are back to back). An empty window (no tap inside the image) has
 * runs or len <= 0 and `first` 0. Used by the Cortex-M DSP pooling kernels. */
typedef struct {
    int32_t first, runs, len, stride;
} pq_pool_runs;

static inline pq_pool_runs pq_pool_runs_of(const pq_pool_window *w, int32_t in_w, int32_t depth)
{
    pq_pool_runs r;
    const int32_t rows = w->fy_end - w->fy_start, cols = w->fx_end - w->fx_start;
    r.runs = rows;
    r.len = cols;
    r.stride = in_w * depth;
    r.first = 0;
    if (rows > 0 && cols > 0) {
        r.first = ((w->y0 + w->fy_start) * in_w + w->x0 + w->fx_start) * depth;
        if (cols == in_w) {
            r.runs = 1;
            r.len = rows * cols;
        }
    }
    return r;
}

#endif /* PQ_POOL_WINDOW_H */
