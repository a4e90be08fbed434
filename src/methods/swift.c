// swift.c — SWIFT reward head (arXiv 2505.12225, reference code: github.com/aster2024/SWIFT).
//
// For a response with token features x_t (t = 0..T-1, each of dimension F):
//   [g_t, r_t] = W x_t + b               W: [2, F] (row 0 gate, row 1 reward), b: [2]
//   s_t = sigmoid(g_t)
//   R   = sum_t s_t r_t / max(sum_t s_t, 1e-8)        (no_gate: R = sum_t r_t / max(T, 1))
// R is a logit: "correct" is predicted when R > 0.
//
// Training follows the reference's train_reward_model(): nn.Linear default init
// (W, b ~ U(-1/sqrt(F), 1/sqrt(F))), AdamW (betas 0.9/0.999, eps 1e-8, decoupled weight decay on
// every parameter), mini-batches of `batch` units (a unit = one example for bce/hinge, one
// (correct, wrong) pair of the same question for pairwise), the mean loss of the batch:
//   bce      L = BCEWithLogits(R, y)       = max(R,0) - R y + log(1 + exp(-|R|))
//   hinge    L = max(0, 1 - (2y-1) R)
//   pairwise L = -log sigmoid(R_pos - R_neg)   (the reference's "dpo" loss)
// No feature standardisation (the reference has none). Differences from the reference, on purpose:
// the validation split is by question (not by candidate), and the weights returned are those of
// the best validation epoch (the reference returns the last epoch's by aliasing the module).
#include "ss_swift.h"
#include "ss_adamw.h"
#include "ss_gguf.h"
#include "ss_quant.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <ctype.h>
#include <errno.h>
#include <unistd.h>

// ---------------------------------------------------------------- layer spec

static int swift_cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int ss_swift_spec_parse(ss_swift_spec *s, const char *spec, bool norm, bool logits,
                        int n_layer, int n_embd, int n_vocab, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (!spec) spec = "";
    // trim surrounding whitespace
    while (isspace((unsigned char)*spec)) spec++;
    size_t len = strlen(spec);
    while (len && isspace((unsigned char)spec[len - 1])) len--;
    if (len >= sizeof s->layers) return ss_err(err, errlen, "swift layer spec: too long (%zu characters)", len);
    char buf[sizeof s->layers];
    memcpy(buf, spec, len);
    buf[len] = 0;

    if (!strcmp(buf, "logits") || (logits && !len)) {
        if (norm) return ss_err(err, errlen, "swift layer spec: the final norm does not apply to logits features");
        if (n_vocab <= 0) return ss_err(err, errlen, "swift layer spec: bad vocabulary size %d", n_vocab);
        strcpy(s->layers, "logits");
        s->logits = true;
        s->dim = n_vocab;
        return 0;
    }
    if (logits) return ss_err(err, errlen, "swift layer spec: logits features conflict with layers '%s'", buf);
    if (!len) return ss_err(err, errlen, "swift layer spec: empty (use 'all', 'lastK', a list 'a,b,c' or 'logits')");
    if (n_layer <= 0 || n_embd <= 0) return ss_err(err, errlen, "swift layer spec: bad model shape (n_layer %d, n_embd %d)", n_layer, n_embd);
    if (n_layer + 1 > (int)(sizeof s->layer / sizeof s->layer[0]))
        return ss_err(err, errlen, "swift layer spec: models with more than %d layers are not supported",
                      (int)(sizeof s->layer / sizeof s->layer[0]) - 1);

    // HF output_hidden_states numbering: 0 = embeddings, i = block i output, n_layer = final normed state
    if (!strcmp(buf, "all")) {
        for (int i = 0; i <= n_layer; i++) s->layer[s->n_layers++] = i;
    } else if (!strncmp(buf, "last", 4)) {
        char *end; errno = 0;
        long k = strtol(buf + 4, &end, 10);
        if (errno || end == buf + 4 || *end)
            return ss_err(err, errlen, "swift layer spec '%s': expected lastK with K a number", buf);
        if (k < 1 || k > n_layer + 1)
            return ss_err(err, errlen, "swift layer spec '%s': K must be in [1, %d] for this model", buf, n_layer + 1);
        for (int i = n_layer + 1 - (int)k; i <= n_layer; i++) s->layer[s->n_layers++] = i;
    } else {
        const char *p = buf;
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            char *end; errno = 0;
            long v = strtol(p, &end, 10);
            if (errno || end == p)
                return ss_err(err, errlen, "swift layer spec '%s': expected 'all', 'lastK', 'logits' or a list of layer numbers", buf);
            if (v < 0 || v > n_layer)
                return ss_err(err, errlen, "swift layer spec '%s': layer %ld is out of range [0, %d]", buf, v, n_layer);
            if (s->n_layers >= (int)(sizeof s->layer / sizeof s->layer[0]))
                return ss_err(err, errlen, "swift layer spec '%s': too many layers", buf);
            s->layer[s->n_layers++] = (int)v;
            p = end;
            while (*p == ' ' || *p == '\t') p++;
            if (!*p) break;
            if (*p != ',') return ss_err(err, errlen, "swift layer spec '%s': unexpected '%c'", buf, *p);
            p++;
        }
        // features are concatenated in ascending layer order (as the reference does)
        qsort(s->layer, s->n_layers, sizeof s->layer[0], swift_cmp_int);
        for (int i = 1; i < s->n_layers; i++)
            if (s->layer[i] == s->layer[i - 1])
                return ss_err(err, errlen, "swift layer spec '%s': layer %d given twice", buf, s->layer[i]);
    }
    if ((int64_t)s->n_layers * n_embd > (1 << 28))
        return ss_err(err, errlen, "swift layer spec '%s': feature dimension too large", buf);
    strcpy(s->layers, buf);
    s->norm = norm;
    s->dim = s->n_layers * n_embd;
    return 0;
}

void ss_swift_spec_set_conf(ss_swift_spec *s, bool conf) {
    if (s->conf == conf) return;
    s->dim += conf ? SS_SWIFT_CONF_DIM : -SS_SWIFT_CONF_DIM;
    s->conf = conf;
}

// ---------------------------------------------------------------- head

int ss_swift_head_init(ss_swift_head *h, const ss_swift_spec *spec) {
    memset(h, 0, sizeof *h);
    h->spec = *spec;
    h->dim = spec->dim;
    h->W = ss_calloc(2 * (size_t)(h->dim > 0 ? h->dim : 1), sizeof(float));
    return h->W ? 0 : -1;
}

void ss_swift_head_free(ss_swift_head *h) {
    if (!h) return;
    free(h->W);
    h->W = NULL;
}

// (g, r) = (W[0]·x, W[1]·x): one pass over x, 4 partial sums per row, summed in double
static void swift_dot2(const float *x, const float *w0, const float *w1, int n, double *g, double *r) {
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += w0[i] * x[i];     a1 += w0[i + 1] * x[i + 1];
        a2 += w0[i + 2] * x[i + 2]; a3 += w0[i + 3] * x[i + 3];
        c0 += w1[i] * x[i];     c1 += w1[i + 1] * x[i + 1];
        c2 += w1[i + 2] * x[i + 2]; c3 += w1[i + 3] * x[i + 3];
    }
    double sg = (double)a0 + a1 + a2 + a3, sr = (double)c0 + c1 + c2 + c3;
    for (; i < n; i++) { sg += (double)w0[i] * x[i]; sr += (double)w1[i] * x[i]; }
    *g = sg;
    *r = sr;
}

static double swift_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

void ss_swift_acc_reset(ss_swift_acc *a) { memset(a, 0, sizeof *a); }

