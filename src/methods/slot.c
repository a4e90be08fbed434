// slot.c — SLOT (arXiv 2505.12392): one vector delta[D], added to every final hidden state,
// optimized with AdamW so that the prompt predicts itself better.
//
//   logits_t = (h_t + delta) · W^T = z_t + u      z_t = h_t · W^T [V] (fixed), u = W · delta [V]
//   loss     = (1/n) sum_{t in S} [ logsumexp(logits_t) - logits_t[y_t] ]     y_t = tokens[t+1]
//   grad     = W^T · r,   r = (1/n) sum_{t in S} (softmax(logits_t) - onehot(y_t))       [V]
//
// Exact reformulation (no exp per logit per step). When z fits the memory bound, it is computed
// once and replaced, row by row, by
//   E_t[v] = exp(z_t[v] - c_t),   c_t = max_v z_t[v]        (f32, in place of z; z_t[y_t] kept)
// so that at any delta, with m = max_v u[v] and a[v] = exp(u[v] - m) (V exps per step):
//   S_t = sum_v E_t[v] a[v]                  logsumexp(logits_t) = c_t + m + log S_t
//   softmax(logits_t)[v] = E_t[v] a[v] / S_t   r[v] = (a[v] sum_t E_t[v] / S_t - count_v) / n
// Each step is then two passes over E (S = E·a by rows, q = E^T (1/S) by columns: done SLOT_PB = 8
// positions at a time, so the q pass reads those rows from the L3 cache, not from memory) and
// two over W (u = W·delta, g = W^T·r). This is the same math, not an approximation; only f32
// underflow of E (E < 1.7e-38 becomes 0) could matter, and its relative effect on S_t is at most
// V · 1.7e-38 · exp(max u - min u) (S_t >= a at the argmax of z_t >= exp(-(max u - min u))),
// i.e. < 1e-15 while max u - min u <= SS_SLOT_E_RANGE = 40. Beyond that range (lr or delta
// huge) SLOT recomputes z once and continues on z: l = z_t + u, S_t = sum exp(l - max l), two
// exps per logit per step (checked against the reference in tests/test_slot.c). When z does not
// fit the bound, positions are processed in chunks, z is recomputed chunk by chunk at every
// evaluation, and the z formulas are used.
//
// Kernels: the SLOT entries of the table p->kern (ss_kernels.h; scalar definitions in
// src/kernels/slotk.c, AVX2 twins in src/kernels/x86/slot_avx2.c).
// Numerics: every product uses W's exact values (Q8_0 blocks decoded in registers, other types
// dequantized to f32 rows) with f32 activations (h, delta): no rounding of activations to 8 bits
// as in the engine's matmul. z: f32 products and sums (one accumulator per logit, k in order).
// exp: the AVX2 Cephes kernel (~1 ulp). S_t, q, the loss: double. Gradient: f32 sums over 16
// vocabulary rows, added in double. AdamW state: double. Tests (tests/test_slot.c): float64
// reference and finite differences at 1e-5, the golden SLOT files at 1e-4 (observed <= 4e-7),
// E vs z path, chunked vs not and 1 vs 4 threads bit for bit, scalar vs AVX2 kernels.
// E stored as F16 instead of f32 (half the bytes of the E passes) was tried and rejected: the
// golden δ error grew from 6e-6 to 1.2e-4 of max |δ| (tolerance 1e-4), the 1e-5 gradient tests
// failed (AdamW's first steps, ~ -lr·g/(|g| + eps), amplify gradient errors on small components).
//
// Cost, Qwen2.5-0.5B shapes (V = 151936, D = 896, Q8_0 head), 149 positions, 1 thread, CPU time
// on the shared 2-core EPYC (FMA peak 50.6 G multiply-adds/s per core, ~12-15 GB/s read per core):
//   z = 20.3 G multiply-adds: the 16-position × 6-row outer-product micro-kernel
//   (ss_slot_gemm_avx2) on dequantized W tiles (48 rows; dequantizing all of W: ~24 ms) runs
//   at 46-47 G/s alone (93% of peak) and 37-40 G/s in place: 0.50-0.55 s; E from z: ~20 ms once.
//   per step: u ~13 ms, gradient ~19 ms (W, 145 MB, read twice), S ~7 ms (E, 90 MB, read once
//   from memory) and q ~7 ms (from the L3 cache): ~45 ms, about what decoding one token costs.
//   5 steps + final loss: ~0.75 s of CPU (~0.4 s on 2 idle cores).
// Floor on 2 cores: z alone needs 2·T·V·D = 40.6 GFLOP = 0.20 s at 100% of the FMA peak; the
// steps read W 9-10 times (1.3-1.45 GB) and E ~6 times (0.55 GB): ~0.08 s at 25 GB/s. z is
// compute-bound and the steps memory-bound: neither can go much lower with exact f32
// arithmetic on this machine (an int16-activation z kernel measured 46 G/s, not worth its error).
// A fresh process may also pay for first touching E's pages: ~15 ms for 90 MB of recycled 2 MB
// pages, but up to ~0.3 s when the VM's host has never backed them (clear_page_erms in perf).
//
// Threads (ss_pool_run): every pass hands out fixed work items (vocabulary tiles, positions or
// column ranges) through an atomic counter, so a thread slowed down by another process does not
// hold up the others; every output element is computed by one thread in a fixed order, and the
// gradient's partial sums (per fixed range of SLOT_GROWS rows) are reduced in range order: the
// results do not depend on the number of threads or on scheduling.
#include "ss_slot.h"
#include "ss_adamw.h"
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLOT_PG     16      // positions per packed group of H (the z micro-kernel's width)
#define SLOT_NW     48      // vocab rows per z work item (dequantized together, multiple of 6)
#define SLOT_KC     1024    // k-block of the z product: 48 rows × 1024 floats = 192 KB (L2)
#define SLOT_NR     16      // vocab rows dequantized together in the u and gradient passes
#define SLOT_ROWS   256     // vocab rows per work item of the u pass
#define SLOT_QCOLS  4096    // vocab columns per work item of the q and a passes (q: 32 KB)
#define SLOT_GROWS  2048    // vocab rows per gradient partial sum (fixed: fixed reduction order)
#define SLOT_PB     8       // SLOT_E: positions whose S_t and then q terms are computed together
                            // (8 rows of E, ~5 MB for V = 152k, are still in the L3 cache for q)

