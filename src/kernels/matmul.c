// matmul.c — threaded products with quantized weight matrices.
//
// ss_matmul: out[T, rows] = x[T, cols] · W[rows, cols]^T
//   1. the T activation rows are converted once per distinct rounding (Q8_0, Q8_1, Q8_K, F16,
//      BF16; F32 is used in place) and layout into grow-only scratch owned by the pool: "packed"
//      for the matrix-matrix kernel (the table's gemm, SIMD) when it has the weight type (in the
//      layout ss_gemm_layout picks for T rows), else quant_act blocks for vec_dot_n;
//   2. W's rows are handed out in chunks (atomic counter: a thread slowed down by another process
//      holds up only the chunk it is working on); a chunk is computed for activation tiles that
//      fit in L2, by gemm's register tiles (a few weight rows × a few activation rows, every
//      weight block decoded once per tile), so weights stream from memory once per tile of T.
// Every output element is computed by the same operations whatever the chunking (gemm's
// guarantee), so results do not depend on the thread count. A single activation row (decode)
// is a matrix-vector product that streams W from memory; the kernels prefetch ahead for it.
// ss_matmul_multi does the same for several matrices sharing the input (Q/K/V): one conversion
// of x per rounding and one pool pass for all of them. ss_matmul_swiglu computes gate and up
// rows of a chunk together and applies silu(gate)*up to the chunk while it is in cache.
// Layering: the products sit above the dispatch; every kernel call goes through the table `k`
// the caller passes (ss_kernels.h), so a context's force-scalar choice reaches them.
#include "ss_matmul.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MM_L2_BYTES      (384 * 1024)   // activation tile budget (L2 is 512 KB on Zen 3)
#define MM_ROW_ALIGN     12             // chunks: multiples of the register tiles' heights (1..4)
#define MM_T_ALIGN       8              // activation tiles: multiples of their widths (4, 8)
#define MM_PANEL_CHUNK_ROWS 96          // panel kernel: the MM_CHUNK_BYTES cap raised to this many rows
#define MM_CHUNK_BYTES   (128 * 1024)   // at most this many weight bytes per chunk
#define MM_CHUNKS_PER_TH 8              // at least this many chunks per thread (load balance)
#define MM_MIN_PAR_WORK  (64 * 1024)    // multiply-adds below which one thread does it all
#define MM_MAX_ACT       (2 * SS_MATMUL_MAX)
#define MM_SERIAL_CONVERT (16 * 1024)   // activation values converted without the pool (~5 us)

// one activation conversion: T rows of `row` bytes
typedef struct {
    uint32_t vtype;           // rounding (the weights' vec-dot type)
    bool gemm;                // packed for the table's gemm (else quant_act blocks)
    int layout;               // gemm's layout (SS_PACK_INT / _F32 / _PANEL; SS_PACK_INT when not gemm)
    uint32_t wtype;           // a weight type with this conversion (for pack_act / quant_act)
    const uint8_t *buf;       // T rows
    size_t row;
    size_t off;               // offset in the scratch buffer (-1: x used in place)
} mm_act;

// one product of the call: rows [r0, r1) of W into out; with `pair`, also the same rows of W2
// into out2, then out = silu(out) * out2 on the chunk
typedef struct {
    uint32_t type, type2;
    const uint8_t *w, *w2;    // row r0
    size_t row_bytes, row_bytes2;
    int64_t rows;             // r1 - r0
    float *out, *out2;        // out[t * ld_out + (r - r0)]
    int64_t ld_out, ld_out2;
    int act, act2;            // conversions used
    bool pair;
    int64_t chunk;            // weight rows per work item
    int64_t first_chunk, n_chunks;
} mm_mat;

typedef struct {
    const ss_kernels *k;
    int n;
    mm_mat m[SS_MATMUL_MAX];
    int64_t cols, T;
    int kind;                 // SS_MM_AUTO / SS_MM_PROMPT / SS_MM_GEN: picks the kernels (ss_mm_layout)
    const float *x;           // [T, cols] f32 activations
    int nact;
    mm_act act[MM_MAX_ACT];
    int64_t total_chunks;
    atomic_llong next;        // next chunk (or conversion item) to hand out
} mm_task;

