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
// ss_matmul_multi does the same for several matrices sharing the input (Q/K/V, gate/up): one
// conversion of x per vec-dot type and one pool pass for all of them.
#include "ss_matmul.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MM_L2_BYTES      (192 * 1024)   // cache budget for a chunk of weights / a tile of activations
#define MM_MIN_PAR_WORK  (64 * 1024)    // multiply-adds below which one thread does it all
#define MM_MAX_QTYPES    5              // distinct vec-dot types other than F32 (Q8_0, Q8_1, Q8_K, F16, BF16)

// one product of the call: rows [r0, r1) of W into out
typedef struct {
    uint32_t type;            // weight type
    const uint8_t *w;         // row r0 of W
    size_t row_bytes;
    int64_t rows;             // r1 - r0
    float *out;               // out[t * ld_out + (r - r0)]
    int64_t ld_out;
    const uint8_t *xq;        // the activations in this matrix's vec-dot type, T rows of xq_row bytes
    size_t xq_row;
    int64_t chunk;            // weight rows per work item
    int64_t first_chunk, n_chunks;
    int64_t tile;             // activation rows per tile
} mm_mat;

typedef struct {
    int n;
    mm_mat m[SS_MATMUL_MAX];
    int64_t cols, T;
    const float *x;           // [T, cols] f32 activations
    int nq;                   // distinct vec-dot types to convert x to
    uint32_t qwtype[MM_MAX_QTYPES];   // a weight type having that vec-dot type (for ss_quant_act)
    uint8_t *qbuf[MM_MAX_QTYPES];
    size_t qrow[MM_MAX_QTYPES];
    int64_t total_chunks;
    atomic_llong next;        // next chunk to hand out
} mm_task;

// qbuf[q][t] = to_vec_dot_type(x[t]) for the (t, q) pairs ith, ith+nth, ...
static void mm_quant_fn(void *arg, int ith, int nth) {
    mm_task *m = arg;
    for (int64_t k = ith; k < m->T * m->nq; k += nth) {
        int64_t t = k / m->nq;
        int q = (int)(k % m->nq);
        ss_quant_act(m->qwtype[q], m->x + t * m->cols, m->qbuf[q] + (size_t)t * m->qrow[q], m->cols);
    }
}

// out[t, r] = W[r] · xq[t] for rows [ra, rb) of one matrix: activation tiles outside, weight rows
// inside, SS_VEC_DOT_MAX_NR activation rows per weight-row decode
static void mm_dot_rows(const mm_mat *a, int64_t cols, int64_t T, int64_t ra, int64_t rb) {
    float s[SS_VEC_DOT_MAX_NR];
    for (int64_t t0 = 0; t0 < T; t0 += a->tile) {
        int64_t t1 = t0 + a->tile < T ? t0 + a->tile : T;
        for (int64_t r = ra; r < rb; r++) {
            const uint8_t *wr = a->w + (size_t)r * a->row_bytes;
            for (int64_t t = t0; t < t1; t += SS_VEC_DOT_MAX_NR) {
                int nr = t1 - t < SS_VEC_DOT_MAX_NR ? (int)(t1 - t) : SS_VEC_DOT_MAX_NR;
                ss_vec_dot_n(a->type, cols, s, wr, a->xq + (size_t)t * a->xq_row, a->xq_row, nr);
                for (int j = 0; j < nr; j++) a->out[(t + j) * a->ld_out + r] = s[j];
            }
        }
    }
}

static void mm_dot_fn(void *arg, int ith, int nth) {
    mm_task *m = arg;
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&m->next, 1, memory_order_relaxed);
        if (c >= m->total_chunks) break;
        int i = 0;
        while (c >= m->m[i].first_chunk + m->m[i].n_chunks) i++;
        const mm_mat *a = &m->m[i];
        int64_t ra = (c - a->first_chunk) * a->chunk, rb = ra + a->chunk < a->rows ? ra + a->chunk : a->rows;
        mm_dot_rows(a, m->cols, m->T, ra, rb);
    }
}