void ss_slot_params_default(ss_slot_params *p) {
    memset(p, 0, sizeof *p);
    p->steps = 3;
    p->lr = 0.1f;
    p->beta1 = 0.9f;
    p->beta2 = 0.999f;
    p->eps = 1e-5f;
    p->wd = 1e-8f;
    p->no_loss_after = false;
    p->max_bytes = SS_SLOT_MAX_BYTES;
    p->e_range = SS_SLOT_E_RANGE;
    p->kern = ss_kernels_get(false);
}

// ---------------------------------------------------------------- state

enum {
    SLOT_E,       // buf = E of every position (converted from z at the first evaluation)
    SLOT_Z,       // buf = z of every position
    SLOT_CHUNK,   // buf = z of one chunk of positions, recomputed at every evaluation
};

typedef struct {
    // problem
    const ss_kernels *k;     // the kernels (ss_slot_params.kern)
    float e_range;           // ss_slot_params.e_range
    const float *H;          // [T, D]
    const ss_weight *W;      // [V, D]
    int64_t V;
    int D;
    int n;                   // selected positions
    int *pos;                // [n] row of H
    int32_t *tgt;            // [n] target token (tokens[pos+1])
    int32_t *cnt;            // [V] number of selected positions whose target is v
    // stored logits
    int mode;                // SLOT_E / SLOT_Z / SLOT_CHUNK
    int chunk;               // positions per chunk of buf (n unless SLOT_CHUNK)
    int ready;               // buf holds every position (E or z); never in SLOT_CHUNK
    float *buf;              // [chunk, V]
    float *hp;               // [ceil(chunk/16), D, 16] the chunk's hidden rows, 16 positions per k
    float *zy;               // [n] z_t[y_t]                                 (SLOT_E)
    float *mx;               // [n] SLOT_E: c_t = max z_t; else max (z_t + u)
    double *w;               // [n] 1 / S_t
    double *loss_pos;        // [n] per-position CE
    // KL(p_t || q_t) of the distributions at delta = 0 (p) and at delta (q), when kl_on:
    //   KL_t = lse(z_t + u) - lse(z_t) - sum_v p_t[v] u[v]
    int kl_on;
    double *kl_pos;          // [n] KL_t (clamped at 0: rounding may give -1e-9)
    double *lse0;            // [n] lse(z_t) = c_t + log S0_t                    (SLOT_E)
    double *s0inv;           // [n] 1 / S0_t, S0_t = sum_v E_t[v]: p_t[v] = E_t[v] / S0_t   (SLOT_E)
    double kl_mean;          // mean_t KL_t at the last evaluation (0 at u = 0)
    // delta
    float *deltaf;           // [D] delta rounded to f32
    int u_zero;              // delta == 0: u = 0 without a pass
    float *u;                // [V] W · delta
    float *a;                // [V] exp(u - max u)                           (SLOT_E)
    float u_max, u_min;
    double *q;               // [V] sum_t softmax_t (SLOT_E: without the factor a)
    double *gpart;           // [n_gch, D] gradient partials, SLOT_GROWS rows each
    int n_gch;
    // per thread
    int nth;
    float *wbuf;             // [nth, SLOT_NW, D] dequantized rows
    float *ztile;            // [nth, ceil(chunk/16) * 16, SLOT_NW] z of one work item
    float *erow;             // [nth, V] logits of one position (SLOT_Z / SLOT_CHUNK; lazily)
    float *tmax, *tmin;      // [nth] extremes of u seen by each thread
    size_t bytes;            // everything above
    bool buf_ws;             // buf belongs to a caller's ss_slot_ws (not freed here)
    // current pass
    int c0, c1;              // position range being processed
    int r0;                  // position of buf's first row (SLOT_CHUNK: the chunk's first; else 0)
    atomic_llong next;       // next work item
} slot_state;

static void *slot_alloc(slot_state *s, size_t n, size_t size) {
    s->bytes += n * size;
    return ss_calloc(n, size);
}

void ss_slot_ws_free(ss_slot_ws *ws) {
    if (!ws) return;
    free(ws->buf);
    ws->buf = NULL; ws->bytes = 0;
}

// the stored logits (tens of MB, every entry written before it is read): 2 MB pages where the
// kernel offers them, which saves most of the page faults of a fresh allocation; with a workspace,
// its buffer when large enough (no page faults at all), else a new one that the workspace keeps
static float *slot_alloc_logits_new(size_t n);
static float *slot_alloc_logits(slot_state *s, size_t n, ss_slot_ws *ws) {
    s->bytes += n * sizeof(float);
    if (!ws) return slot_alloc_logits_new(n);
    if (ws->bytes < n * sizeof(float)) {
        ss_slot_ws_free(ws);
        ws->buf = slot_alloc_logits_new(n);
        ws->bytes = ws->buf ? n * sizeof(float) : 0;
    }
    s->buf_ws = true;
    return ws->buf;
}

