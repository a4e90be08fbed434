// ss_slot.h — SLOT (arXiv 2505.12392): optimize one vector delta[D] added to the final hidden
// states so that the prompt predicts itself better, with AdamW (PyTorch's definition).
//
//   logits_t = (h_t + delta) · W^T          h: [T,D], W: LM head [V,D]
//   loss     = mean_{t in S} CE(logits_t, y_t)   S = positions 0..T-2 (y_t = token t+1), optionally masked
//   grad     = W^T · mean_{t in S} (softmax(logits_t) - onehot(y_t))
// Logits are affine in delta: logits_t = z_t + W·delta with z_t = h_t·W^T computed once, so a step
// costs two passes over the T×V stored values (the second from the L3 cache) plus two V×D
// mat-vecs (see src/methods/slot.c for the exact reformulation that needs no exp per logit per step,
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
    // Bound on the logits z[T,V] (f32) kept between steps (default, and 0: SS_SLOT_MAX_BYTES). When
    // T×V×4 exceeds it, positions are processed in chunks and z is recomputed chunk by chunk at every step.
    size_t max_bytes;
    // When z is kept, SLOT stores E = exp(z_t - max_v z_t) instead of z and gives it up for z (one
    // more z pass) as soon as max_v u - min_v u (u = W·delta) exceeds this range (default, and 0:
    // SS_SLOT_E_RANGE). Tests: a tiny range gives E up at the first step with delta != 0, a negative
    // one never uses E (z kept from the start).
    float e_range;
    // the kernels (default, and NULL: ss_kernels_get(false); a generation passes its context's
    // c->kern; tests compare the scalar table, ss_kernels_get(true), with the SIMD one)
    const ss_kernels *kern;
} ss_slot_params;

#define SS_SLOT_MAX_BYTES ((size_t)256 << 20)
#define SS_SLOT_E_RANGE 40.0f

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
// Same inputs and checks as ss_slot_optimize (p: its kernels, max_bytes and e_range are used);
// returns NAN on bad input.
double ss_slot_loss_grad(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                         const uint8_t *mask, const ss_weight *W, const float *delta, float *grad);

#endif
