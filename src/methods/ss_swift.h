// ss_swift.h — SWIFT (arXiv 2505.12225): a linear reward head over hidden-state features.
//   [g_t, r_t] = W x_t + b        W: [2, F], x_t: features of response token t
//   R = sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)      (no_gate: mean_t r_t)
// Trained with BCE (or hinge / pairwise) on the correctness of sampled answers, AdamW,
// validation split by question, early stopping that keeps the best epoch.
// The whole API (spec, head, running reward, training, combining) is public: see slotswift.h.
#ifndef SS_SWIFT_H
#define SS_SWIFT_H
#include "ss_common.h"
#endif