// one token: g = W[0]·x + b[0], r = W[1]·x + b[1]; sums of sigmoid(g) r, sigmoid(g), r
void ss_swift_acc_add(ss_swift_acc *a, const ss_swift_head *h, const float *x) {
    double g, r;
    swift_dot2(x, h->W, h->W + h->dim, h->dim, &g, &r);
    g += h->b[0];
    r += h->b[1];
    double s = swift_sigmoid(g);
    a->sum_gr += s * r;
    a->sum_g += s;
    a->sum_r += r;
    a->n++;
}

float ss_swift_acc_reward(const ss_swift_acc *a, const ss_swift_head *h) {
    if (h->no_gate) return a->n > 0 ? (float)(a->sum_r / a->n) : 0.0f;
    return (float)(a->sum_gr / fmax(a->sum_g, 1e-8));
}

// R over X[T, dim]: sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)
float ss_swift_reward(const ss_swift_head *h, const float *X, int T) {
    double num = 0, den = 0, sum_r = 0;
    for (int t = 0; t < T; t++) {
        double g, r;
        swift_dot2(X + (size_t)t * h->dim, h->W, h->W + h->dim, h->dim, &g, &r);
        g += h->b[0];
        r += h->b[1];
        double s = swift_sigmoid(g);
        num += s * r;
        den += s;
        sum_r += r;
    }
    if (h->no_gate) return T > 0 ? (float)(sum_r / T) : 0.0f;
    return (float)(num / fmax(den, 1e-8));
}

// ---------------------------------------------------------------- losses

int ss_swift_loss_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "bce") || !strcmp(name, "ce")) return SS_SWIFT_BCE;
    if (!strcmp(name, "hinge")) return SS_SWIFT_HINGE;
    if (!strcmp(name, "pairwise") || !strcmp(name, "dpo")) return SS_SWIFT_PAIRWISE;
    return -1;
}

const char *ss_swift_loss_name(int loss) {
    switch (loss) {
    case SS_SWIFT_BCE: return "bce";
    case SS_SWIFT_HINGE: return "hinge";
    case SS_SWIFT_PAIRWISE: return "pairwise";
    default: return NULL;
    }
}

// log(1 + exp(z)), stable
static double swift_softplus(double z) { return fmax(z, 0.0) + log1p(exp(-fabs(z))); }

// BCE with logits: L = softplus(R) - y R;  dL/dR = sigmoid(R) - y
static double swift_bce(double R, double y, double *dR) {
    *dR = swift_sigmoid(R) - y;
    return swift_softplus(R) - y * R;
}

// hinge on y' = 2y - 1:  L = max(0, 1 - y' R);  dL/dR = -y' where the hinge is active
static double swift_hinge(double R, double y, double *dR) {
    double ys = 2.0 * y - 1.0, m = 1.0 - ys * R;
    *dR = m > 0 ? -ys : 0.0;
    return m > 0 ? m : 0.0;
}

// pairwise: z = R_pos - R_neg, L = -log sigmoid(z) = softplus(-z); dL/dz = sigmoid(z) - 1
static double swift_pair(double z, double *dz) {
    *dz = swift_sigmoid(z) - 1.0;
    return swift_softplus(-z);
}

// ---------------------------------------------------------------- forward / backward over examples

typedef struct { int a, b; } swift_unit;   // bce/hinge: example a (b = -1); pairwise: (pos a, neg b)

typedef struct {
    const ss_swift_head *h;
    int     F;
    float  *xbuf;                 // [F] one F16 row converted to F32
    double *gW;                   // [2F] gradient accumulators (sums over the batch)
    double  gb[2];
    int    *slot_of;              // [n_examples] -> slot in the current batch, -1 if absent
    int    *slot_ex;              // [n_slots] example index
    double *slot_R, *slot_S, *slot_dR;
    size_t *slot_off;             // offset of the slot's per-token (g, r) in tok_g / tok_r
    int     n_slots;              // (room for every example: a batch holds each at most once)
    double *tok_g, *tok_r;        // per-token pre-activations of the batch's examples (room for all tokens)
    float  *h2f;                  // [65536] F16 -> F32 table (when an example is F16)
    const double *mu, *inv_sd;    // standardization (NULL: raw features): x' = (x - mu) * inv_sd
    float  *xstd;                 // [F] the standardized row
    const ss_swift_dist *dist;    // several processes (NULL: this one alone)
    double *xchg;                 // exchange buffer for dist->sum (slot values / per-slot gradients)
    size_t  xchg_cap;
    bool    xchg_failed;          // a dist->sum failed (the results are not usable)
} swift_work;

// this process reads example e's features
static bool swift_owns(const swift_work *w, int e) { return !w->dist || (e >= w->dist->lo && e < w->dist->hi); }

// the exchange buffer with room for n doubles, zeroed; NULL when out of memory (xchg_failed set)
static double *swift_xchg(swift_work *w, size_t n) {
    if (n > w->xchg_cap) {
        double *b = ss_realloc(w->xchg, n * sizeof(double));
        if (!b) { w->xchg_failed = true; return NULL; }
        w->xchg = b;
        w->xchg_cap = n;
    }
    memset(w->xchg, 0, n * sizeof(double));
    return w->xchg;
}

// buf[0..n) summed over the processes (each element non-zero on one process: exact in any order)
static bool swift_sum(swift_work *w, double *buf, size_t n) {
    if (!buf || w->dist->sum(w->dist->ud, buf, n)) { w->xchg_failed = true; return false; }
    return true;
}

static void swift_work_free(swift_work *w) {
    free(w->xbuf); free(w->gW); free(w->slot_of); free(w->slot_ex);
    free(w->slot_R); free(w->slot_S); free(w->slot_dR); free(w->slot_off);
    free(w->tok_g); free(w->tok_r); free(w->h2f); free(w->xstd); free(w->xchg);
    memset(w, 0, sizeof *w);
}

// all the work memory at once, sized for every example (so evaluation never allocates):
// 0, or -1 when out of memory
static int swift_work_init(swift_work *w, const ss_swift_head *h, const ss_swift_example *ex, int n_ex) {
    memset(w, 0, sizeof *w);
    w->h = h;
    w->F = h->dim;
    size_t n = n_ex > 0 ? (size_t)n_ex : 1, tokens = 1;
    bool f16 = false;
    for (int i = 0; i < n_ex; i++) { tokens += (size_t)ex[i].T; f16 |= ex[i].x_f16; }
    w->xbuf = ss_malloc((size_t)h->dim * sizeof(float));
    w->gW = ss_calloc(2 * (size_t)h->dim, sizeof(double));
    w->slot_of = ss_malloc(n * sizeof(int));
    w->slot_ex = ss_malloc(n * sizeof(int));
    w->slot_R = ss_malloc(n * sizeof(double));
    w->slot_S = ss_malloc(n * sizeof(double));
    w->slot_dR = ss_malloc(n * sizeof(double));
    w->slot_off = ss_malloc(n * sizeof(size_t));
    w->tok_g = ss_malloc(tokens * sizeof(double));
    w->tok_r = ss_malloc(tokens * sizeof(double));
    // every half value as a float: a table lookup is ~10x faster than the bit conversion per element
    if (f16 && (w->h2f = ss_malloc(65536 * sizeof(float))))
        for (uint32_t i = 0; i < 65536; i++) w->h2f[i] = ss_fp16_to_fp32((uint16_t)i);
    if (!w->xbuf || !w->gW || !w->slot_of || !w->slot_ex || !w->slot_R || !w->slot_S || !w->slot_dR ||
        !w->slot_off || !w->tok_g || !w->tok_r || (f16 && !w->h2f)) { swift_work_free(w); return -1; }
    for (int i = 0; i < n_ex; i++) w->slot_of[i] = -1;
    return 0;
}

// row t of an example as F32 (a pointer into the example, or into xbuf for F16)
static const float *swift_row_raw(swift_work *w, const ss_swift_example *e, int t) {
    if (!e->x_f16) return (const float *)e->X + (size_t)t * w->F;
    const uint16_t *src = (const uint16_t *)e->X + (size_t)t * w->F;
    for (int i = 0; i < w->F; i++) w->xbuf[i] = w->h2f[src[i]];
    return w->xbuf;
}

