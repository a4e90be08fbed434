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

// ss_slot_params (incl. max_bytes, e_range, kern), ss_slot_params_default, ss_slot_result and
// ss_slot_run (on a context) are public (slotswift.h); below: the optimizer on explicit inputs
// (a thread pool and an LM head) and the defaults of the tunables.
#define SS_SLOT_MAX_BYTES ((size_t)256 << 20)   // max_bytes 0
#define SS_SLOT_E_RANGE 40.0f                   // e_range 0

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
// ss_slot_finish writes delta[D] and res (not loss_before) and frees the run; ss_slot_stepper_free frees it
// without results. res->seconds counts only the time spent inside these calls.
typedef struct ss_slot_stepper ss_slot_stepper;
ss_slot_stepper *ss_slot_begin(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D,
                           const int32_t *tokens, const uint8_t *mask, const ss_weight *W,
                           char *err, size_t errlen);
int  ss_slot_step(ss_slot_stepper *r, float *loss_before, char *err, size_t errlen);
int  ss_slot_finish(ss_slot_stepper *r, float *delta, ss_slot_result *res, char *err, size_t errlen);
void ss_slot_stepper_free(ss_slot_stepper *r);

// loss and gradient at a given delta (for tests: finite differences); delta NULL = zero; grad may be NULL.
// Same inputs and checks as ss_slot_optimize (p: its kernels, max_bytes and e_range are used);
// returns NAN on bad input.
double ss_slot_loss_grad(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                         const uint8_t *mask, const ss_weight *W, const float *delta, float *grad);
// loss at delta and *kl = mean_t KL(p_t || q_t) between the distributions at delta = 0 and at delta
// (the trust region's measure; for tests). Same inputs as ss_slot_loss_grad.
double ss_slot_loss_kl(const ss_slot_params *p, ss_pool *pool, const float *H, int T, int D, const int32_t *tokens,
                       const uint8_t *mask, const ss_weight *W, const float *delta, double *kl);

#endif