static float *slot_alloc_logits_new(size_t n) {
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20, bytes = (n * sizeof(float) + huge - 1) & ~(huge - 1);
    void *p = NULL;
    if (bytes >= 2 * huge && posix_memalign(&p, huge, bytes) == 0) {
        madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#endif
    return ss_malloc(n * sizeof(float));
}

static void slot_state_free(slot_state *s) {
    if (!s->buf_ws) free(s->buf);
    free(s->pos); free(s->tgt); free(s->cnt); free(s->hp); free(s->zy); free(s->mx);
    free(s->w); free(s->loss_pos); free(s->kl_pos); free(s->lse0); free(s->s0inv); free(s->deltaf); free(s->u); free(s->a); free(s->q); free(s->gpart);
    free(s->wbuf); free(s->ztile); free(s->erow); free(s->tmax); free(s->tmin);
    memset(s, 0, sizeof *s);
}

// validate the inputs and set up the state; 0 or -1 + err
static int slot_state_init(slot_state *s, const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                           const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                           char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (!H || !tokens || !W) return ss_err(err, errlen, "slot: NULL hidden rows, tokens or LM head");
    if (T < 2) return ss_err(err, errlen, "slot: need at least 2 tokens (got %d)", T);
    if (D <= 0 || W->cols != D)
        return ss_err(err, errlen, "slot: hidden size %d does not match the LM head's %lld columns",
                      D, (long long)W->cols);
    if (W->rows <= 0 || W->rows > INT32_MAX || !W->data)
        return ss_err(err, errlen, "slot: LM head has %lld rows", (long long)W->rows);
    if (!ss_type_supported(W->type))
        return ss_err(err, errlen, "slot: LM head type %s (%u) not supported", ss_type_name(W->type), W->type);
    if (W->row_bytes != ss_row_size(W->type, D))
        return ss_err(err, errlen, "slot: LM head row_bytes %zu, expected %zu for %d %s values",
                      W->row_bytes, ss_row_size(W->type, D), D, ss_type_name(W->type));
    const int64_t V = W->rows;
    int n = 0;
    for (int t = 0; t + 1 < T; t++) {
        if (mask && !mask[t]) continue;
        if (tokens[t + 1] < 0 || tokens[t + 1] >= V)
            return ss_err(err, errlen, "slot: token %d at position %d outside the vocabulary (%lld)",
                          tokens[t + 1], t + 1, (long long)V);
        n++;
    }
    if (n == 0) return ss_err(err, errlen, "slot: the mask selects no position");

    s->k = p->kern ? p->kern : ss_kernels_get(false);
    s->e_range = p->e_range != 0 ? p->e_range : SS_SLOT_E_RANGE;
    const size_t max_bytes = p->max_bytes ? p->max_bytes : SS_SLOT_MAX_BYTES;
    s->H = H; s->W = W; s->V = V; s->D = D; s->n = n;
    s->nth = pool ? ss_pool_n_threads(pool) : 1;
    if (s->nth < 1) s->nth = 1;
    s->pos = slot_alloc(s, n, sizeof(int));
    s->tgt = slot_alloc(s, n, sizeof(int32_t));
    s->cnt = slot_alloc(s, V, sizeof(int32_t));
    if (!s->pos || !s->tgt || !s->cnt) { slot_state_free(s); return ss_err(err, errlen, "slot: out of memory"); }
    for (int t = 0, i = 0; t + 1 < T; t++) {
        if (mask && !mask[t]) continue;
        s->pos[i] = t;
        s->tgt[i] = tokens[t + 1];
        s->cnt[tokens[t + 1]]++;
        i++;
    }
    // E/z of all positions if they fit the bound, else chunks of `chunk` positions (at least 1)
    size_t per_pos = (size_t)V * sizeof(float);
    size_t fit = max_bytes / per_pos;
    s->chunk = fit >= (size_t)n ? n : (fit ? (int)fit : 1);
    s->mode = s->chunk < n ? SLOT_CHUNK : s->e_range > 0 ? SLOT_E : SLOT_Z;
    s->buf = slot_alloc_logits(s, (size_t)s->chunk * V, p->ws);
    const size_t cpad = (size_t)(s->chunk + SLOT_PG - 1) / SLOT_PG * SLOT_PG;
    s->hp = slot_alloc(s, cpad * D, sizeof(float));
    s->zy = slot_alloc(s, n, sizeof(float));
    s->mx = slot_alloc(s, n, sizeof(float));
    s->w = slot_alloc(s, n, sizeof(double));
    s->loss_pos = slot_alloc(s, n, sizeof(double));
    s->kl_pos = slot_alloc(s, n, sizeof(double));
    s->lse0 = slot_alloc(s, n, sizeof(double));
    s->s0inv = slot_alloc(s, n, sizeof(double));
    s->deltaf = slot_alloc(s, D, sizeof(float));
    s->u = slot_alloc(s, V, sizeof(float));
    s->a = slot_alloc(s, V, sizeof(float));
    s->q = slot_alloc(s, V, sizeof(double));
    s->n_gch = (int)((V + SLOT_GROWS - 1) / SLOT_GROWS);
    s->gpart = slot_alloc(s, (size_t)s->n_gch * D, sizeof(double));
    s->wbuf = slot_alloc(s, (size_t)s->nth * SLOT_NW * D, sizeof(float));
    s->ztile = slot_alloc(s, (size_t)s->nth * cpad * SLOT_NW, sizeof(float));
    s->tmax = slot_alloc(s, s->nth, sizeof(float));
    s->tmin = slot_alloc(s, s->nth, sizeof(float));
    if (s->mode != SLOT_E) s->erow = slot_alloc(s, (size_t)s->nth * V, sizeof(float));
    if (!s->buf || !s->hp || !s->zy || !s->mx || !s->w || !s->loss_pos || !s->kl_pos || !s->lse0 || !s->s0inv || !s->deltaf || !s->u || !s->a || !s->q ||
        !s->gpart || !s->wbuf || !s->ztile || !s->tmax || !s->tmin || (s->mode != SLOT_E && !s->erow)) {
        size_t bytes = s->bytes;
        slot_state_free(s);
        return ss_err(err, errlen, "slot: out of memory (%zu bytes for %d positions)", bytes, n);
    }
    return 0;
}

// nr rows of W from row v as f32 rows of D floats: a pointer into W (F32) or into buf (dequantized)
static const float *slot_rows_f32(const slot_state *s, float *buf, int64_t v, int nr) {
    const ss_weight *W = s->W;
    if (W->type == SS_TYPE_F32) return (const float *)((const char *)W->data + v * W->row_bytes);
    for (int r = 0; r < nr; r++)
        s->k->dequant_row(W->type, (const char *)W->data + (v + r) * W->row_bytes, buf + (size_t)r * s->D, s->D);
    return buf;
}

// out[r] = W[v + r] · delta  for nr <= SLOT_NR rows (Q8_0 decoded in registers, else f32 rows)
static void slot_w_dot(const slot_state *s, float *wb, int64_t v, int nr, float *out) {
    const ss_weight *W = s->W;
    if (W->type == SS_TYPE_Q8_0 && s->k->slot_dot_q8_0)
        s->k->slot_dot_q8_0(s->deltaf, (const char *)W->data + v * W->row_bytes, W->row_bytes, nr, s->D, out);
    else s->k->slot_dot_rows(s->deltaf, slot_rows_f32(s, wb, v, nr), s->D, nr, s->D, out);
}

// g += sum_j r[j] W[v + j]  for nr <= SLOT_NR rows
static void slot_w_gacc(const slot_state *s, float *wb, int64_t v, int nr, const float *r, double *g) {
    const ss_weight *W = s->W;
    if (W->type == SS_TYPE_Q8_0 && s->k->slot_gacc_q8_0)
        s->k->slot_gacc_q8_0(g, r, (const char *)W->data + v * W->row_bytes, W->row_bytes, nr, s->D);
    else s->k->slot_gacc(g, r, slot_rows_f32(s, wb, v, nr), s->D, nr, s->D);
}

// run fn on the pool with the work-item counter reset
static void slot_run(slot_state *s, ss_pool *pool, ss_pool_fn fn) {
    atomic_store_explicit(&s->next, 0, memory_order_relaxed);
    ss_pool_run(pool, fn, s);
}

static int64_t slot_item(slot_state *s) {
    return atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);
}