static const float *swift_row(swift_work *w, const ss_swift_example *e, int t) {
    const float *x = swift_row_raw(w, e, t);
    if (!w->mu) return x;
    for (int i = 0; i < w->F; i++) w->xstd[i] = (float)((x[i] - w->mu[i]) * w->inv_sd[i]);
    return w->xstd;
}

// per-feature mean and 1/std over the tokens of the training examples (constant features: 1/std = 0)
// (0, or -1 when out of memory)
// Several processes: each sums its own examples' tokens into its row of [size][2F+1] (sum x, sum x^2,
// count), the rows are exchanged and added in process order.
static int swift_standardize_stats(swift_work *w, const ss_swift_example *ex, int n, const bool *is_val,
                                   double *mu, double *inv_sd) {
    int F = w->F;
    double *sq = ss_calloc(F, sizeof(double));
    if (!sq) return -1;
    long cnt = 0;
    memset(mu, 0, sizeof(double) * F);
    for (int k = 0; k < n; k++) {
        if (is_val[k] || !swift_owns(w, k)) continue;
        for (int t = 0; t < ex[k].T; t++) {
            const float *x = swift_row_raw(w, &ex[k], t);
            for (int i = 0; i < F; i++) { mu[i] += x[i]; sq[i] += (double)x[i] * x[i]; }
            cnt++;
        }
    }
    if (w->dist) {
        size_t row = 2 * (size_t)F + 1, K = (size_t)w->dist->size;
        double *b = swift_xchg(w, K * row);
        if (b) {
            double *mine = b + (size_t)w->dist->rank * row;
            memcpy(mine, mu, sizeof(double) * F);
            memcpy(mine + F, sq, sizeof(double) * F);
            mine[2 * F] = (double)cnt;
        }
        if (!swift_sum(w, b, K * row)) { free(sq); return -1; }
        memset(mu, 0, sizeof(double) * F);
        memset(sq, 0, sizeof(double) * F);
        cnt = 0;
        for (size_t r = 0; r < K; r++) {
            const double *br = b + r * row;
            for (int i = 0; i < F; i++) { mu[i] += br[i]; sq[i] += br[F + i]; }
            cnt += (long)br[2 * F];
        }
    }
    for (int i = 0; i < F; i++) {
        double m = cnt ? mu[i] / cnt : 0, var = cnt ? sq[i] / cnt - m * m : 0;
        mu[i] = m;
        inv_sd[i] = var > 1e-12 ? 1.0 / sqrt(var) : 0.0;
    }
    free(sq);
    return 0;
}

static int swift_add_slot(swift_work *w, int ex) {
    if (w->slot_of[ex] >= 0) return w->slot_of[ex];
    int s = w->n_slots++;
    w->slot_ex[s] = ex;
    w->slot_dR[s] = 0;
    w->slot_of[ex] = s;
    return s;
}

// forward of one example: stores g_t, r_t (bias included) at tok_g/tok_r + off; returns R, *S = sum s_t
static double swift_forward(swift_work *w, const ss_swift_example *e, size_t off, double *S_out) {
    const ss_swift_head *h = w->h;
    double S = 0, N = 0, sum_r = 0;
    for (int t = 0; t < e->T; t++) {
        double g, r;
        swift_dot2(swift_row(w, e, t), h->W, h->W + w->F, w->F, &g, &r);
        g += h->b[0];
        r += h->b[1];
        w->tok_g[off + t] = g;
        w->tok_r[off + t] = r;
        double s = swift_sigmoid(g);
        S += s;
        N += s * r;
        sum_r += r;
    }
    *S_out = S;
    if (h->no_gate) return e->T > 0 ? sum_r / e->T : 0.0;
    return N / fmax(S, 1e-8);
}

// backward of one example given d = dL/dR, added to gW[2F], gb[2]:
//   gate:    dR/dr_t = s_t / S',  dR/dg_t = (r_t - R [only if S >= 1e-8]) / S' * s_t (1 - s_t),  S' = max(S, 1e-8)
//   no_gate: dR/dr_t = 1 / T
//   dW[0] += sum_t dL/dg_t x_t,  dW[1] += sum_t dL/dr_t x_t,  db = the same sums without x
static void swift_backward(swift_work *w, const ss_swift_example *e, size_t off, double R, double S, double d,
                           double *gW, double *gb) {
    const ss_swift_head *h = w->h;
    double *gWg = gW, *gWr = gW + w->F;
    double Sc = fmax(S, 1e-8), Rsub = S >= 1e-8 ? R : 0.0;
    for (int t = 0; t < e->T; t++) {
        double cg, cr;
        if (h->no_gate) {
            cg = 0;
            cr = d / e->T;
        } else {
            double s = swift_sigmoid(w->tok_g[off + t]);
            cr = d * s / Sc;
            cg = d * (w->tok_r[off + t] - Rsub) / Sc * s * (1.0 - s);
        }
        const float *x = swift_row(w, e, t);
        for (int i = 0; i < w->F; i++) {
            gWg[i] += cg * x[i];
            gWr[i] += cr * x[i];
        }
        gb[0] += cg;
        gb[1] += cr;
    }
}

// Evaluate units[0..nu): sum of unit losses (returned), count of correct predictions; if grad,
// w->gW / w->gb receive the gradient of the MEAN loss over the units.
static double swift_eval_units(swift_work *w, const ss_swift_example *ex, const swift_unit *units, int nu,
                               int loss, bool grad, int *n_correct) {
    // 1. distinct examples of the batch and room for their per-token values
    w->n_slots = 0;
    size_t need = 0;
    for (int u = 0; u < nu; u++) {
        swift_add_slot(w, units[u].a);
        if (units[u].b >= 0) swift_add_slot(w, units[u].b);
    }
    for (int s = 0; s < w->n_slots; s++) { w->slot_off[s] = need; need += ex[w->slot_ex[s]].T; }   // <= all tokens
    // 2. forward (several processes: each its own examples, then (R, S) of every slot exchanged)
    double *xb = w->dist ? swift_xchg(w, 2 * (size_t)w->n_slots) : NULL;
    for (int s = 0; s < w->n_slots; s++) {
        if (!swift_owns(w, w->slot_ex[s])) { w->slot_R[s] = w->slot_S[s] = 0; continue; }
        w->slot_R[s] = swift_forward(w, &ex[w->slot_ex[s]], w->slot_off[s], &w->slot_S[s]);
        if (xb) { xb[2 * s] = w->slot_R[s]; xb[2 * s + 1] = w->slot_S[s]; }
    }
    if (w->dist) {
        if (!swift_sum(w, xb, 2 * (size_t)w->n_slots)) { for (int s = 0; s < w->n_slots; s++) w->slot_of[w->slot_ex[s]] = -1; return NAN; }
        for (int s = 0; s < w->n_slots; s++) { w->slot_R[s] = xb[2 * s]; w->slot_S[s] = xb[2 * s + 1]; }
    }
    // 3. losses and dL/dR per example
    double sum = 0;
    int correct = 0;
    for (int u = 0; u < nu; u++) {
        int sa = w->slot_of[units[u].a];
        double Ra = w->slot_R[sa], d;
        if (loss == SS_SWIFT_PAIRWISE) {
            int sb = w->slot_of[units[u].b];
            double z = Ra - w->slot_R[sb];
            sum += swift_pair(z, &d);
            w->slot_dR[sa] += d / nu;
            w->slot_dR[sb] -= d / nu;
            correct += z > 0;
        } else {
            double y = ex[units[u].a].label;
            sum += loss == SS_SWIFT_HINGE ? swift_hinge(Ra, y, &d) : swift_bce(Ra, y, &d);
            w->slot_dR[sa] += d / nu;
            correct += (Ra > 0) == (y > 0.5);
        }
    }
    // 4. backward
    if (grad) {
        memset(w->gW, 0, 2 * (size_t)w->F * sizeof(double));
        w->gb[0] = w->gb[1] = 0;
        if (!w->dist) {
            for (int s = 0; s < w->n_slots; s++)
                if (w->slot_dR[s] != 0)
                    swift_backward(w, &ex[w->slot_ex[s]], w->slot_off[s], w->slot_R[s], w->slot_S[s], w->slot_dR[s], w->gW, w->gb);
        } else {
            // G[s] = [dW (2F), db (2)] of slot s, by the process that owns its example; exchanged,
            // then gW = G[0] + G[1] + ... in slot order (the same bits for any number of processes)
            size_t row = 2 * (size_t)w->F + 2;
            double *G = swift_xchg(w, row * w->n_slots);
            for (int s = 0; G && s < w->n_slots; s++)
                if (w->slot_dR[s] != 0 && swift_owns(w, w->slot_ex[s]))
                    swift_backward(w, &ex[w->slot_ex[s]], w->slot_off[s], w->slot_R[s], w->slot_S[s], w->slot_dR[s],
                                   G + s * row, G + s * row + 2 * w->F);
            if (swift_sum(w, G, row * w->n_slots))
                for (int s = 0; s < w->n_slots; s++) {
                    const double *g = G + s * row;
                    for (size_t i = 0; i < 2 * (size_t)w->F; i++) w->gW[i] += g[i];
                    w->gb[0] += g[2 * w->F];
                    w->gb[1] += g[2 * w->F + 1];
                }
        }
    }
    for (int s = 0; s < w->n_slots; s++) w->slot_of[w->slot_ex[s]] = -1;
    if (n_correct) *n_correct = correct;
    return sum;
}