// row t of conversion a (SS_PACK_PANEL: the panel of rows t..t+15, done by t % 16 == 0)
static void mm_convert_row(const mm_task *m, const mm_act *a, int64_t t) {
    uint8_t *dst = (uint8_t *)a->buf + (size_t)t * a->row;
    const float *x = m->x + t * m->cols;
    if (a->layout == SS_PACK_PANEL) {   // (only the gemm conversions have layouts other than SS_PACK_INT)
        if (t % SS_PANEL_ROWS == 0)
            m->k->pack_panel(a->wtype, x, m->cols, m->T - t < SS_PANEL_ROWS ? (int)(m->T - t) : SS_PANEL_ROWS, m->cols, dst);
    } else if (a->gemm) m->k->pack_act(a->wtype, a->layout, x, m->cols, dst);
    else m->k->quant_act(a->wtype, x, dst, m->cols);
}

// conversion items (t, a) handed out dynamically
static void mm_convert_fn(void *arg, int ith, int nth) {
    mm_task *m = arg;
    const int64_t n_items = m->T * m->nact;
    for (;;) {
        int64_t k = atomic_fetch_add_explicit(&m->next, 1, memory_order_relaxed);
        if (k >= n_items) break;
        const mm_act *a = &m->act[k % m->nact];
        if (a->off != (size_t)-1) mm_convert_row(m, a, k / m->nact);
    }
}

