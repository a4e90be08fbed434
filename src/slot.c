// slot.c — SLOT (arXiv 2505.12392): one vector delta[D], added to every final hidden state,
// optimized with AdamW so that the prompt predicts itself better.
//
//   logits_t = (h_t + delta) · W^T = z_t + u      z_t = h_t · W^T [V] (fixed), u = W · delta [V]
//   loss     = (1/n) sum_{t in S} [ logsumexp(logits_t) - logits_t[y_t] ]     y_t = tokens[t+1]
//   grad     = W^T · r,   r = (1/n) sum_{t in S} (softmax(logits_t) - onehot(y_t))       [V]
//
// Cost per step (n positions, V vocab, D dims): u = W·delta (V·D MACs), one pass over the n×V
// logits (n·V exps), g = W^T·r (V·D MACs). z costs n·V·D MACs once, and is kept in f32 when
// n×V×4 bytes <= SS_SLOT_MAX_BYTES; otherwise positions are processed in chunks that fit the
// bound and z is recomputed chunk by chunk at every evaluation (bounded memory, n·V·D MACs more
// per step). z is never stored in a lower precision: the losses must match a float64 reference.
//
// Exactness: ss_matmul would round the activations (h, delta) to the weight's vec-dot type
// (Q8_0/Q8_K/F16/BF16) like llama.cpp does, which moves the logits by ~1e-3 relative. SLOT
// instead dequantizes W's rows to f32 (a block of SLOT_NB rows at a time, per thread, inside each
// pass: no V×D f32 copy of W) and uses f32 dot products (dequantization is exact, so only the
// f32 summation rounds). Sums over the vocabulary (softmax denominators, q, the gradient) and the
// loss are accumulated in double; the AdamW state is double.
//
// Threads (ss_pool_run): the z and u passes and the gradient split the vocabulary rows; the
// softmax pass splits positions, each thread accumulating its own q[V] (reduced afterwards in a
// fixed order, so results do not depend on scheduling).
#include "ss_slot.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_NB 8          // vocab rows dequantized together (8 × D floats per thread)

static size_t slot_max_bytes = SS_SLOT_MAX_BYTES;
static int    slot_scalar = 0;      // test hook: force the scalar kernels
static int    slot_has_simd = -1;   // cached CPU check

void ss_slot_set_max_bytes(size_t n) { slot_max_bytes = n ? n : SS_SLOT_MAX_BYTES; }
void ss_slot_force_scalar(bool on) { slot_scalar = on; }

static bool slot_simd(void) {
    if (slot_has_simd < 0) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        slot_has_simd = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        slot_has_simd = 0;
#endif
    }
    return slot_has_simd && !slot_scalar;
}

void ss_slot_params_default(ss_slot_params *p) {
    p->steps = 3;
    p->lr = 0.1f;
    p->beta1 = 0.9f;
    p->beta2 = 0.999f;
    p->eps = 1e-5f;
    p->wd = 1e-8f;
}

// ---------------------------------------------------------------- scalar kernels
// (same math as the AVX2 twins in slot_avx2.c)

// out[r] = x · w_r for nr rows of stride ldw
static void slot_dot_rows(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out) {
    if (slot_simd()) { ss_slot_dot_rows_avx2(x, w, ldw, nr, n, out); return; }
    for (int r = 0; r < nr; r++) {
        const float *wr = w + (int64_t)r * ldw;
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += (double)x[i] * wr[i];
        out[r] = (float)s;
    }
}

// l = z + u, returns max(l)
static float slot_add_max(const float *z, const float *u, float *l, int64_t n) {
    if (slot_simd()) return ss_slot_add_max_avx2(z, u, l, n);
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        l[i] = z[i] + u[i];
        if (l[i] > m) m = l[i];
    }
    return m;
}

// e = exp(e - m) in place, returns sum(e)
static double slot_exp_sum(float *e, float m, int64_t n) {
    if (slot_simd()) return ss_slot_exp_sum_avx2(e, m, n);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        e[i] = expf(e[i] - m);
        s += e[i];
    }
    return s;
}

// q += a * e
static void slot_axpy(double *q, double a, const float *e, int64_t n) {
    if (slot_simd()) { ss_slot_axpy_avx2(q, a, e, n); return; }
    for (int64_t i = 0; i < n; i++) q[i] += a * e[i];
}