// append a unit to *u (capacity *cap); false when out of memory (*u unchanged)
static bool swift_unit_push(swift_unit **u, int *nu, int *cap, swift_unit x) {
    if (*nu == *cap) {
        swift_unit *q = *cap < INT32_MAX / 2 ? ss_realloc(*u, 2 * (size_t)*cap * sizeof **u) : NULL;
        if (!q) return false;
        *u = q;
        *cap *= 2;
    }
    (*u)[(*nu)++] = x;
    return true;
}

// units over the examples whose membership flag equals `want` (in[] NULL: all examples);
// their count, or -1 when out of memory (*out NULL)
static int swift_make_units(const ss_swift_example *ex, int n, int loss, const bool *in, bool want, swift_unit **out) {
    int cap = 64, nu = 0;
    swift_unit *u = ss_malloc(cap * sizeof *u);
    *out = NULL;
    if (!u) return -1;
    if (loss != SS_SWIFT_PAIRWISE) {
        for (int i = 0; i < n; i++) {
            if (in && in[i] != want) continue;
            if (!swift_unit_push(&u, &nu, &cap, (swift_unit){ i, -1 })) { free(u); return -1; }
        }
    } else {
        // all (correct, wrong) pairs within a question, in example order
        for (int i = 0; i < n; i++) {
            if ((in && in[i] != want) || !(ex[i].label > 0.5)) continue;
            for (int j = 0; j < n; j++) {
                if ((in && in[j] != want) || ex[j].label > 0.5 || ex[j].question != ex[i].question) continue;
                if (!swift_unit_push(&u, &nu, &cap, (swift_unit){ i, j })) { free(u); return -1; }
            }
        }
    }
    *out = u;
    return nu;
}

double ss_swift_loss_grad(const ss_swift_head *h, const ss_swift_example *ex, int n, int loss,
                          float *gW, float *gb) {
    swift_unit *units;
    int nu = swift_make_units(ex, n, loss, NULL, true, &units);
    if (nu <= 0) {
        free(units);
        if (gW) memset(gW, 0, 2 * (size_t)h->dim * sizeof(float));
        if (gb) gb[0] = gb[1] = 0;
        return nu == 0 ? 0.0 : NAN;
    }
    swift_work w;
    if (swift_work_init(&w, h, ex, n)) { free(units); return NAN; }
    bool grad = gW || gb;
    double sum = swift_eval_units(&w, ex, units, nu, loss, grad, NULL);
    if (gW) for (size_t i = 0; i < 2 * (size_t)h->dim; i++) gW[i] = (float)w.gW[i];
    if (gb) { gb[0] = (float)w.gb[0]; gb[1] = (float)w.gb[1]; }
    swift_work_free(&w);
    free(units);
    return sum / nu;
}

// ---------------------------------------------------------------- training

void ss_swift_train_params_default(ss_swift_train_params *p) {
    memset(p, 0, sizeof *p);
    p->loss = SS_SWIFT_BCE;
    p->lr = 1e-4f;
    p->wd = 1e-5f;
    p->epochs = 40;
    p->val_frac = 0.2f;
    p->patience = 3;
    p->seed = 42;
    p->batch = 16;
}

// splitmix64 (ss_sampling.h): the training run's only source of randomness (init, split, shuffles)
static uint64_t swift_rand(uint64_t *s) { return ss_splitmix64(s); }
static double swift_uniform(uint64_t *s) { return (swift_rand(s) >> 11) * 0x1.0p-53; }

static void swift_shuffle_units(swift_unit *u, int n, uint64_t *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(swift_rand(rng) % (uint64_t)(i + 1));
        swift_unit t = u[i]; u[i] = u[j]; u[j] = t;
    }
}

static void swift_fmt_num(char *buf, size_t n, double v) {
    if (isfinite(v)) snprintf(buf, n, "%.6g", v);
    else snprintf(buf, n, "null");
}