// out[t, r] = W[r] · x[t] for rows [ra, rb) of one matrix
static void mm_part(const mm_task *m, uint32_t type, const uint8_t *w, size_t row_bytes, const mm_act *a,
                    float *out, int64_t ld_out, int64_t ra, int64_t rb) {
    const int64_t T = m->T, cols = m->cols;
    const uint8_t *wr = w + (size_t)ra * row_bytes;
    if (a->layout == SS_PACK_PANEL) {   // (blocked for the caches inside)
        m->k->gemm(type, a->layout, cols, wr, row_bytes, rb - ra, a->buf, a->row, T, out + ra, ld_out);
        return;
    }
    if (a->gemm) {
        int64_t tile = (int64_t)(MM_L2_BYTES / a->row) / MM_T_ALIGN * MM_T_ALIGN;
        if (tile < MM_T_ALIGN) tile = MM_T_ALIGN;
        for (int64_t t0 = 0; t0 < T; t0 += tile) {
            const int64_t nt = T - t0 < tile ? T - t0 : tile;
            m->k->gemm(type, a->layout, cols, wr, row_bytes, rb - ra, a->buf + (size_t)t0 * a->row, a->row, nt, out + t0 * ld_out + ra, ld_out);
        }
        return;
    }
    float s[SS_VEC_DOT_MAX_NR];
    int64_t tile = (int64_t)(MM_L2_BYTES / a->row) / SS_VEC_DOT_MAX_NR * SS_VEC_DOT_MAX_NR;
    if (tile < SS_VEC_DOT_MAX_NR) tile = SS_VEC_DOT_MAX_NR;
    for (int64_t t0 = 0; t0 < T; t0 += tile) {
        const int64_t t1 = t0 + tile < T ? t0 + tile : T;
        for (int64_t r = ra; r < rb; r++) {
            const uint8_t *wrow = w + (size_t)r * row_bytes;
            for (int64_t t = t0; t < t1; t += SS_VEC_DOT_MAX_NR) {
                const int nr = t1 - t < SS_VEC_DOT_MAX_NR ? (int)(t1 - t) : SS_VEC_DOT_MAX_NR;
                m->k->vec_dot_n(type, cols, s, wrow, a->buf + (size_t)t * a->row, a->row, nr);
                for (int j = 0; j < nr; j++) out[(t + j) * ld_out + r] = s[j];
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
        const int64_t ra = (c - a->first_chunk) * a->chunk, rb = ra + a->chunk < a->rows ? ra + a->chunk : a->rows;
        mm_part(m, a->type, a->w, a->row_bytes, &m->act[a->act], a->out, a->ld_out, ra, rb);
        if (a->pair) {
            mm_part(m, a->type2, a->w2, a->row_bytes2, &m->act[a->act2], a->out2, a->ld_out2, ra, rb);
            for (int64_t t = 0; t < m->T; t++) m->k->swiglu(a->out + t * a->ld_out + ra, a->out2 + t * a->ld_out2 + ra, rb - ra);
        }
    }
}

// ss_gemm's layout for rows of this kind: prompt rows as a prefill of SS_GEMM_PANEL_MIN_T rows,
// generated rows as one decode row, whatever T is (both kernels give every output the same bits at
// any row count, so a row's result depends only on its kind); AUTO: by T
static int mm_layout(uint32_t type, int64_t cols, int64_t T, int kind) {
    const int64_t t = kind == SS_MM_PROMPT ? SS_GEMM_PANEL_MIN_T : kind == SS_MM_GEN ? 1 : T;
    return ss_gemm_layout(type, cols, t);
}

// index of the conversion for weight type `type` (added if new)
static int mm_act_for(mm_task *m, uint32_t type) {
    const uint32_t vt = ss_vec_dot_type(type);
    const bool gemm = m->k->simd && m->k->gemm_has(type);
    const int layout = gemm ? mm_layout(type, m->cols, m->T, m->kind) : SS_PACK_INT;
    for (int q = 0; q < m->nact; q++)
        if (m->act[q].vtype == vt && m->act[q].gemm == gemm && m->act[q].layout == layout) return q;
    mm_act *a = &m->act[m->nact];
    a->vtype = vt;
    a->gemm = gemm;
    a->layout = layout;
    a->wtype = type;
    a->buf = NULL;
    a->off = 0;
    if (vt == SS_TYPE_F32) {                  // x in place (the kernels load it unaligned)
        a->buf = (const uint8_t *)m->x;
        a->row = (size_t)m->cols * sizeof(float);
        a->off = (size_t)-1;
    } else {
        a->row = gemm ? ss_pack_row_bytes(type, layout, m->cols) : ss_row_size(vt, m->cols);
    }
    return m->nact++;
}

// the conversions of m (its matrices' types, T, kind) into m->act with their offsets in one
// scratch buffer; returns the buffer's bytes (0: every conversion uses x in place)
static size_t mm_plan(mm_task *m) {
    m->nact = 0;
    for (int i = 0; i < m->n; i++) {
        m->m[i].act = mm_act_for(m, m->m[i].type);
        if (m->m[i].pair) m->m[i].act2 = mm_act_for(m, m->m[i].type2);
    }
    size_t bytes = 0;
    for (int q = 0; q < m->nact; q++)
        if (m->act[q].off != (size_t)-1) {
            m->act[q].off = bytes;
            const int64_t rows = m->act[q].layout == SS_PACK_PANEL ? (m->T + SS_PANEL_ROWS - 1) / SS_PANEL_ROWS * SS_PANEL_ROWS : m->T;
            bytes += ((size_t)rows * m->act[q].row + 63) & ~(size_t)63;
        }
    return bytes;
}

// the common driver: m->n matrices with type/w/row_bytes/rows/out/ld_out (and the pair fields) set;
// 0, or -1 when the activations' scratch cannot be allocated (nothing computed)
static int mm_run(ss_pool *pool, mm_task *m) {
    uint64_t work = 0;
    int64_t total_rows = 0;
    size_t max_row_bytes = 0;
    for (int i = 0; i < m->n; i++) {
        const mm_mat *a = &m->m[i];
        work += (uint64_t)a->rows * (uint64_t)m->cols * (uint64_t)m->T * (a->pair ? 2 : 1);
        total_rows += a->rows;
        size_t rb = a->row_bytes + (a->pair ? a->row_bytes2 : 0);
        if (rb > max_row_bytes) max_row_bytes = rb;
    }
    if (total_rows == 0 || m->T <= 0) return 0;
    ss_pool *run_pool = work < MM_MIN_PAR_WORK ? NULL : pool;
    const int nth = ss_pool_n_threads(run_pool);

    // 1. activations -> each distinct conversion, in the pool's scratch (reserved by a context:
    //    ss_matmul_scratch_bound) or, without a pool, a buffer of this call
    const size_t bytes = mm_plan(m);
    void *heap = NULL;
    if (bytes) {
        uint8_t *scratch = pool ? ss_pool_scratch(pool, 0, bytes) : NULL;
        if (!scratch) scratch = heap = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        if (!scratch) return -1;
        for (int q = 0; q < m->nact; q++)
            if (m->act[q].off != (size_t)-1) m->act[q].buf = scratch + m->act[q].off;
        atomic_init(&m->next, 0);
        // small conversions (decode, a few sequences) on the calling thread: a pool run costs more
        if (m->T * m->nact == 1 || nth == 1 || (uint64_t)m->T * (uint64_t)m->cols * (uint64_t)m->nact <= MM_SERIAL_CONVERT) mm_convert_fn(m, 0, 1);
        else ss_pool_run(run_pool, mm_convert_fn, m);
    }

    // 2. work split: chunks of weight rows (multiples of the register tiles' heights), at least
    //    MM_CHUNKS_PER_TH per thread, at most MM_CHUNK_BYTES of weights
    int64_t fair = (total_rows + MM_CHUNKS_PER_TH * nth - 1) / (MM_CHUNKS_PER_TH * nth);
    int64_t cap = max_row_bytes ? (int64_t)(MM_CHUNK_BYTES / max_row_bytes) : fair;
    bool panel = false;   // the panel kernel reads all activations per chunk: larger chunks
    for (int q = 0; q < m->nact; q++) panel |= m->act[q].layout == SS_PACK_PANEL;
    if (panel && cap < MM_PANEL_CHUNK_ROWS) cap = MM_PANEL_CHUNK_ROWS;
    int64_t chunk = fair < cap ? fair : cap;
    chunk = (chunk + MM_ROW_ALIGN - 1) / MM_ROW_ALIGN * MM_ROW_ALIGN;
    m->total_chunks = 0;
    for (int i = 0; i < m->n; i++) {
        mm_mat *a = &m->m[i];
        a->chunk = chunk;
        a->n_chunks = (a->rows + chunk - 1) / chunk;
        a->first_chunk = m->total_chunks;
        m->total_chunks += a->n_chunks;
    }
    atomic_init(&m->next, 0);
    ss_pool_run(m->total_chunks > 1 ? run_pool : NULL, mm_dot_fn, m);
    free(heap);
    return 0;
}

static void mm_set(mm_mat *a, const ss_weight *W, int64_t r0, int64_t r1, float *out, int64_t ld_out);

size_t ss_matmul_scratch_bytes(const ss_kernels *k, int kind, int64_t T, int n, const ss_weight *const W[]) {
    mm_task m;
    m.k = k;
    m.n = n < SS_MATMUL_MAX ? n : SS_MATMUL_MAX;
    m.cols = W[0]->cols;
    m.T = T;
    m.kind = kind;
    m.x = NULL;
    for (int i = 0; i < m.n; i++) mm_set(&m.m[i], W[i], 0, W[i]->rows, NULL, W[i]->rows);
    return T > 0 ? mm_plan(&m) : 0;
}

// Every conversion of a call is (vec-dot type, gemm or not, layout), and a call's layout is the same
// for all weights of one class (F32/F16/BF16 vs quantized: ss_gemm_layout); so the conversions of
// any call are at most one per distinct (cols, vec-dot type, gemm, class) of W, each of at most T
// rows rounded up to a panel, of the largest row any layout has.
size_t ss_matmul_scratch_bound(const ss_kernels *k, int64_t T, int n, const ss_weight *const W[]) {
    if (T <= 0) return 0;
    const int64_t rows = (T + SS_PANEL_ROWS - 1) / SS_PANEL_ROWS * SS_PANEL_ROWS;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        const uint32_t type = W[i]->type, vt = ss_vec_dot_type(type);
        const bool gemm = k->simd && k->gemm_has(type);
        const bool fl = type == SS_TYPE_F32 || type == SS_TYPE_F16 || type == SS_TYPE_BF16;
        if (vt == SS_TYPE_F32) continue;          // x used in place
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) {
            const uint32_t tj = W[j]->type;
            seen = W[j]->cols == W[i]->cols && ss_vec_dot_type(tj) == vt && (k->simd && k->gemm_has(tj)) == gemm &&
                   (tj == SS_TYPE_F32 || tj == SS_TYPE_F16 || tj == SS_TYPE_BF16) == fl;
        }
        if (seen) continue;
        size_t row = ss_row_size(vt, W[i]->cols);
        if (gemm)
            for (int layout = SS_PACK_INT; layout <= SS_PACK_PANEL; layout++) {
                const size_t r = ss_pack_row_bytes(type, layout, W[i]->cols);
                if (r > row) row = r;
            }
        bytes += ((size_t)rows * row + 63) & ~(size_t)63;
    }
    return bytes;
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

int ss_matmul_rows(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T,
                   const ss_weight *W, int64_t r0, int64_t r1) {
    mm_task m;
    m.k = k;
    m.n = 1;
    m.cols = W->cols;
    m.T = T;
    m.kind = SS_MM_AUTO;
    m.x = x;
    mm_set(&m.m[0], W, r0, r1, out, ld_out);
    return mm_run(pool, &m);
}

int ss_matmul(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T, const ss_weight *W) {
    return ss_matmul_rows(k, pool, out, ld_out, x, T, W, 0, W->rows);
}

int ss_matmul_multi(const ss_kernels *k, ss_pool *pool, int n, float *const out[], const int64_t ld_out[], const float *x,
                    int64_t T, const ss_weight *const W[]) {
    return ss_matmul_multi_k(k, pool, SS_MM_AUTO, n, out, ld_out, x, T, W);
}

int ss_matmul_multi_k(const ss_kernels *k, ss_pool *pool, int kind, int n, float *const out[], const int64_t ld_out[], const float *x,
                      int64_t T, const ss_weight *const W[]) {
    for (int i0 = 0; i0 < n; i0 += SS_MATMUL_MAX) {    // more than SS_MATMUL_MAX: several passes
        mm_task m;
        m.k = k;
        m.n = n - i0 < SS_MATMUL_MAX ? n - i0 : SS_MATMUL_MAX;
        m.cols = W[i0]->cols;
        m.T = T;
        m.kind = kind;
        m.x = x;
        for (int i = 0; i < m.n; i++) mm_set(&m.m[i], W[i0 + i], 0, W[i0 + i]->rows, out[i0 + i], ld_out[i0 + i]);
        if (mm_run(pool, &m)) return -1;
    }
    return 0;
}

int ss_matmul_swiglu(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, float *up, int64_t ld_up, const float *x,
                     int64_t T, const ss_weight *Wgate, const ss_weight *Wup) {
    return ss_matmul_swiglu_k(k, pool, SS_MM_AUTO, out, ld_out, up, ld_up, x, T, Wgate, Wup);
}

int ss_matmul_swiglu_k(const ss_kernels *k, ss_pool *pool, int kind, float *out, int64_t ld_out, float *up, int64_t ld_up, const float *x,
                       int64_t T, const ss_weight *Wgate, const ss_weight *Wup) {
    mm_task m;
    m.k = k;
    m.n = 1;
    m.cols = Wgate->cols;
    m.T = T;
    m.kind = kind;
    m.x = x;
    mm_set(&m.m[0], Wgate, 0, Wgate->rows, out, ld_out);
    mm_mat u;
    mm_set(&u, Wup, 0, Wup->rows, up, ld_up);
    mm_mat *a = &m.m[0];
    a->pair = true;
    a->type2 = u.type;
    a->w2 = u.w;
    a->row_bytes2 = u.row_bytes;
    a->out2 = up;
    a->ld_out2 = ld_up;
    return mm_run(pool, &m);
}

// ---------------------------------------------------------------------------------------------
// y[cols] = W^T g: threads own disjoint column ranges (whole blocks), each walks all rows and
// accumulates g[r] * W[r, c0:c1] in row order, so the result does not depend on the thread count.

typedef struct {
    const ss_kernels *k;
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
            m->k->dequant_row(W->type, row + (size_t)(c / ti->blck) * ti->type_size, buf, len);
            m->k->axpy(gr, buf, m->y + c, len);    // y[c:c+len] += g[r] * W[r, c:c+len]
        }
    }
}

void ss_matvec_t(const ss_kernels *k, ss_pool *pool, float *y, const float *g, const ss_weight *W) {
    const ss_type_info_t *ti = ss_type_info(W->type);
    if (!ti || W->cols <= 0) return;
    mvt_task m = {k, W, g, y, ti->blck == 1 ? 64 : ti->blck, 0};
    m.n_units = (W->cols + m.unit - 1) / m.unit;
    uint64_t work = (uint64_t)W->rows * (uint64_t)W->cols;
    ss_pool_run(work < MM_MIN_PAR_WORK ? NULL : pool, mvt_fn, &m);
}

void ss_weight_row(const ss_kernels *k, const ss_weight *W, int64_t r, float *y) {
    const size_t row_bytes = W->row_bytes ? W->row_bytes : ss_row_size(W->type, W->cols);
    k->dequant_row(W->type, (const uint8_t *)W->data + (size_t)r * row_bytes, y, W->cols);
}