// ---------------------------------------------------------------- passes

// hp[g, k, i] = h_{pos[c0 + 16g + i]}[k]  (zero for positions past the chunk)
static void slot_pack(slot_state *s) {
    const int D = s->D, cn = s->c1 - s->c0, ng = (cn + SLOT_PG - 1) / SLOT_PG;
    memset(s->hp, 0, (size_t)ng * D * SLOT_PG * sizeof(float));
    for (int i = 0; i < cn; i++) {
        const float *h = s->H + (size_t)s->pos[s->c0 + i] * D;
        float *dst = s->hp + (size_t)(i / SLOT_PG) * D * SLOT_PG + i % SLOT_PG;
        for (int k = 0; k < D; k++) dst[(size_t)SLOT_PG * k] = h[k];
    }
}

// buf[i - c0, v] = h_{pos[i]} · W[v]   for i in [c0, c1): items of SLOT_NW vocab rows, dequantized
// once and multiplied with every position of the chunk (16 positions × 6 rows per kernel call)
// into a tile of the thread, whose rows are then copied to buf (192-byte runs instead of the
// kernel's scattered 24-byte stores into rows V floats apart)
static void slot_z_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V;
    const int D = s->D, cn = s->c1 - s->c0, ng = (cn + SLOT_PG - 1) / SLOT_PG;
    const int64_t items = (V + SLOT_NW - 1) / SLOT_NW;
    float *wb = s->wbuf + (size_t)ith * SLOT_NW * D;
    float *zt = s->ztile + (size_t)ith * ((s->chunk + SLOT_PG - 1) / SLOT_PG * SLOT_PG) * SLOT_NW;
    for (int64_t it; (it = slot_item(s)) < items;) {
        const int64_t v0 = it * SLOT_NW;
        const int nw = V - v0 < SLOT_NW ? (int)(V - v0) : SLOT_NW, nw6 = (nw + 5) / 6 * 6;
        for (int r = 0; r < nw; r++)
            s->k->dequant_row(s->W->type, (const char *)s->W->data + (v0 + r) * s->W->row_bytes, wb + (size_t)r * D, D);
        if (nw6 > nw) memset(wb + (size_t)nw * D, 0, (size_t)(nw6 - nw) * D * sizeof(float));
        for (int k0 = 0; k0 < D; k0 += SLOT_KC) {
            const int kc = D - k0 < SLOT_KC ? D - k0 : SLOT_KC;
            for (int g = 0; g < ng; g++) {
                const int nt = cn - SLOT_PG * g < SLOT_PG ? cn - SLOT_PG * g : SLOT_PG;
                for (int r = 0; r < nw; r += 6)
                    s->k->slot_gemm(s->hp + ((size_t)g * D + k0) * SLOT_PG, wb + (size_t)r * D + k0, D, kc,
                              zt + (size_t)SLOT_PG * g * SLOT_NW + r, SLOT_NW, nt, nw - r < 6 ? nw - r : 6, k0 > 0);
            }
        }
        for (int i = 0; i < cn; i++) memcpy(s->buf + (size_t)i * V + v0, zt + (size_t)i * SLOT_NW, (size_t)nw * sizeof(float));
    }
}