// ---------------------------------------------------------------- state

typedef struct {
    // problem
    const float *H;          // [T, D]
    const ss_weight *W;      // [V, D]
    int64_t V;
    int D;
    int n;                   // selected positions
    int *pos;                // [n] row of H
    int32_t *tgt;            // [n] target token (tokens[pos+1])
    // logits
    int chunk;               // positions per chunk of z (== n: z computed once and kept)
    int z_ready;             // z holds every position (only when chunk == n)
    float *z;                // [chunk, V]
    float *u;                // [V]   W · delta
    float *deltaf;           // [D]   delta rounded to f32
    int u_zero;              // delta == 0: u = 0 without a pass
    double *r;               // [V]   q - onehot mean
    double *loss_pos;        // [n]   per-position CE
    // per thread
    int nth;
    float *wbuf;             // [nth, SLOT_NB, D] dequantized rows
    float *erow;             // [nth, V] logits / exps of one position
    double *qacc;            // [nth, V] sum of softmax rows
    double *gacc;            // [nth, D] gradient partials
    size_t bytes;            // everything above
    // current pass
    int c0, c1;              // position range of the chunk being processed
} slot_state;

static void *slot_alloc(slot_state *s, size_t n, size_t size) {
    s->bytes += n * size;
    return ss_calloc(n, size);
}

static void slot_state_free(slot_state *s) {
    free(s->pos); free(s->tgt); free(s->z); free(s->u); free(s->deltaf); free(s->r);
    free(s->loss_pos); free(s->wbuf); free(s->erow); free(s->qacc); free(s->gacc);
    memset(s, 0, sizeof *s);
}

// validate the inputs and set up the state; 0 or -1 + err
static int slot_state_init(slot_state *s, ss_pool *pool, const float *H, int T, int D,
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

    s->H = H; s->W = W; s->V = V; s->D = D; s->n = n;
    s->nth = pool ? ss_pool_n_threads(pool) : 1;
    if (s->nth < 1) s->nth = 1;
    s->pos = slot_alloc(s, n, sizeof(int));
    s->tgt = slot_alloc(s, n, sizeof(int32_t));
    for (int t = 0, i = 0; t + 1 < T; t++) {
        if (mask && !mask[t]) continue;
        s->pos[i] = t;
        s->tgt[i] = tokens[t + 1];
        i++;
    }
    // z: all positions if they fit the bound, else chunks of `chunk` positions (at least 1)
    size_t per_pos = (size_t)V * sizeof(float);
    size_t fit = slot_max_bytes / per_pos;
    s->chunk = fit >= (size_t)n ? n : (fit ? (int)fit : 1);
    s->z = slot_alloc(s, (size_t)s->chunk * V, sizeof(float));
    s->u = slot_alloc(s, V, sizeof(float));
    s->deltaf = slot_alloc(s, D, sizeof(float));
    s->r = slot_alloc(s, V, sizeof(double));
    s->loss_pos = slot_alloc(s, n, sizeof(double));
    s->wbuf = slot_alloc(s, (size_t)s->nth * SLOT_NB * D, sizeof(float));
    s->erow = slot_alloc(s, (size_t)s->nth * V, sizeof(float));
    s->qacc = slot_alloc(s, (size_t)s->nth * V, sizeof(double));
    s->gacc = slot_alloc(s, (size_t)s->nth * D, sizeof(double));
    return 0;
}

// rows [v, v+nr) of W as f32: a pointer into W (F32) or into this thread's buffer (dequantized)
static const float *slot_rows_f32(const slot_state *s, int ith, int64_t v, int nr) {
    const ss_weight *W = s->W;
    if (W->type == SS_TYPE_F32) return (const float *)((const char *)W->data + v * W->row_bytes);
    float *buf = s->wbuf + (size_t)ith * SLOT_NB * s->D;
    for (int r = 0; r < nr; r++)
        ss_dequant_row(W->type, (const char *)W->data + (v + r) * W->row_bytes, buf + (size_t)r * s->D, s->D);
    return buf;
}

static void slot_vocab_range(const slot_state *s, int ith, int nth, int64_t *v0, int64_t *v1) {
    *v0 = s->V * ith / nth;
    *v1 = s->V * (ith + 1) / nth;
}