// the common driver: m->n matrices with type/w/row_bytes/rows/out/ld_out filled in
static void mm_run(ss_pool *pool, mm_task *m) {
    uint64_t work = 0;
    int64_t total_rows = 0;
    for (int i = 0; i < m->n; i++) {
        work += (uint64_t)m->m[i].rows * (uint64_t)m->cols * (uint64_t)m->T;
        total_rows += m->m[i].rows;
    }
    if (total_rows == 0 || m->T <= 0) return;
    ss_pool *run_pool = work < MM_MIN_PAR_WORK ? NULL : pool;
    const int nth = ss_pool_n_threads(run_pool);

    // 1. activations -> each distinct vec-dot type (F32 weights use x as is)
    size_t qoff[MM_MAX_QTYPES], qbytes = 0;
    m->nq = 0;
    for (int i = 0; i < m->n; i++) {
        uint32_t vt = ss_vec_dot_type(m->m[i].type);
        if (vt == SS_TYPE_F32) continue;
        int q = 0;
        while (q < m->nq && ss_vec_dot_type(m->qwtype[q]) != vt) q++;
        if (q == m->nq && q < MM_MAX_QTYPES) {
            m->qwtype[q] = m->m[i].type;
            m->qrow[q] = ss_row_size(vt, m->cols);
            qoff[q] = qbytes;
            qbytes += ((size_t)m->T * m->qrow[q] + 63) & ~(size_t)63;
            m->nq++;
        }
    }
    void *heap = NULL;
    uint8_t *scratch = NULL;
    if (qbytes) {
        scratch = pool ? ss_pool_scratch(pool, 0, qbytes) : NULL;
        if (!scratch) scratch = heap = ss_malloc(qbytes);
        for (int q = 0; q < m->nq; q++) m->qbuf[q] = scratch + qoff[q];
        if (m->T * m->nq == 1 || nth == 1) mm_quant_fn(m, 0, 1);
        else ss_pool_run(run_pool, mm_quant_fn, m);
    }

    // 2. work split: chunks of weight rows that fit in cache, ~4 chunks per thread at least
    int64_t fair = (total_rows + 4 * nth - 1) / (4 * nth);
    m->total_chunks = 0;
    for (int i = 0; i < m->n; i++) {
        mm_mat *a = &m->m[i];
        uint32_t vt = ss_vec_dot_type(a->type);
        if (vt == SS_TYPE_F32) {
            a->xq = (const uint8_t *)m->x;
            a->xq_row = (size_t)m->cols * sizeof(float);
        } else {
            int q = 0;
            while (ss_vec_dot_type(m->qwtype[q]) != vt) q++;
            a->xq = m->qbuf[q];
            a->xq_row = m->qrow[q];
        }
        int64_t chunk = a->row_bytes ? (int64_t)(MM_L2_BYTES / 2 / a->row_bytes) : a->rows;
        if (chunk > fair) chunk = fair;
        if (chunk < 1) chunk = 1;
        a->chunk = chunk;
        a->n_chunks = (a->rows + chunk - 1) / chunk;
        a->first_chunk = m->total_chunks;
        m->total_chunks += a->n_chunks;
        int64_t tile = (int64_t)(MM_L2_BYTES / 2 / (a->xq_row ? a->xq_row : 1));
        tile = tile / SS_VEC_DOT_MAX_NR * SS_VEC_DOT_MAX_NR;
        a->tile = tile < SS_VEC_DOT_MAX_NR ? SS_VEC_DOT_MAX_NR : tile;
    }
    atomic_init(&m->next, 0);
    ss_pool_run(run_pool, mm_dot_fn, m);
    free(heap);
}

static void mm_set(mm_mat *a, const ss_weight *W, int64_t r0, int64_t r1, float *out, int64_t ld_out) {
    memset(a, 0, sizeof *a);
    a->type = W->type;
    a->row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    a->w = (const uint8_t *)W->data + (size_t)r0 * a->row_bytes;
    a->rows = r1 > r0 ? r1 - r0 : 0;
    a->out = out;
    a->ld_out = ld_out;
}

void ss_matmul_rows(ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T,
                    const ss_weight *W, int64_t r0, int64_t r1) {
    mm_task m;
    m.n = 1;
    m.cols = W->cols;
    m.T = T;
    m.x = x;
    mm_set(&m.m[0], W, r0, r1, out, ld_out);
    mm_run(pool, &m);
}

void ss_matmul(ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T, const ss_weight *W) {
    ss_matmul_rows(pool, out, ld_out, x, T, W, 0, W->rows);
}

void ss_matmul_multi(ss_pool *pool, int n, float *const out[], const int64_t ld_out[], const float *x,
                     int64_t T, const ss_weight *const W[]) {
    for (int i0 = 0; i0 < n; i0 += SS_MATMUL_MAX) {    // more than SS_MATMUL_MAX: several passes
        mm_task m;
        m.n = n - i0 < SS_MATMUL_MAX ? n - i0 : SS_MATMUL_MAX;
        m.cols = W[i0]->cols;
        m.T = T;
        m.x = x;
        for (int i = 0; i < m.n; i++) mm_set(&m.m[i], W[i0 + i], 0, W[i0 + i]->rows, out[i0 + i], ld_out[i0 + i]);
        mm_run(pool, &m);
    }
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

#define MVT_SPAN 2048          // elements dequantized per call (a multiple of every block size)

static void mvt_fn(void *arg, int ith, int nth) {
    mvt_task *m = arg;
    const ss_weight *W = m->W;
    const ss_type_info_t *ti = ss_type_info(W->type);
    const size_t row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    int64_t u0 = m->n_units * ith / nth, u1 = m->n_units * (ith + 1) / nth;
    int64_t c0 = u0 * m->unit, c1 = u1 * m->unit < W->cols ? u1 * m->unit : W->cols;
    if (c0 >= c1) return;
    float buf[MVT_SPAN];
    memset(m->y + c0, 0, (size_t)(c1 - c0) * sizeof(float));
    for (int64_t r = 0; r < W->rows; r++) {
        const float gr = m->g[r];
        if (gr == 0.0f) continue;
        const uint8_t *row = (const uint8_t *)W->data + (size_t)r * row_bytes;
        for (int64_t c = c0; c < c1; c += MVT_SPAN) {
            int64_t len = c1 - c < MVT_SPAN ? c1 - c : MVT_SPAN;
            ss_dequant_row(W->type, row + (size_t)(c / ti->blck) * ti->type_size, buf, len);
            ss_axpy(gr, buf, m->y + c, len);    // y[c:c+len] += g[r] * W[r, c:c+len]
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