// z -> E for every position t of [c0, c1) (delta = 0, u = 0):  zy_t = z_t[y_t], c_t = max z_t,
// E_t = exp(z_t - c_t) in place, S_t = sum E_t, loss at delta = 0
static void slot_e_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V;
    for (int64_t i; (i = s->c0 + slot_item(s)) < s->c1;) {
        float *row = s->buf + (size_t)i * V;
        s->zy[i] = row[s->tgt[i]];
        float c = s->k->slot_add_max(row, s->u, row, V);   // u = 0: row unchanged
        double S = s->k->slot_exp_sum(row, c, V);
        s->mx[i] = c;
        s->w[i] = 1.0 / S;
        s->loss_pos[i] = (double)c + log(S) - (double)s->zy[i];
        s->lse0[i] = (double)c + log(S);
        s->s0inv[i] = 1.0 / S;
    }
}

// u[v] = W[v] · delta, with the extremes of u per thread
static void slot_u_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V, items = (V + SLOT_ROWS - 1) / SLOT_ROWS;
    float *wb = s->wbuf + (size_t)ith * SLOT_NW * s->D;
    float mx = -INFINITY, mn = INFINITY;
    for (int64_t k; (k = slot_item(s)) < items;) {
        const int64_t it = items - 1 - k;   // backwards: W's last rows are still in cache from the gradient pass
        const int64_t v1 = (it + 1) * SLOT_ROWS < V ? (it + 1) * SLOT_ROWS : V;
        for (int64_t v = it * SLOT_ROWS; v < v1; v += SLOT_NR) {
            int nr = v1 - v < SLOT_NR ? (int)(v1 - v) : SLOT_NR;
            slot_w_dot(s, wb, v, nr, s->u + v);
            for (int r = 0; r < nr; r++) {
                if (s->u[v + r] > mx) mx = s->u[v + r];
                if (s->u[v + r] < mn) mn = s->u[v + r];
            }
        }
    }
    s->tmax[ith] = mx;
    s->tmin[ith] = mn;
}

// a[v] = exp(u[v] - max u)
static void slot_a_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V, items = (V + SLOT_QCOLS - 1) / SLOT_QCOLS;
    for (int64_t it; (it = slot_item(s)) < items;) {
        const int64_t v0 = it * SLOT_QCOLS, len = V - v0 < SLOT_QCOLS ? V - v0 : SLOT_QCOLS;
        memcpy(s->a + v0, s->u + v0, (size_t)len * sizeof(float));
        s->k->slot_exp_sum(s->a + v0, s->u_max, len);
    }
}

// SLOT_E, per position t of [c0, c1): S_t = E_t · a;  loss_t = c_t + max u + log S_t - (z_t[y_t] + u[y_t])
// with kl_on: KL_t = (c_t + max u + log S_t) - lse0_t - (E_t · u) / S0_t
static void slot_se_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    for (int64_t i; (i = s->c0 + slot_item(s)) < s->c1;) {
        const float *row = s->buf + (size_t)i * s->V;
        double S = s->k->slot_dot_f64(row, s->a, s->V);
        double lse = (double)s->mx[i] + (double)s->u_max + log(S);
        s->w[i] = 1.0 / S;
        s->loss_pos[i] = lse - ((double)s->zy[i] + (double)s->u[s->tgt[i]]);
        if (s->kl_on) {
            double kl = lse - s->lse0[i] - s->k->slot_dot_f64(row, s->u, s->V) * s->s0inv[i];
            s->kl_pos[i] = kl > 0 ? kl : 0;
        }
    }
}

// SLOT_Z / SLOT_CHUNK, per position i of [c0, c1): l = z_i + u;  m_i = max l;  S_i = sum exp(l - m_i);
// loss_i = m_i + log S_i - l[y_i]
static void slot_sz_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V;
    float *l = s->erow + (size_t)ith * V;
    for (int64_t i; (i = s->c0 + slot_item(s)) < s->c1;) {
        float m = s->k->slot_add_max(s->buf + (size_t)(i - s->r0) * V, s->u, l, V);
        float ly = l[s->tgt[i]];
        double S = s->k->slot_exp_sum(l, m, V);
        s->mx[i] = m;
        s->w[i] = 1.0 / S;
        s->loss_pos[i] = (double)m + log(S) - (double)ly;
        if (s->kl_on) {   // KL_t = lse(z_t + u) - lse(z_t) - sum_v softmax(z_t)[v] u[v]
            double pu, kl = (double)m + log(S) - s->k->slot_lse_dot(s->buf + (size_t)(i - s->r0) * V, s->u, V, &pu) - pu;
            s->kl_pos[i] = kl > 0 ? kl : 0;
        }
    }
}