// ---------------------------------------------------------------- passes

// z[i - c0, v] = h_{pos[i]} · W[v]   for i in [c0, c1), v in this thread's vocab range
static void slot_z_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    int64_t v0, v1;
    slot_vocab_range(s, ith, nth, &v0, &v1);
    for (int64_t v = v0; v < v1; v += SLOT_NB) {
        int nr = v1 - v < SLOT_NB ? (int)(v1 - v) : SLOT_NB;
        const float *w = slot_rows_f32(s, ith, v, nr);
        for (int i = s->c0; i < s->c1; i++)
            slot_dot_rows(s->H + (size_t)s->pos[i] * s->D, w, s->D, nr, s->D,
                          s->z + (size_t)(i - s->c0) * s->V + v);
    }
}

// u[v] = W[v] · delta
static void slot_u_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    int64_t v0, v1;
    slot_vocab_range(s, ith, nth, &v0, &v1);
    for (int64_t v = v0; v < v1; v += SLOT_NB) {
        int nr = v1 - v < SLOT_NB ? (int)(v1 - v) : SLOT_NB;
        slot_dot_rows(s->deltaf, slot_rows_f32(s, ith, v, nr), s->D, nr, s->D, s->u + v);
    }
}

// for each position i in this thread's share of [c0, c1):
//   l = z_i + u;  lse = max + log sum exp(l - max);  loss_pos[i] = lse - l[y_i];
//   qacc[ith] += softmax(l)
static void slot_softmax_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    const int64_t V = s->V;
    float *e = s->erow + (size_t)ith * V;
    double *q = s->qacc + (size_t)ith * V;
    int cn = s->c1 - s->c0;
    int i0 = s->c0 + cn * ith / nth, i1 = s->c0 + cn * (ith + 1) / nth;
    for (int i = i0; i < i1; i++) {
        const float *z = s->z + (size_t)(i - s->c0) * V;
        float m = slot_add_max(z, s->u, e, V);
        float ly = e[s->tgt[i]];
        double sum = slot_exp_sum(e, m, V);
        s->loss_pos[i] = (double)m + log(sum) - (double)ly;
        slot_axpy(q, 1.0 / sum, e, V);
    }
}

// gacc[ith] = sum_{v in range} r[v] W[v]
static void slot_grad_job(void *arg, int ith, int nth) {
    slot_state *s = arg;
    double *g = s->gacc + (size_t)ith * s->D;
    memset(g, 0, (size_t)s->D * sizeof(double));
    int64_t v0, v1;
    slot_vocab_range(s, ith, nth, &v0, &v1);
    for (int64_t v = v0; v < v1; v += SLOT_NB) {
        int nr = v1 - v < SLOT_NB ? (int)(v1 - v) : SLOT_NB;
        const float *w = slot_rows_f32(s, ith, v, nr);
        for (int r = 0; r < nr; r++)
            if (s->r[v + r] != 0) slot_axpy(g, s->r[v + r], w + (size_t)r * s->D, s->D);
    }
}

// loss at delta (double[D]); grad[D] (double) = d loss / d delta when grad != NULL
static double slot_eval(slot_state *s, ss_pool *pool, const double *delta, double *grad) {
    const int64_t V = s->V;
    const int D = s->D;
    // u = W · delta
    s->u_zero = 1;
    for (int d = 0; d < D; d++) {
        s->deltaf[d] = (float)delta[d];
        if (s->deltaf[d] != 0) s->u_zero = 0;
    }
    if (s->u_zero) memset(s->u, 0, (size_t)V * sizeof(float));
    else ss_pool_run(pool, slot_u_job, s);
    // softmax pass over the positions, chunk by chunk
    memset(s->qacc, 0, (size_t)s->nth * V * sizeof(double));
    for (int c0 = 0; c0 < s->n; c0 += s->chunk) {
        s->c0 = c0;
        s->c1 = c0 + s->chunk < s->n ? c0 + s->chunk : s->n;
        if (!s->z_ready) {
            ss_pool_run(pool, slot_z_job, s);
            if (s->chunk == s->n) s->z_ready = 1;
        }
        ss_pool_run(pool, slot_softmax_job, s);
    }
    double loss = 0;
    for (int i = 0; i < s->n; i++) loss += s->loss_pos[i];
    loss /= s->n;
    if (!grad) return loss;
    // r = (1/n) sum_i (softmax_i - onehot(y_i))
    const double inv_n = 1.0 / s->n;
    for (int64_t v = 0; v < V; v++) {
        double a = 0;
        for (int th = 0; th < s->nth; th++) a += s->qacc[(size_t)th * V + v];
        s->r[v] = a * inv_n;
    }
    for (int i = 0; i < s->n; i++) s->r[s->tgt[i]] -= inv_n;
    // grad = W^T r
    ss_pool_run(pool, slot_grad_job, s);
    for (int d = 0; d < D; d++) {
        double a = 0;
        for (int th = 0; th < s->nth; th++) a += s->gacc[(size_t)th * D + d];
        grad[d] = a;
    }
    return loss;
}

