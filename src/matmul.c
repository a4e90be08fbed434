// matmul.c — threaded products with quantized weight matrices.
//
// ss_matmul: out[T, rows] = x[T, cols] · W[rows, cols]^T
//   1. the T activation rows are converted once to W's vec-dot type (Q8_0/Q8_1/Q8_K/F16/BF16,
//      F32 is used in place) into grow-only scratch owned by the pool;
//   2. W's rows are handed out in chunks (atomic counter, so a thread slowed down by another
//      process does not hold up the others); inside a chunk, activation rows are processed in
//      tiles: for each tile, every weight row of the chunk is dotted with up to
//      SS_VEC_DOT_MAX_NR activation rows at once (ss_vec_dot_n decodes each weight block once
//      for all of them), so the chunk's weights are read from memory once and then from cache.
#include "ss_matmul.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MM_L2_BYTES      (192 * 1024)   // cache budget for a chunk of weights / a tile of activations
#define MM_MIN_PAR_WORK  (64 * 1024)    // multiply-adds below which one thread does it all

typedef struct {
    uint32_t type;            // weight type
    const uint8_t *w;         // row r0 of W
    size_t row_bytes;
    int64_t rows, cols, T;    // rows = r1 - r0
    const float *x;           // [T, cols] f32 activations (quantization phase)
    uint8_t *xq;              // [T] rows of xq_row bytes (vec-dot type)
    size_t xq_row;
    float *out;
    int64_t ld_out;
    int64_t chunk;            // weight rows per work item
    int64_t n_chunks;
    int64_t tile;             // activation rows per tile
    atomic_llong next;        // next chunk to hand out
} mm_task;

// xq[t] = to_vec_dot_type(x[t]) for the rows t = ith, ith+nth, ...
static void mm_quant_fn(void *arg, int ith, int nth) {
    mm_task *m = arg;
    for (int64_t t = ith; t < m->T; t += nth)
        ss_quant_act(m->type, m->x + t * m->cols, m->xq + (size_t)t * m->xq_row, m->cols);
}

// out[t, r] = W[r] · xq[t] for the chunks this thread claims
static void mm_dot_fn(void *arg, int ith, int nth) {
    mm_task *m = arg;
    float s[SS_VEC_DOT_MAX_NR];
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&m->next, 1, memory_order_relaxed);
        if (c >= m->n_chunks) break;
        int64_t ra = c * m->chunk, rb = ra + m->chunk < m->rows ? ra + m->chunk : m->rows;
        for (int64_t t0 = 0; t0 < m->T; t0 += m->tile) {
            int64_t t1 = t0 + m->tile < m->T ? t0 + m->tile : m->T;
            for (int64_t r = ra; r < rb; r++) {
                const uint8_t *wr = m->w + (size_t)r * m->row_bytes;
                for (int64_t t = t0; t < t1; t += SS_VEC_DOT_MAX_NR) {
                    int nr = t1 - t < SS_VEC_DOT_MAX_NR ? (int)(t1 - t) : SS_VEC_DOT_MAX_NR;
                    ss_vec_dot_n(m->type, m->cols, s, wr, m->xq + (size_t)t * m->xq_row, m->xq_row, nr);
                    for (int j = 0; j < nr; j++) m->out[(t + j) * m->ld_out + r] = s[j];
                }
            }
        }
    }
}