// q[v] += sum_{i in [c0, c1)} softmax_i[v] over ranges of SLOT_QCOLS columns
// (SLOT_E: q[v] += sum_i E_i[v] / S_i, the factor a[v] is applied in the gradient pass)
static void slot_q_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V, items = (V + SLOT_QCOLS - 1) / SLOT_QCOLS;
    for (int64_t it; (it = slot_item(s)) < items;) {
        const int64_t v0 = it * SLOT_QCOLS, len = V - v0 < SLOT_QCOLS ? V - v0 : SLOT_QCOLS;
        for (int i = s->c0; i < s->c1; i++) {
            const float *row = s->buf + (size_t)(i - s->r0) * V + v0;
            if (s->mode == SLOT_E) s->k->slot_axpy(s->q + v0, s->w[i], row, len);
            else s->k->slot_exp_axpy(s->q + v0, s->w[i], row, s->u + v0, s->mx[i], len);
        }
    }
}

// gpart[c] = sum_{v in range c} r[v] W[v],  r[v] = (q[v] (· a[v]) - cnt[v]) / n
static void slot_g_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V;
    const int D = s->D;
    const double inv_n = 1.0 / s->n;
    float *wb = s->wbuf + (size_t)ith * SLOT_NW * D;
    float r[SLOT_NR];
    for (int64_t c; (c = slot_item(s)) < s->n_gch;) {
        double *g = s->gpart + (size_t)c * D;
        memset(g, 0, (size_t)D * sizeof(double));
        const int64_t v1 = (c + 1) * SLOT_GROWS < V ? (c + 1) * SLOT_GROWS : V;
        for (int64_t v = c * SLOT_GROWS; v < v1; v += SLOT_NR) {
            const int nr = v1 - v < SLOT_NR ? (int)(v1 - v) : SLOT_NR;
            int any = 0;
            for (int j = 0; j < nr; j++) {
                double qv = s->mode == SLOT_E ? (double)s->a[v + j] * s->q[v + j] : s->q[v + j];
                r[j] = (float)((qv - s->cnt[v + j]) * inv_n);
                any |= r[j] != 0;
            }
            if (any) slot_w_gacc(s, wb, v, nr, r, g);
        }
    }
}

// every delta[d] rounds to a zero float
static int delta_is_zero(const double *delta, int D) {
    for (int d = 0; d < D; d++) if ((float)delta[d] != 0) return 0;
    return 1;
}

// loss at delta (double[D]); grad[D] (double) = d loss / d delta when grad != NULL
static double slot_eval(slot_state *s, ss_pool *pool, const double *delta, double *grad) {
    const int64_t V = s->V;
    const int D = s->D;
    // first evaluation with E: z of every position, then E (u = 0 while converting), and at
    // delta = 0 the q terms of SLOT_PB positions right after their E (while in cache)
    int fresh = 0;
    if (grad) memset(s->q, 0, (size_t)V * sizeof(double));
    if (s->mode == SLOT_E && !s->ready) {
        s->c0 = s->r0 = 0; s->c1 = s->n;
        slot_pack(s);
        slot_run(s, pool, slot_z_job);
        memset(s->u, 0, (size_t)V * sizeof(float));
        const int q_now = grad && delta_is_zero(delta, D);
        for (int p0 = 0; p0 < s->n; p0 += SLOT_PB) {
            s->c0 = p0;
            s->c1 = p0 + SLOT_PB < s->n ? p0 + SLOT_PB : s->n;
            slot_run(s, pool, slot_e_job);
            if (q_now) slot_run(s, pool, slot_q_job);   // a = 1: q_job does not read it
        }
        s->ready = fresh = 1;
    }
    // u = W · delta and its range
    s->u_zero = 1;
    for (int d = 0; d < D; d++) {
        s->deltaf[d] = (float)delta[d];
        if (s->deltaf[d] != 0) s->u_zero = 0;
    }
    if (s->u_zero) {
        memset(s->u, 0, (size_t)V * sizeof(float));
        s->u_max = s->u_min = 0;
    } else {
        slot_run(s, pool, slot_u_job);
        s->u_max = -INFINITY; s->u_min = INFINITY;
        for (int th = 0; th < s->nth; th++) {
            if (s->tmax[th] > s->u_max) s->u_max = s->tmax[th];
            if (s->tmin[th] < s->u_min) s->u_min = s->tmin[th];
        }
        if (s->mode == SLOT_E && s->u_max - s->u_min > s->e_range) {
            // E would lose precision: back to z (computed once more, then kept)
            s->mode = SLOT_Z;
            s->ready = 0;
            if (!s->erow) s->erow = slot_alloc(s, (size_t)s->nth * V, sizeof(float));
        }
    }
    // per-position losses and 1/S_t, then q = sum_t softmax_t, chunk by chunk
    for (int c0 = 0; c0 < s->n; c0 += s->chunk) {
        s->c0 = s->r0 = c0;
        s->c1 = c0 + s->chunk < s->n ? c0 + s->chunk : s->n;
        if (s->mode == SLOT_E) {
            if (s->u_zero) for (int64_t v = 0; v < V; v++) s->a[v] = 1.0f;
            else slot_run(s, pool, slot_a_job);
            if (fresh && s->u_zero) {
                // S_t, and q when grad, came with E
            } else if (!grad) {
                slot_run(s, pool, slot_se_job);
            } else {
                // S_t of SLOT_PB positions, then their q terms while those rows of E are in cache
                for (int p0 = 0; p0 < s->n; p0 += SLOT_PB) {
                    s->c0 = p0;
                    s->c1 = p0 + SLOT_PB < s->n ? p0 + SLOT_PB : s->n;
                    slot_run(s, pool, slot_se_job);
                    slot_run(s, pool, slot_q_job);
                }
            }
            continue;
        }
        if (!s->ready) {
            slot_pack(s);
            slot_run(s, pool, slot_z_job);
            if (s->mode == SLOT_Z) s->ready = 1;
        }
        slot_run(s, pool, slot_sz_job);
        if (grad) slot_run(s, pool, slot_q_job);
    }
    double loss = 0;
    for (int i = 0; i < s->n; i++) loss += s->loss_pos[i];
    loss /= s->n;
    s->kl_mean = 0;
    if (s->kl_on && !s->u_zero) {
        for (int i = 0; i < s->n; i++) s->kl_mean += s->kl_pos[i];
        s->kl_mean /= s->n;
    }
    if (!grad) return loss;
    // grad = W^T r, partial sums over fixed vocabulary ranges added in order
    slot_run(s, pool, slot_g_job);
    for (int d = 0; d < D; d++) grad[d] = 0;
    for (int c = 0; c < s->n_gch; c++)
        for (int d = 0; d < D; d++) grad[d] += s->gpart[(size_t)c * D + d];
    return loss;
}