// a one-line note to p->on_note (the library prints nothing)
static void swift_note(const ss_swift_train_params *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void swift_note(const ss_swift_train_params *p, const char *fmt, ...) {
    if (!p->on_note) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->on_note(p->ud, line);
}

int ss_swift_split(const ss_swift_example *ex, int n, float val_frac, uint64_t seed, bool *is_val) {
    // distinct question ids, shuffled; the first round(val_frac * nq) are validation
    int *qs = ss_malloc((n > 0 ? n : 1) * sizeof(int));
    if (!qs) return -1;
    for (int i = 0; i < n; i++) qs[i] = ex[i].question;
    qsort(qs, n, sizeof(int), swift_cmp_int);
    int nq = 0;
    for (int i = 0; i < n; i++) if (i == 0 || qs[i] != qs[nq - 1]) qs[nq++] = qs[i];
    int n_val_q = (int)floor(val_frac * nq + 0.5);
    if (val_frac > 0 && n_val_q == 0 && nq >= 2) n_val_q = 1;
    if (n_val_q >= nq) n_val_q = nq > 0 ? nq - 1 : 0;
    int *perm = ss_malloc((nq > 0 ? nq : 1) * sizeof(int));
    bool *qval = ss_calloc(nq > 0 ? nq : 1, sizeof(bool));
    if (!perm || !qval) { free(perm); free(qval); free(qs); return -1; }
    for (int i = 0; i < nq; i++) perm[i] = i;
    uint64_t rng = seed ^ 0x5B11754B11755B11ULL;
    for (int i = nq - 1; i > 0; i--) {
        int j = (int)(swift_rand(&rng) % (uint64_t)(i + 1));
        int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    for (int i = 0; i < n_val_q; i++) qval[perm[i]] = true;
    for (int i = 0; i < n; i++) {
        int *f = bsearch(&ex[i].question, qs, nq, sizeof(int), swift_cmp_int);
        is_val[i] = qval[f - qs];
    }
    free(perm); free(qval); free(qs);
    return n_val_q;
}

// Best-of-N on the validation questions: the mean label of each question's highest-reward candidate
// (what the head is for), next to the mean label (a random pick) and the oracle (any correct).
static void swift_val_selection(const ss_swift_head *h, const ss_swift_example *ex, int n, const bool *is_val,
                                const ss_swift_dist *dist, double *sel, double *rnd, double *oracle, int *nq_out) {
    swift_work w;
    *sel = *rnd = *oracle = NAN;
    *nq_out = 0;
    if (swift_work_init(&w, h, ex, n)) return;                 // out of memory: no report
    w.dist = dist;
    double *R = ss_calloc(n > 0 ? n : 1, sizeof(double));
    bool *seen = ss_calloc(n > 0 ? n : 1, sizeof(bool));
    if (!R || !seen) { free(R); free(seen); swift_work_free(&w); return; }
    for (int k = 0; k < n; k++) {
        if (!is_val[k] || !swift_owns(&w, k)) continue;
        double S;
        R[k] = swift_forward(&w, &ex[k], 0, &S);
    }
    if (dist && !swift_sum(&w, R, n)) { free(R); free(seen); swift_work_free(&w); return; }
    double a = 0, b = 0, c = 0;
    int nq = 0;
    for (int k = 0; k < n; k++) {
        if (!is_val[k] || seen[k]) continue;
        int best = k, cnt = 0;
        double lab = 0, any = 0;
        for (int j = k; j < n; j++) {
            if (!is_val[j] || ex[j].question != ex[k].question) continue;
            seen[j] = true;
            cnt++;
            lab += ex[j].label;
            any = fmax(any, ex[j].label);
            if (R[j] > R[best]) best = j;
        }
        a += ex[best].label; b += lab / cnt; c += any;
        nq++;
    }
    *sel = nq ? a / nq : NAN; *rnd = nq ? b / nq : NAN; *oracle = nq ? c / nq : NAN;
    *nq_out = nq;
    free(seen); free(R);
    swift_work_free(&w);
}

int ss_swift_train(ss_swift_head *h, const ss_swift_example *ex, int n, const ss_swift_train_params *p,
                   ss_swift_train_result *res, char *err, size_t errlen) {
    return ss_swift_train_dist(h, ex, n, p, NULL, res, err, errlen);
}

// the first example (over all processes) with missing or non-finite features: each process checks its
// own and fills its row of [size][3] (example + 1, token, feature); 0, or -1 with the error
static int swift_check_features(const ss_swift_example *ex, int n, int F, const ss_swift_dist *dist, char *err, size_t errlen) {
    double bad[3] = { 0, 0, 0 };
    for (int i = 0; i < n && !bad[0]; i++) {
        const ss_swift_example *e = &ex[i];
        if (dist && (i < dist->lo || i >= dist->hi)) continue;
        if (e->T < 0 || (e->T > 0 && !e->X)) { bad[0] = i + 1; bad[1] = -1; break; }
        size_t m = (size_t)e->T * F;
        for (size_t k = 0; k < m; k++) {
            // a half is finite unless its exponent bits are all ones
            bool fin = e->x_f16 ? (((const uint16_t *)e->X)[k] & 0x7c00) != 0x7c00 : isfinite(((const float *)e->X)[k]);
            if (!fin) { bad[0] = i + 1; bad[1] = (double)(k / F); bad[2] = (double)(k % F); break; }
        }
    }
    if (dist) {
        size_t K = (size_t)dist->size;
        double *all = ss_calloc(3 * K, sizeof(double));
        if (!all) return ss_err(err, errlen, "swift train: out of memory");
        memcpy(all + 3 * (size_t)dist->rank, bad, sizeof bad);
        if (dist->sum(dist->ud, all, 3 * K)) { free(all); return ss_err(err, errlen, "swift train: the exchange between processes failed"); }
        bad[0] = 0;
        for (size_t r = 0; r < K && !bad[0]; r++) memcpy(bad, all + 3 * r, sizeof bad);   // the lowest process's
        free(all);
    }
    if (!bad[0]) return 0;
    int i = (int)bad[0] - 1;
    if (bad[1] < 0) return ss_err(err, errlen, "swift train: example %d: no features", i);
    return ss_err(err, errlen, "swift train: example %d: token %zu: feature %zu is not finite", i, (size_t)bad[1], (size_t)bad[2]);
}

int ss_swift_train_dist(ss_swift_head *h, const ss_swift_example *ex, int n, const ss_swift_train_params *p,
                        const ss_swift_dist *dist, ss_swift_train_result *res, char *err, size_t errlen) {
    const int F = h->dim;
    if (!h->W || F <= 0) return ss_err(err, errlen, "swift train: head is not initialised");
    if (n <= 0) return ss_err(err, errlen, "swift train: no training examples");
    if (!ss_swift_loss_name(p->loss)) return ss_err(err, errlen, "swift train: unknown loss %d", p->loss);
    if (!(p->lr > 0) || !isfinite(p->lr)) return ss_err(err, errlen, "swift train: learning rate must be > 0");
    if (!(p->wd >= 0) || !isfinite(p->wd)) return ss_err(err, errlen, "swift train: weight decay must be >= 0");
    if (p->epochs < 1) return ss_err(err, errlen, "swift train: epochs must be >= 1");
    if (p->batch < 1) return ss_err(err, errlen, "swift train: batch must be >= 1");
    if (!(p->val_frac >= 0 && p->val_frac < 1)) return ss_err(err, errlen, "swift train: validation fraction must be in [0, 1)");
    if (dist && (dist->size < 1 || dist->rank < 0 || dist->rank >= dist->size || dist->lo < 0 || dist->hi > n || dist->lo > dist->hi || !dist->sum))
        return ss_err(err, errlen, "swift train: bad process split (process %d of %d, examples %d..%d of %d)", dist->rank, dist->size, dist->lo, dist->hi, n);
    // inputs: labels in [0,1], finite features (a NaN would silently poison the head)
    for (int i = 0; i < n; i++)
        if (!(ex[i].label >= 0 && ex[i].label <= 1)) return ss_err(err, errlen, "swift train: example %d: label %g is not in [0, 1]", i, ex[i].label);
    if (swift_check_features(ex, n, F, dist, err, errlen)) return -1;
    h->no_gate = p->no_gate;
    uint64_t rng = p->seed ^ 0x5EED5EED5EED5EEDULL;

    // nn.Linear default init: W, b ~ U(-1/sqrt(F), 1/sqrt(F)); the unused gate row stays 0 without gate
    double bound = 1.0 / sqrt((double)F);
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < F; i++) h->W[(size_t)r * F + i] = (float)((2 * swift_uniform(&rng) - 1) * bound);
        h->b[r] = (float)((2 * swift_uniform(&rng) - 1) * bound);
    }
    if (h->no_gate) { memset(h->W, 0, F * sizeof(float)); h->b[0] = 0; }

    // validation split by question
    bool *is_val = ss_calloc(n, sizeof(bool));
    int *qs = ss_malloc(n * sizeof(int));
    int n_val_q = is_val && qs ? ss_swift_split(ex, n, p->val_frac, p->seed, is_val) : -1, n_val_ex = 0, nq = 0;
    if (n_val_q < 0) { free(is_val); free(qs); return ss_err(err, errlen, "swift train: out of memory (%d examples)", n); }
    for (int i = 0; i < n; i++) n_val_ex += is_val[i];
    for (int i = 0; i < n; i++) qs[i] = ex[i].question;
    qsort(qs, n, sizeof(int), swift_cmp_int);
    for (int i = 0; i < n; i++) if (i == 0 || qs[i] != qs[nq - 1]) qs[nq++] = qs[i];

    swift_unit *tu, *vu;
    int ntu = swift_make_units(ex, n, p->loss, is_val, false, &tu);
    int nvu = swift_make_units(ex, n, p->loss, is_val, true, &vu);
    if (ntu < 0 || nvu < 0) {
        free(qs); free(is_val); free(tu); free(vu);
        return ss_err(err, errlen, "swift train: out of memory (%d examples)", n);
    }
    if (ntu == 0) {
        free(qs); free(is_val); free(tu); free(vu);
        return ss_err(err, errlen, p->loss == SS_SWIFT_PAIRWISE
                      ? "swift train: no question of the training split has both a correct and a wrong answer (pairwise loss)"
                      : "swift train: the training split is empty");
    }
    bool have_val = nvu > 0;
    {
        swift_note(p, "swift-train: %d examples, %d questions (%d validation), loss %s: %d training %s, %d validation %s, dim %d",
                n, nq, n_val_q, ss_swift_loss_name(p->loss), ntu, p->loss == SS_SWIFT_PAIRWISE ? "pairs" : "examples",
                nvu, p->loss == SS_SWIFT_PAIRWISE ? "pairs" : "examples", F);
        if (!have_val) swift_note(p, "swift-train: no validation set: training all %d epochs, keeping the last", p->epochs);
    }

    // AdamW state over the 2F + 2 parameters
    size_t np = 2 * (size_t)F;
    float *m = ss_calloc(np + 2, sizeof(float)), *v = ss_calloc(np + 2, sizeof(float));
    float *bestW = ss_malloc(np * sizeof(float));
    float bestb[2] = { h->b[0], h->b[1] };
    swift_work w;
    int wrc = swift_work_init(&w, h, ex, n);
    w.dist = dist;
    double *mu = NULL, *inv_sd = NULL;
    bool oom = wrc != 0 || !m || !v || !bestW;
    if (p->standardize && !oom) {
        // train on standardized features; the head is folded back to raw features at the end:
        //   W'_i = W_i / sd_i,  b' = b - sum_i W_i mu_i / sd_i   (same rewards on raw features)
        mu = ss_malloc(sizeof(double) * F);
        inv_sd = ss_malloc(sizeof(double) * F);
        w.xstd = ss_malloc(sizeof(float) * F);
        oom = !mu || !inv_sd || !w.xstd || swift_standardize_stats(&w, ex, n, is_val, mu, inv_sd);
        w.mu = mu; w.inv_sd = inv_sd;
    }
    if (oom) {
        bool xf = w.xchg_failed;
        swift_work_free(&w);
        free(mu); free(inv_sd); free(m); free(v); free(bestW); free(qs); free(is_val); free(tu); free(vu);
        if (xf) return ss_err(err, errlen, "swift train: the exchange between processes failed (standardization)");
        return ss_err(err, errlen, "swift train: out of memory (dim %d, %d examples)", F, n);
    }
    memcpy(bestW, h->W, np * sizeof(float));

    ss_adamw opt;   // torch.optim.AdamW with betas 0.9/0.999, eps 1e-8
    ss_adamw_init(&opt, p->lr, 0.9, 0.999, 1e-8, p->wd);
    int steps_per_epoch = (ntu + p->batch - 1) / p->batch;
    long total_steps = (long)steps_per_epoch * p->epochs, done_steps = 0;
    double best_val = INFINITY;
    int best_epoch = 0, bad_epochs = 0, epochs_run = 0, rc = 0;
    ss_swift_train_result r = { 0 };
    r.val_loss = r.val_acc = NAN;

    for (int epoch = 1; epoch <= p->epochs; epoch++) {
        swift_shuffle_units(tu, ntu, &rng);
        double tr_sum = 0;
        long tr_correct = 0;
        for (int s0 = 0; s0 < ntu; s0 += p->batch) {
            int nb = ntu - s0 < p->batch ? ntu - s0 : p->batch, corr;
            tr_sum += swift_eval_units(&w, ex, tu + s0, nb, p->loss, true, &corr);
            tr_correct += corr;
            // AdamW (ss_adamw.h) in double, the parameters and moments kept in float
            ss_adamw_next(&opt);
            for (size_t i = 0; i < np + 2; i++) {
                double g = i < np ? w.gW[i] : w.gb[i - np];
                float *par = i < np ? &h->W[i] : &h->b[i - np];
                if (h->no_gate && (i < (size_t)F || i == np)) continue;   // the gate is not a parameter
                double mi = m[i], vi = v[i];
                *par = (float)ss_adamw_update(&opt, *par, g, &mi, &vi);
                m[i] = (float)mi;
                v[i] = (float)vi;
            }
            done_steps++;
            if (p->on_step) p->on_step(p->ud, epoch, done_steps, total_steps);
        }
        double tr_loss = tr_sum / ntu, tr_acc = (double)tr_correct / ntu;
        if (w.xchg_failed) {
            rc = ss_err(err, errlen, "swift train: the exchange between processes failed at epoch %d", epoch);
            break;
        }
        if (!isfinite(tr_loss)) {
            rc = ss_err(err, errlen, "swift train: the loss is not finite at epoch %d (lower --lr?)", epoch);
            break;
        }
        double va_loss = NAN, va_acc = NAN;
        if (have_val) {
            int corr;
            va_loss = swift_eval_units(&w, ex, vu, nvu, p->loss, false, &corr) / nvu;
            va_acc = (double)corr / nvu;
            if (w.xchg_failed) {
                rc = ss_err(err, errlen, "swift train: the exchange between processes failed at epoch %d", epoch);
                break;
            }
        }
        bool improved = have_val ? va_loss < best_val : true;
        if (improved) {
            best_val = have_val ? va_loss : best_val;
            best_epoch = epoch;
            bad_epochs = 0;
            memcpy(bestW, h->W, np * sizeof(float));
            bestb[0] = h->b[0]; bestb[1] = h->b[1];
            r.train_loss = tr_loss; r.train_acc = tr_acc; r.val_loss = va_loss; r.val_acc = va_acc;
        } else {
            bad_epochs++;
        }
        {
            char vl[32], va[32];
            swift_fmt_num(vl, sizeof vl, va_loss);
            swift_fmt_num(va, sizeof va, va_acc);
            swift_note(p, "epoch %d/%d  train loss %.5f acc %.4f  val loss %s acc %s%s", epoch, p->epochs, tr_loss, tr_acc, vl, va, improved && have_val ? "  (best)" : "");
        }
        epochs_run = epoch;
        if (p->on_epoch) p->on_epoch(p->on_epoch_ud, epoch, tr_loss, tr_acc, va_loss, va_acc);
        if (have_val && p->patience > 0 && bad_epochs >= p->patience) {
            swift_note(p, "swift-train: early stop after epoch %d (no improvement for %d epochs)", epoch, bad_epochs);
            break;
        }
    }
    if (rc == 0) {
        // keep the best validation epoch's weights
        memcpy(h->W, bestW, np * sizeof(float));
        h->b[0] = bestb[0]; h->b[1] = bestb[1];
        if (mu) {
            for (int row = 0; row < 2; row++) {
                double shift = 0;
                for (int i = 0; i < F; i++) {
                    double wi = h->W[(size_t)row * F + i] * inv_sd[i];
                    shift += wi * mu[i];
                    h->W[(size_t)row * F + i] = (float)wi;
                }
                h->b[row] = (float)(h->b[row] - shift);
            }
        }
        r.best_epoch = best_epoch;
        r.epochs_run = epochs_run;
        if (res) *res = r;
        char vl[32], va[32], tl[32], ta[32];
        swift_fmt_num(vl, sizeof vl, r.val_loss); swift_fmt_num(va, sizeof va, r.val_acc);
        swift_fmt_num(tl, sizeof tl, r.train_loss); swift_fmt_num(ta, sizeof ta, r.train_acc);
        snprintf(h->train_info, sizeof h->train_info,
                 "{\"loss\":\"%s\",\"lr\":%g,\"wd\":%g,\"epochs\":%d,\"epochs_run\":%d,\"best_epoch\":%d,"
                 "\"batch\":%d,\"val_frac\":%g,\"patience\":%d,\"seed\":%llu,\"no_gate\":%s,\"standardize\":%s,"
                 "\"n_examples\":%d,\"n_questions\":%d,\"n_val_questions\":%d,\"n_val_examples\":%d,"
                 "\"n_train_units\":%d,\"n_val_units\":%d,\"init\":\"uniform(1/sqrt(dim))\",\"optimizer\":\"adamw(0.9,0.999,1e-8)\"}",
                 ss_swift_loss_name(p->loss), p->lr, p->wd, p->epochs, epochs_run, best_epoch, p->batch, p->val_frac,
                 p->patience, (unsigned long long)p->seed, p->no_gate ? "true" : "false", p->standardize ? "true" : "false", n, nq, n_val_q, n_val_ex, ntu, nvu);
        double bon = NAN, rnd = NAN, orc = NAN;
        int vq = 0;
        if (have_val) swift_val_selection(h, ex, n, is_val, dist, &bon, &rnd, &orc, &vq);
        if (vq)
            swift_note(p, "swift-train: best-of-N on the %d validation questions: head %.4f, random pick %.4f, oracle %.4f",
                    vq, bon, rnd, orc);
        char sb[32], sr[32], so[32];
        swift_fmt_num(sb, sizeof sb, bon); swift_fmt_num(sr, sizeof sr, rnd); swift_fmt_num(so, sizeof so, orc);
        snprintf(h->val_metrics, sizeof h->val_metrics,
                 "{\"val_loss\":%s,\"val_acc\":%s,\"train_loss\":%s,\"train_acc\":%s,\"best_epoch\":%d,\"accuracy\":\"%s\","
                 "\"val_best_of_n\":%s,\"val_random_pick\":%s,\"val_oracle\":%s}",
                 vl, va, tl, ta, best_epoch, p->loss == SS_SWIFT_PAIRWISE ? "pairs ordered R_pos > R_neg" : "R > 0 <=> correct",
                 sb, sr, so);
    }
    swift_work_free(&w);
    free(mu); free(inv_sd);
    free(m); free(v); free(bestW); free(qs); free(is_val); free(tu); free(vu);
    return rc;
}

