// ss_adamw.h — AdamW as torch.optim.AdamW defines it (amsgrad off), the one optimizer of SLOT
// (src/methods/slot.c, state in double) and SWIFT training (src/methods/swift.c, state in float).
// At step t = 1, 2, ... for every parameter p with gradient g:
//   p *= 1 - lr·wd                                   (decoupled weight decay)
//   m = b1·m + (1 - b1)·g;   v = b2·v + (1 - b2)·g²
//   p -= lr · (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// evaluated in double in exactly this order (the callers' tests compare with float64 references).
#ifndef SS_ADAMW_H
#define SS_ADAMW_H
#include <math.h>

typedef struct {
    double lr, beta1, beta2, eps, wd;   // hyper-parameters
    long   t;                           // steps taken (ss_adamw_next counts them)
    double decay, bc1, bc2;             // 1 - lr·wd, 1 - b1^t, 1 - b2^t of the current step
} ss_adamw;

// t = 0 with these hyper-parameters
void ss_adamw_init(ss_adamw *a, double lr, double beta1, double beta2, double eps, double wd);
// begin the next step (t += 1)
void ss_adamw_next(ss_adamw *a);
// one parameter's update at the current step: returns the new p, updates *m and *v
static inline double ss_adamw_update(const ss_adamw *a, double p, double g, double *m, double *v) {
    p *= a->decay;
    *m = a->beta1 * *m + (1 - a->beta1) * g;
    *v = a->beta2 * *v + (1 - a->beta2) * g * g;
    const double mhat = *m / a->bc1, vhat = *v / a->bc2;
    return p - a->lr * mhat / (sqrt(vhat) + a->eps);
}
// the update of n parameters held in double
void ss_adamw_step_f64(const ss_adamw *a, double *p, const double *g, double *m, double *v, long n);

#endif