// ---------------------------------------------------------------- API

// loss at delta, and optionally its gradient and the mean KL from delta = 0
static double slot_loss_at(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                           const uint8_t *mask, const ss_weight *W, const float *delta, float *grad, double *kl) {
    slot_state s;
    if (!p || slot_state_init(&s, p, pool, H, T, D, tokens, mask, W, NULL, 0) != 0) return NAN;
    s.kl_on = kl != NULL;
    double *dd = ss_malloc((size_t)D * sizeof(double) * 2);
    if (!dd) { slot_state_free(&s); return NAN; }
    double *gd = dd + D;
    for (int d = 0; d < D; d++) dd[d] = delta ? delta[d] : 0.0;
    double loss = slot_eval(&s, pool, dd, grad ? gd : NULL);
    if (grad)
        for (int d = 0; d < D; d++) grad[d] = (float)gd[d];
    if (kl) *kl = s.kl_mean;
    free(dd);
    slot_state_free(&s);
    return loss;
}

double ss_slot_loss_grad(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                         const uint8_t *mask, const ss_weight *W, const float *delta, float *grad) {
    return slot_loss_at(p, pool, H, T, D, tokens, mask, W, delta, grad, NULL);
}

double ss_slot_loss_kl(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                       const uint8_t *mask, const ss_weight *W, const float *delta, double *kl) {
    return slot_loss_at(p, pool, H, T, D, tokens, mask, W, delta, NULL, kl);
}

// step-wise run: the state, AdamW's moments in double, the per-step report and the time spent
struct ss_slot_stepper {
    slot_state s;
    ss_pool *pool;
    ss_slot_params p;        // kl_max resolved (safe)
    double *x, *m, *v, *g;   // delta, first and second moments, gradient [D] each
    double *xprev, *dir;     // trust region: delta before the step, the AdamW update (delta - xprev)
    ss_adamw opt;            // opt.t = steps done
    float *loss, *kl, *scale;   // [steps] each: loss before, mean KL after, step scale of each step
    bool stopped;            // min_gain stopped the run; final_loss is the loss at x
    double final_loss, final_kl;
    double seconds;
};

ss_slot_stepper *ss_slot_begin(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                           const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                           char *err, size_t errlen) {
    double t_start = ss_time();
    if (!p) { ss_err(err, errlen, "slot: NULL params"); return NULL; }
    if (p->steps < 0 || p->steps > 100000) { ss_err(err, errlen, "slot: steps %d out of range", p->steps); return NULL; }
    if (!(p->lr >= 0 && isfinite(p->lr)) || !(p->beta1 >= 0 && p->beta1 < 1) ||
        !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps >= 0 && isfinite(p->eps)) ||
        !(p->wd >= 0 && isfinite(p->wd))) {
        ss_err(err, errlen, "slot: bad AdamW parameters (lr %g, betas %g/%g, eps %g, wd %g)",
               p->lr, p->beta1, p->beta2, p->eps, p->wd);
        return NULL;
    }
    if (!(p->kl_max >= 0 && isfinite(p->kl_max)) || !(p->min_gain >= 0 && p->min_gain < 1)) {
        ss_err(err, errlen, "slot: kl_max %g must be >= 0 and finite, min_gain %g in [0, 1)", p->kl_max, p->min_gain);
        return NULL;
    }
    ss_slot_stepper *r = ss_calloc(1, sizeof *r);
    if (!r) { ss_err(err, errlen, "slot: out of memory"); return NULL; }
    if (slot_state_init(&r->s, p, pool, H, T, D, tokens, mask, W, err, errlen) != 0) { free(r); return NULL; }
    r->pool = pool;
    r->p = *p;
    if (r->p.safe && r->p.kl_max == 0) r->p.kl_max = SS_SLOT_SAFE_KL_MAX;
    r->s.kl_on = 1;
    // AdamW state in double: delta, first and second moments, gradient; the trust region's two
    r->x = ss_calloc((size_t)D * 6, sizeof(double));
    r->loss = ss_calloc((size_t)p->steps * 3 + 1, sizeof(float));
    if (!r->x || !r->loss) {
        free(r->x); free(r->loss); slot_state_free(&r->s); free(r);
        ss_err(err, errlen, "slot: out of memory");
        return NULL;
    }
    r->m = r->x + D; r->v = r->m + D; r->g = r->v + D; r->xprev = r->g + D; r->dir = r->xprev + D;
    r->kl = r->loss + p->steps; r->scale = r->kl + p->steps;
    for (int k = 0; k < p->steps; k++) { r->kl[k] = NAN; r->scale[k] = 1; }
    ss_adamw_init(&r->opt, p->lr, p->beta1, p->beta2, p->eps, p->wd);
    r->seconds = ss_time() - t_start;
    return r;
}