// ---------------------------------------------------------------- combining with an external score

// NaN sorts last
static double swift_key(float x) { return isnan(x) ? -INFINITY : (double)x; }

int ss_swift_combine(const float *swift, const float *ext, int n, const char *method) {
    if (n <= 0 || !swift) return -1;
    int best = 0;
    if (!method || !strcmp(method, "none") || !strcmp(method, "swift")) {
        for (int i = 1; i < n; i++) if (swift_key(swift[i]) > swift_key(swift[best])) best = i;
        return best;
    }
    if (!ext) return -1;
    if (!strcmp(method, "ranking")) {
        // rank = position in a stable descending sort (0 = best); combined = the worse of the two ranks;
        // lowest combined rank wins, ties broken by the higher swift reward, then the lower index
        int best_rank = 0;
        for (int i = 0; i < n; i++) {
            int rs = 0, re = 0;
            for (int j = 0; j < n; j++) {
                double sj = swift_key(swift[j]), si = swift_key(swift[i]);
                double ej = swift_key(ext[j]), ei = swift_key(ext[i]);
                rs += sj > si || (sj == si && j < i);
                re += ej > ei || (ej == ei && j < i);
            }
            int c = rs > re ? rs : re;
            if (i == 0 || c < best_rank || (c == best_rank && swift_key(swift[i]) > swift_key(swift[best]))) {
                best = i;
                best_rank = c;
            }
        }
        return best;
    }
    if (!strcmp(method, "scaling")) {
        // min-max scale each score to [0, 1] within the candidates (1 when all are equal), average
        double smin = INFINITY, smax = -INFINITY, emin = INFINITY, emax = -INFINITY;
        for (int i = 0; i < n; i++) {
            double s = swift_key(swift[i]), e = swift_key(ext[i]);
            if (isfinite(s)) { smin = fmin(smin, s); smax = fmax(smax, s); }
            if (isfinite(e)) { emin = fmin(emin, e); emax = fmax(emax, e); }
        }
        double best_v = -INFINITY;
        for (int i = 0; i < n; i++) {
            double s = swift_key(swift[i]), e = swift_key(ext[i]);
            double ns = !isfinite(s) ? 0 : smax > smin ? (s - smin) / (smax - smin) : 1.0;
            double ne = !isfinite(e) ? 0 : emax > emin ? (e - emin) / (emax - emin) : 1.0;
            double c = (ns + ne) / 2;
            if (i == 0 || c > best_v) { best_v = c; best = i; }
        }
        return best;
    }
    return -1;
}

