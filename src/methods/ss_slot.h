// ss_slot.h — SLOT (arXiv 2505.12392): optimize one vector delta[D] added to the final hidden
// states so that the prompt predicts itself better, with AdamW (PyTorch's definition).
//
//   logits_t = (h_t + delta) · W^T          h: [T,D], W: LM head [V,D]
//   loss     = mean_{t in S} CE(logits_t, y_t)   S = positions 0..T-2 (y_t = token t+1), optionally masked
//   grad     = W^T · mean_{t in S} (softmax(logits_t) - onehot(y_t))
// Logits are affine in delta: logits_t = z_t + W·delta with z_t = h_t·W^T computed once, so a step
// costs two passes over the T×V stored values (the second from the L3 cache) plus two V×D
// mat-vecs (see src/slot.c for the exact reformulation that needs no exp per logit per step,
// the measured costs and the floor).
#ifndef SS_SLOT_H
#define SS_SLOT_H
#include "ss_matmul.h"

// Storage for the stored logits (the largest part of SLOT's memory, tens of MB), kept by a caller
// that runs SLOT again and again (a context: one per ss_ctx) so that each run does not fault in
// fresh pages. Zero-initialised = empty; grown when a run needs more; ss_slot_ws_free releases it.
typedef struct ss_slot_ws { float *buf; size_t bytes; } ss_slot_ws;
void ss_slot_ws_free(ss_slot_ws *ws);

typedef struct {
    int   steps;          // default 3
    float lr;             // 0.1
    float beta1, beta2;   // 0.9, 0.999
    float eps;            // 1e-5
    float wd;             // 1e-8 (decoupled: delta *= 1 - lr*wd before the Adam update)
    bool  no_loss_after;  // false: res->loss_after = loss at the final delta (one more pass over W
                          // and one over the stored logits, ~5% of SLOT's time); true: skipped, NAN
    ss_slot_ws *ws;       // NULL: the stored logits are allocated and freed by each call
} ss_slot_params;

void ss_slot_params_default(ss_slot_params *p);

typedef struct {
    float  *loss_before;  // [steps] loss at delta before each update
    float   loss_after;   // loss at the final delta (NAN with p->no_loss_after)
    double  seconds;
    size_t  peak_bytes;   // SLOT's own extra memory at its peak
} ss_slot_result;

// H[T,D] row-major hidden rows (after the output norm), tokens[T], W the LM head.
// mask: NULL = every position 0..T-2 counts; else mask[t] != 0 selects position t (predicting tokens[t+1]).
// delta[D] is the output (starts from zero). res->loss_before must hold `steps` floats (or be NULL).
// Returns 0, or -1 + err (T < 2, no position selected, ...).
int ss_slot_optimize(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                     const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                     float *delta, ss_slot_result *res, char *err, size_t errlen);

// The same optimization one AdamW step at a time (a scheduler runs other work between steps; the
// numerics are ss_slot_optimize's, which is begin + `steps` x step + finish):
// ss_slot_begin validates and sets up (H, tokens, mask and W must stay valid until finish/free);
// ss_slot_step does one step, storing the loss before it in *loss_before (may be NULL), and returns
// 1 while steps remain, 0 after the last one (or when there are none), -1 + err;
// ss_slot_finish writes delta[D] and res (not loss_before) and frees the run; ss_slot_run_free frees it
// without results. res->seconds counts only the time spent inside these calls.
typedef struct ss_slot_run ss_slot_run;
ss_slot_run *ss_slot_begin(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                           const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                           char *err, size_t errlen);
int  ss_slot_step(ss_slot_run *r, float *loss_before, char *err, size_t errlen);
int  ss_slot_finish(ss_slot_run *r, float *delta, ss_slot_result *res, char *err, size_t errlen);
void ss_slot_run_free(ss_slot_run *r);

// loss and gradient at a given delta (for tests: finite differences); delta NULL = zero; grad may be NULL.
// Same inputs and checks as ss_slot_optimize; returns NAN on bad input.
double ss_slot_loss_grad(ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                         const uint8_t *mask, const ss_weight *W, const float *delta, float *grad);

// ---- tuning / test hooks ----
// Bound on the logits z[T,V] (f32) kept between steps (default SS_SLOT_MAX_BYTES). When T×V×4 exceeds
// it, positions are processed in chunks and z is recomputed chunk by chunk at every step.
// 0 restores the default. Process-wide setting meant for tests and benchmarks.
#define SS_SLOT_MAX_BYTES ((size_t)256 << 20)
void ss_slot_set_max_bytes(size_t n);
// tests: use the scalar kernels even when the CPU has AVX2/FMA
void ss_slot_force_scalar(bool on);
// When z is kept, SLOT stores E = exp(z_t - max_v z_t) instead of z and gives it up for z (one more
// z pass) as soon as max_v u - min_v u (u = W·delta) exceeds this range (default SS_SLOT_E_RANGE).
// Tests: a tiny range gives E up at the first step with delta != 0, a negative one never uses E
// (z kept from the start); 0 restores the default. Process-wide, like ss_slot_set_max_bytes.
#define SS_SLOT_E_RANGE 40.0f
void ss_slot_set_e_range(float r);

// ---- internal: AVX2/FMA kernels (src/slot_avx2.c; called only after a runtime CPU check) ----
// out[r] = x[0..n) · w[r*ldw + 0..n)   for r in [0, nr)    (f32 products, f32 lanes)
void   ss_slot_dot_rows_avx2(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out);
// l[i] = z[i] + u[i]; returns max_i l[i]
float  ss_slot_add_max_avx2(const float *z, const float *u, float *l, int64_t n);
// e[i] = exp(e[i] - m) in place; returns sum_i e[i] (accumulated in double)
double ss_slot_exp_sum_avx2(float *e, float m, int64_t n);
// q[i] += a * e[i]   (double accumulators)
void   ss_slot_axpy_avx2(double *q, double a, const float *e, int64_t n);
// z[i*ldz + j] (+ if acc)= sum_{k<kc} hp[16k + i] * w[j*ldw + k]   for i < nt <= 16, j < nv <= 6
// (hp: 16 positions interleaved per k; w: 6 readable rows, those >= nv ignored)
void   ss_slot_gemm_avx2(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz,
                         int nt, int nv, int acc);
// sum_i x[i]*y[i]  (f32 products, double sums)
double ss_slot_dot_f64_avx2(const float *x, const float *y, int64_t n);
// q[i] += a * exp((z[i] + u[i]) - m)   (m >= every z[i] + u[i])
void   ss_slot_exp_axpy_avx2(double *q, double a, const float *z, const float *u, float m, int64_t n);
// g[d] += sum_{j<nr} r[j] * w[j*ldw + d]   for d < n, 1 <= nr <= 16   (f32 sum over j, added in double)
void   ss_slot_gacc_avx2(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n);
// the same two products reading Q8_0 rows (ldw bytes apart, n % 32 == 0) without dequantizing:
// out[r] = sum_b d_rb (sum_k q_rbk x[32b+k]);   g[32b+k] += sum_j (r[j] d_jb) q_jbk (f32 over j)
void   ss_slot_dot_q8_0_avx2(const float *x, const void *w, size_t ldw, int nr, int64_t n, float *out);
void   ss_slot_gacc_q8_0_avx2(double *g, const float *r, const void *w, size_t ldw, int nr, int64_t n);

#endif