// trust region after the AdamW step of step k (x = xprev + dir): the largest s in 1, 1/2, 1/4, ...
// (at most SS_SLOT_MAX_BACKTRACK halvings, else 0) with mean KL(x) <= kl_max; kl_prev = KL at xprev
static void slot_backtrack(ss_slot_stepper *r, int k, double kl_prev) {
    const int D = r->s.D;
    double sc = 1;
    for (int j = 0;; j++) {
        slot_eval(&r->s, r->pool, r->x, NULL);   // a non-finite KL (diverged step) fails the test too
        if (r->s.kl_mean <= r->p.kl_max) { r->kl[k] = (float)r->s.kl_mean; break; }
        if (j == SS_SLOT_MAX_BACKTRACK) {       // drop the step: delta stays where it was
            sc = 0;
            memcpy(r->x, r->xprev, sizeof(double) * D);
            r->kl[k] = (float)kl_prev;
            break;
        }
        sc *= 0.5;
        for (int d = 0; d < D; d++) r->x[d] = r->xprev[d] + sc * r->dir[d];
    }
    r->scale[k] = (float)sc;
}

int ss_slot_step(ss_slot_stepper *r, float *loss_before, char *err, size_t errlen) {
    if (r->stopped || r->opt.t >= r->p.steps) return 0;
    double t_start = ss_time();
    const int D = r->s.D, k = (int)r->opt.t;
    double loss = slot_eval(&r->s, r->pool, r->x, r->g);
    if (!isfinite(loss)) return ss_err(err, errlen, "slot: loss is %g at step %d", loss, k + 1);
    if (k > 0 && isnan(r->kl[k - 1])) r->kl[k - 1] = (float)r->s.kl_mean;   // KL at the delta of step k-1
    if (r->p.min_gain > 0 && k > 0 && r->loss[k - 1] - loss < r->p.min_gain * fabs(r->loss[k - 1])) {
        r->stopped = true;   // the loss no longer falls enough: stop at this delta
        r->final_loss = loss;
        r->final_kl = r->s.kl_mean;
        r->seconds += ss_time() - t_start;
        return 0;
    }
    r->loss[k] = (float)loss;
    if (loss_before) *loss_before = (float)loss;
    const double kl_prev = r->s.kl_mean;
    if (r->p.kl_max > 0) memcpy(r->xprev, r->x, sizeof(double) * D);
    ss_adamw_next(&r->opt);   // torch.optim.AdamW: decoupled weight decay, bias-corrected Adam step
    ss_adamw_step_f64(&r->opt, r->x, r->g, r->m, r->v, D);
    if (r->p.kl_max > 0) {
        for (int d = 0; d < D; d++) r->dir[d] = r->x[d] - r->xprev[d];
        slot_backtrack(r, k, kl_prev);
    }
    r->seconds += ss_time() - t_start;
    return r->opt.t < r->p.steps;
}

int ss_slot_finish(ss_slot_stepper *r, float *delta, ss_slot_result *res, char *err, size_t errlen) {
    double t_start = ss_time();
    const int D = r->s.D, done = (int)r->opt.t;
    int rc = 0;
    res->loss_after = NAN;
    if (r->stopped) {
        res->loss_after = (float)r->final_loss;
    } else if (!r->p.no_loss_after) {
        double loss = slot_eval(&r->s, r->pool, r->x, NULL);
        if (!isfinite(loss)) rc = ss_err(err, errlen, "slot: final loss is %g", loss);
        res->loss_after = (float)loss;
        if (done > 0 && isnan(r->kl[done - 1])) r->kl[done - 1] = (float)r->s.kl_mean;
    }
    for (int d = 0; d < D; d++) delta[d] = (float)r->x[d];
    res->steps_done = done;
    for (int k = 0; k < done; k++) {
        if (res->kl) res->kl[k] = r->kl[k];
        if (res->scale) res->scale[k] = r->scale[k];
    }
    res->peak_bytes = r->s.bytes + (size_t)D * 6 * sizeof(double);
    res->seconds = r->seconds + (ss_time() - t_start);
    ss_slot_stepper_free(r);
    return rc;
}

void ss_slot_stepper_free(ss_slot_stepper *r) {
    if (!r) return;
    slot_state_free(&r->s);
    free(r->x);
    free(r->loss);
    free(r);
}

int ss_slot_optimize(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                     const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                     float *delta, ss_slot_result *res, char *err, size_t errlen) {
    if (!p || !delta || !res) return ss_err(err, errlen, "slot: NULL params, delta or result");
    ss_slot_stepper *r = ss_slot_begin(p, pool, H, T, D, tokens, mask, W, err, errlen);
    if (!r) return -1;
    for (int k = 0; k < p->steps; k++) {
        int rc = ss_slot_step(r, res->loss_before ? &res->loss_before[k] : NULL, err, errlen);
        if (rc < 0) {
            // as before: the delta reached so far, no final loss
            for (int d = 0; d < D; d++) delta[d] = (float)r->x[d];
            res->loss_after = NAN;
            res->steps_done = (int)r->opt.t;
            ss_slot_stepper_free(r);
            return -1;
        }
        if (rc == 0) break;
    }
    return ss_slot_finish(r, delta, res, err, errlen);
}
