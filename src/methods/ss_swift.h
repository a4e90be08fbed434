// ss_swift.h — SWIFT (arXiv 2505.12225): a linear reward head over hidden-state features.
//   [g_t, r_t] = W x_t + b        W: [2, F], x_t: features of response token t
//   R = sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)      (no_gate: mean_t r_t)
// Trained with BCE (or hinge / pairwise) on the correctness of sampled answers, AdamW,
// validation split by question, early stopping that keeps the best epoch.
// The whole API (spec, head, running reward, training, combining) is public: see slotswift.h.
#ifndef SS_SWIFT_H
#define SS_SWIFT_H
#include "ss_common.h"

// Data-parallel training over several processes (the MPI tools use it; the library knows no MPI):
// every process calls ss_swift_train_dist with the same examples and parameters, and reads the
// features of its own examples ex[lo..hi) only (the others' X may be NULL). Whatever a step needs
// from other processes goes through sum(), which replaces buf[0..n) by the elementwise sum over the
// processes, identical on all of them. Every buffer given to sum() is laid out so that each element
// is non-zero on at most one process (x + 0 = x exactly, in any order): the per-example gradients
// of a batch, one row each, are folded in batch order afterwards, so the head is the same bits on
// any number of processes. Only the standardization statistics are per-process rows ([size][2F+1])
// folded in process order: the same bits for the same size, rounding-level differences across sizes.
typedef struct {
    int   rank, size;     // this process, the number of processes
    int   lo, hi;         // the examples this process reads: ex[lo..hi)
    int (*sum)(void *ud, double *buf, size_t n);   // 0, or -1 when the exchange failed
    void *ud;
} ss_swift_dist;

// ss_swift_train over `dist` (NULL: this process alone, exactly ss_swift_train)
int ss_swift_train_dist(ss_swift_head *h, const ss_swift_example *ex, int n, const ss_swift_train_params *p,
                        const ss_swift_dist *dist, ss_swift_train_result *res, char *err, size_t errlen);
#endif