// ---------------------------------------------------------------- head file

int ss_swift_head_save(const ss_swift_head *h, const char *path, char *err, size_t errlen) {
    if (!h->W || h->dim <= 0) return ss_err(err, errlen, "%s: head has no weights", path);
    if (h->dim != h->spec.dim) return ss_err(err, errlen, "%s: head dim %d does not match its spec (%d)", path, h->dim, h->spec.dim);
    for (size_t i = 0; i < 2 * (size_t)h->dim; i++)
        if (!isfinite(h->W[i])) return ss_err(err, errlen, "%s: weight %zu is not finite", path, i);
    if (!isfinite(h->b[0]) || !isfinite(h->b[1])) return ss_err(err, errlen, "%s: bias is not finite", path);
    ss_gguf_writer *w = ss_gguf_writer_new();
    if (!w) return ss_err(err, errlen, "%s: out of memory", path);
    ss_gguf_writer_set_str(w, "general.architecture", "swift-head");
    ss_gguf_writer_set_str(w, "general.name", "SWIFT reward head");
    ss_gguf_writer_set_u32(w, "swift.version", 1);
    ss_gguf_writer_set_str(w, "swift.model_name", h->model_name);
    ss_gguf_writer_set_u64(w, "swift.model_fingerprint", h->model_fingerprint);
    ss_gguf_writer_set_str(w, "swift.layers", h->spec.layers);
    int32_t ll[256];
    for (int i = 0; i < h->spec.n_layers; i++) ll[i] = h->spec.layer[i];
    ss_gguf_writer_set_arr(w, "swift.layer_list", SS_GGUF_INT32, ll, (uint64_t)h->spec.n_layers);
    ss_gguf_writer_set_bool(w, "swift.norm", h->spec.norm);
    ss_gguf_writer_set_bool(w, "swift.logits", h->spec.logits);
    ss_gguf_writer_set_u32(w, "swift.dim", (uint32_t)h->dim);
    if (h->spec.conf) ss_gguf_writer_set_bool(w, "swift.conf", true);   // absent: no confidence features
    ss_gguf_writer_set_bool(w, "swift.no_gate", h->no_gate);
    ss_gguf_writer_set_str(w, "swift.train_info", h->train_info);
    ss_gguf_writer_set_str(w, "swift.val_metrics", h->val_metrics);
    int64_t neW[2] = { h->dim, 2 }, neb[1] = { 2 };
    ss_gguf_writer_add_tensor(w, "swift.W", SS_TYPE_F32, 2, neW, h->W, 2 * (size_t)h->dim * sizeof(float));
    ss_gguf_writer_add_tensor(w, "swift.b", SS_TYPE_F32, 1, neb, h->b, 2 * sizeof(float));
    int rc = ss_gguf_writer_write(w, path, err, errlen);
    ss_gguf_writer_free(w);
    return rc;
}

// copy a string key into buf (truncating; no allocation, so no failure but a missing key); -1 if
// missing or not a string
static int swift_get_str(const ss_gguf *g, const char *key, char *buf, size_t n) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv || kv->type != SS_GGUF_STRING) return -1;
    snprintf(buf, n, "%.*s", (int)(kv->v.s.len < n ? kv->v.s.len : n - 1), kv->v.s.ptr);
    return 0;
}