void ss_matmul_rows(ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T,
                    const ss_weight *W, int64_t r0, int64_t r1) {
    if (T <= 0 || r1 <= r0) return;
    mm_task m;
    memset(&m, 0, sizeof m);
    m.type = W->type;
    m.row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    m.w = (const uint8_t *)W->data + (size_t)r0 * m.row_bytes;
    m.rows = r1 - r0;
    m.cols = W->cols;
    m.T = T;
    m.x = x;
    m.out = out;
    m.ld_out = ld_out;

    const uint64_t work = (uint64_t)m.rows * (uint64_t)m.cols * (uint64_t)T;
    ss_pool *run_pool = work < MM_MIN_PAR_WORK ? NULL : pool;
    const int nth = ss_pool_n_threads(run_pool);

    // 1. activations -> vec-dot type
    const uint32_t vtype = ss_vec_dot_type(W->type);
    void *heap = NULL;
    if (vtype == SS_TYPE_F32) {
        m.xq = (uint8_t *)x;                       // F32 weights: use x as is
        m.xq_row = (size_t)m.cols * sizeof(float);
    } else {
        m.xq_row = ss_row_size(vtype, m.cols);
        size_t bytes = (size_t)T * m.xq_row;
        m.xq = pool ? ss_pool_scratch(pool, 0, bytes) : NULL;
        if (!m.xq) m.xq = heap = ss_malloc(bytes);
        if (T == 1 || nth == 1) mm_quant_fn(&m, 0, 1);
        else ss_pool_run(run_pool, mm_quant_fn, &m);
    }

    // 2. work split: chunks of weight rows that fit in cache, ~4 chunks per thread at least
    int64_t chunk = m.row_bytes ? (int64_t)(MM_L2_BYTES / 2 / m.row_bytes) : m.rows;
    int64_t fair = (m.rows + 4 * nth - 1) / (4 * nth);
    if (chunk > fair) chunk = fair;
    if (chunk < 1) chunk = 1;
    m.chunk = chunk;
    m.n_chunks = (m.rows + chunk - 1) / chunk;
    int64_t tile = (int64_t)(MM_L2_BYTES / 2 / (m.xq_row ? m.xq_row : 1));
    tile = tile / SS_VEC_DOT_MAX_NR * SS_VEC_DOT_MAX_NR;
    if (tile < SS_VEC_DOT_MAX_NR) tile = SS_VEC_DOT_MAX_NR;
    m.tile = tile;
    atomic_init(&m.next, 0);
    ss_pool_run(run_pool, mm_dot_fn, &m);
    free(heap);
}

void ss_matmul(ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T, const ss_weight *W) {
    ss_matmul_rows(pool, out, ld_out, x, T, W, 0, W->rows);
}

// ---------------------------------------------------------------------------------------------
// y[cols] = W^T g: threads own disjoint column ranges (whole blocks), each walks all rows and
// accumulates g[r] * W[r, c0:c1] in row order, so the result does not depend on the thread count.

typedef struct {
    const ss_weight *W;
    const float *g;
    float *y;
    int64_t unit;             // elements per column unit (a block, or 64 for f32/f16/bf16)
    int64_t n_units;
} mvt_task;

static void mvt_fn(void *arg, int ith, int nth) {
    mvt_task *m = arg;
    const ss_weight *W = m->W;
    const ss_type_info_t *ti = ss_type_info(W->type);
    const size_t row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    int64_t u0 = m->n_units * ith / nth, u1 = m->n_units * (ith + 1) / nth;
    int64_t c0 = u0 * m->unit, c1 = u1 * m->unit < W->cols ? u1 * m->unit : W->cols;
    if (c0 >= c1) return;
    float buf[SS_QK_K];
    memset(m->y + c0, 0, (size_t)(c1 - c0) * sizeof(float));
    for (int64_t r = 0; r < W->rows; r++) {
        const float gr = m->g[r];
        if (gr == 0.0f) continue;
        const uint8_t *row = (const uint8_t *)W->data + (size_t)r * row_bytes;
        for (int64_t c = c0; c < c1; c += m->unit) {
            int64_t len = c1 - c < m->unit ? c1 - c : m->unit;
            ss_dequant_row(W->type, row + (size_t)(c / ti->blck) * ti->type_size, buf, len);
            ss_axpy(gr, buf, m->y + c, len);
        }
    }
}

void ss_matvec_t(ss_pool *pool, float *y, const float *g, const ss_weight *W) {
    const ss_type_info_t *ti = ss_type_info(W->type);
    if (!ti || W->cols <= 0) return;
    mvt_task m = {W, g, y, ti->blck == 1 ? 64 : ti->blck, 0};
    m.n_units = (W->cols + m.unit - 1) / m.unit;
    uint64_t work = (uint64_t)W->rows * (uint64_t)W->cols;
    ss_pool_run(work < MM_MIN_PAR_WORK ? NULL : pool, mvt_fn, &m);
}

void ss_weight_row(const ss_weight *W, int64_t r, float *y) {
    const size_t row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    ss_dequant_row(W->type, (const uint8_t *)W->data + (size_t)r * row_bytes, y, W->cols);
}