// ---------------------------------------------------------------- API

double ss_slot_loss_grad(ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                         const uint8_t *mask, const ss_weight *W, const float *delta, float *grad) {
    slot_state s;
    if (slot_state_init(&s, pool, H, T, D, tokens, mask, W, NULL, 0) != 0) return NAN;
    double *dd = ss_malloc((size_t)D * sizeof(double) * 2);
    double *gd = dd + D;
    for (int d = 0; d < D; d++) dd[d] = delta ? delta[d] : 0.0;
    double loss = slot_eval(&s, pool, dd, grad ? gd : NULL);
    if (grad)
        for (int d = 0; d < D; d++) grad[d] = (float)gd[d];
    free(dd);
    slot_state_free(&s);
    return loss;
}

int ss_slot_optimize(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                     const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                     float *delta, ss_slot_result *res, char *err, size_t errlen) {
    double t_start = ss_time();
    if (!p || !delta || !res) return ss_err(err, errlen, "slot: NULL params, delta or result");
    if (p->steps < 0 || p->steps > 100000) return ss_err(err, errlen, "slot: steps %d out of range", p->steps);
    if (!(p->lr >= 0 && isfinite(p->lr)) || !(p->beta1 >= 0 && p->beta1 < 1) ||
        !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps >= 0 && isfinite(p->eps)) ||
        !(p->wd >= 0 && isfinite(p->wd)))
        return ss_err(err, errlen, "slot: bad AdamW parameters (lr %g, betas %g/%g, eps %g, wd %g)",
                      p->lr, p->beta1, p->beta2, p->eps, p->wd);
    slot_state s;
    if (slot_state_init(&s, pool, H, T, D, tokens, mask, W, err, errlen) != 0) return -1;

    // AdamW state in double: delta, first and second moments, gradient
    double *x = ss_calloc((size_t)D * 4, sizeof(double));
    double *m = x + D, *v = m + D, *g = v + D;
    size_t bytes = s.bytes + (size_t)D * 4 * sizeof(double);
    const double lr = p->lr, b1 = p->beta1, b2 = p->beta2, eps = p->eps, wd = p->wd;
    int rc = 0;
    for (int k = 1; k <= p->steps; k++) {
        double loss = slot_eval(&s, pool, x, g);
        if (!isfinite(loss)) { rc = ss_err(err, errlen, "slot: loss is %g at step %d", loss, k); break; }
        if (res->loss_before) res->loss_before[k - 1] = (float)loss;
        // torch.optim.AdamW (amsgrad off): decoupled weight decay, then the bias-corrected Adam step
        const double bc1 = 1 - pow(b1, k), bc2 = 1 - pow(b2, k);
        for (int d = 0; d < D; d++) {
            x[d] *= 1 - lr * wd;
            m[d] = b1 * m[d] + (1 - b1) * g[d];
            v[d] = b2 * v[d] + (1 - b2) * g[d] * g[d];
            double mhat = m[d] / bc1, vhat = v[d] / bc2;
            x[d] -= lr * mhat / (sqrt(vhat) + eps);
        }
    }
    if (rc == 0) {
        double loss = slot_eval(&s, pool, x, NULL);
        if (!isfinite(loss)) rc = ss_err(err, errlen, "slot: final loss is %g", loss);
        res->loss_after = (float)loss;
    }
    for (int d = 0; d < D; d++) delta[d] = (float)x[d];
    free(x);
    slot_state_free(&s);
    res->peak_bytes = bytes;
    res->seconds = ss_time() - t_start;
    return rc;
}