static int swift_need_bool(const ss_gguf *g, const char *key, bool *out) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv || kv->type != SS_GGUF_BOOL) return -1;
    *out = kv->v.b;
    return 0;
}

int ss_swift_head_load(ss_swift_head *h, const char *path, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    ss_gguf *g;
    char e2[SS_ERRLEN];
    if (ss_gguf_open(&g, path, e2, sizeof e2)) return ss_err(err, errlen, "SWIFT head: %s", e2);
    int rc = -1;
    char arch[64];
    ss_swift_spec *s = &h->spec;
    if (swift_get_str(g, "general.architecture", arch, sizeof arch) || strcmp(arch, "swift-head")) {
        ss_err(err, errlen, "%s: not a SWIFT head (general.architecture is not 'swift-head')", path);
        goto done;
    }
    const ss_gguf_kv *kd = ss_gguf_find(g, "swift.dim");
    int64_t dim = ss_gguf_get_int(g, "swift.dim", -1);
    if (!kd || dim <= 0 || dim > (1 << 28)) { ss_err(err, errlen, "%s: swift.dim: missing or out of range", path); goto done; }
    if (swift_get_str(g, "swift.layers", s->layers, sizeof s->layers) || !s->layers[0]) {
        ss_err(err, errlen, "%s: swift.layers: missing", path); goto done;
    }
    if (swift_need_bool(g, "swift.norm", &s->norm)) { ss_err(err, errlen, "%s: swift.norm: missing or not a bool", path); goto done; }
    if (swift_need_bool(g, "swift.logits", &s->logits)) { ss_err(err, errlen, "%s: swift.logits: missing or not a bool", path); goto done; }
    if (swift_need_bool(g, "swift.no_gate", &h->no_gate)) { ss_err(err, errlen, "%s: swift.no_gate: missing or not a bool", path); goto done; }
    if (ss_gguf_find(g, "swift.conf") && swift_need_bool(g, "swift.conf", &s->conf)) {
        ss_err(err, errlen, "%s: swift.conf: not a bool", path); goto done;
    }
    const int64_t fdim = dim - (s->conf ? SS_SWIFT_CONF_DIM : 0);   // the layers' or logits' part
    if (fdim <= 0) { ss_err(err, errlen, "%s: swift.dim %lld leaves no room for the layers' features", path, (long long)dim); goto done; }
    const ss_gguf_kv *kl = ss_gguf_find(g, "swift.layer_list");
    if (!kl || kl->type != SS_GGUF_ARRAY || kl->arr_type != SS_GGUF_INT32 || kl->arr_n > 256) {
        ss_err(err, errlen, "%s: swift.layer_list: missing or not an int32 array of at most 256 layers", path); goto done;
    }
    s->n_layers = (int)kl->arr_n;
    for (int i = 0; i < s->n_layers; i++) {
        int32_t v;
        memcpy(&v, (const uint8_t *)kl->arr_data + 4 * (size_t)i, 4);
        if (v < 0 || v > 255 || (i > 0 && v <= s->layer[i - 1])) {
            ss_err(err, errlen, "%s: swift.layer_list: entry %d (%d) is out of range or not increasing", path, i, (int)v); goto done;
        }
        s->layer[i] = v;
    }
    if (s->logits) {
        if (s->n_layers != 0 || strcmp(s->layers, "logits") || s->norm) {
            ss_err(err, errlen, "%s: logits head with layers '%s' (%d listed)%s", path, s->layers, s->n_layers, s->norm ? " and norm" : "");
            goto done;
        }
    } else if (s->n_layers == 0 || fdim % s->n_layers) {
        ss_err(err, errlen, "%s: swift.dim %lld%s is not a multiple of the %d layers listed", path, (long long)fdim,
               s->conf ? " (without the 2 confidence features)" : "", s->n_layers); goto done;
    }
    s->dim = h->dim = (int)dim;
    const ss_gguf_kv *kf = ss_gguf_find(g, "swift.model_fingerprint");
    if (!kf || kf->type != SS_GGUF_UINT64) { ss_err(err, errlen, "%s: swift.model_fingerprint: missing or not a uint64", path); goto done; }
    h->model_fingerprint = kf->v.u64;
    if (swift_get_str(g, "swift.model_name", h->model_name, sizeof h->model_name)) {
        ss_err(err, errlen, "%s: swift.model_name: missing", path); goto done;
    }
    swift_get_str(g, "swift.train_info", h->train_info, sizeof h->train_info);
    swift_get_str(g, "swift.val_metrics", h->val_metrics, sizeof h->val_metrics);

    const ss_gguf_tensor *tW = ss_gguf_find_tensor(g, "swift.W"), *tb = ss_gguf_find_tensor(g, "swift.b");
    if (!tW || tW->type != SS_TYPE_F32 || tW->n_dims != 2 || tW->ne[0] != dim || tW->ne[1] != 2 ||
        tW->nbytes != 2 * (size_t)dim * sizeof(float)) {
        ss_err(err, errlen, "%s: tensor 'swift.W': missing or not F32 [%lld, 2]", path, (long long)dim); goto done;
    }
    if (!tb || tb->type != SS_TYPE_F32 || tb->n_dims != 1 || tb->ne[0] != 2 || tb->nbytes != 2 * sizeof(float)) {
        ss_err(err, errlen, "%s: tensor 'swift.b': missing or not F32 [2]", path); goto done;
    }
    h->W = ss_malloc(tW->nbytes);
    if (!h->W) { ss_err(err, errlen, "%s: out of memory", path); goto done; }
    memcpy(h->W, tW->data, tW->nbytes);
    memcpy(h->b, tb->data, sizeof h->b);
    for (size_t i = 0; i < 2 * (size_t)dim; i++)
        if (!isfinite(h->W[i])) { ss_err(err, errlen, "%s: tensor 'swift.W': element %zu is not finite", path, i); goto done; }
    if (!isfinite(h->b[0]) || !isfinite(h->b[1])) { ss_err(err, errlen, "%s: tensor 'swift.b': not finite", path); goto done; }
    rc = 0;
done:
    ss_gguf_close(g);
    if (rc) { free(h->W); h->W = NULL; }
    return rc;
}

int ss_swift_head_check_model(const ss_swift_head *h, const char *model_name, uint64_t fingerprint,
                              int n_layer, int n_embd, int n_vocab, char *err, size_t errlen) {
    if (h->model_fingerprint != fingerprint)
        return ss_err(err, errlen, "SWIFT head was trained for model '%s' (fingerprint %016llx), not for '%s' (fingerprint %016llx)",
                      h->model_name, (unsigned long long)h->model_fingerprint, model_name ? model_name : "?",
                      (unsigned long long)fingerprint);
    ss_swift_spec s;
    char e2[SS_ERRLEN];
    if (ss_swift_spec_parse(&s, h->spec.layers, h->spec.norm, h->spec.logits, n_layer, n_embd, n_vocab, e2, sizeof e2))
        return ss_err(err, errlen, "SWIFT head: %s", e2);
    ss_swift_spec_set_conf(&s, h->spec.conf);
    if (s.dim != h->dim || s.n_layers != h->spec.n_layers || memcmp(s.layer, h->spec.layer, s.n_layers * sizeof(int)))
        return ss_err(err, errlen, "SWIFT head: layers '%s' resolve to %d layers / dim %d for model '%s', but the head has %d layers / dim %d",
                      h->spec.layers, s.n_layers, s.dim, model_name ? model_name : "?", h->spec.n_layers, h->dim);
    return 0;
}

int ss_model_check_head(const ss_model *m, const ss_swift_head *h, char *err, size_t errlen) {
    const ss_hparams *hp = ss_model_hparams(m);
    return ss_swift_head_check_model(h, ss_model_name(m), ss_model_fingerprint(m), hp->n_layer, hp->n_embd,
                                     hp->n_vocab, err, errlen);
}
