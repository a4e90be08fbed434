// adamw.c — AdamW (torch.optim.AdamW; see ss_adamw.h).
#include "ss_adamw.h"

void ss_adamw_init(ss_adamw *a, double lr, double beta1, double beta2, double eps, double wd) {
    *a = (ss_adamw){ .lr = lr, .beta1 = beta1, .beta2 = beta2, .eps = eps, .wd = wd, .t = 0,
                     .decay = 1 - lr * wd, .bc1 = 1, .bc2 = 1 };
}

void ss_adamw_next(ss_adamw *a) {
    a->t++;
    a->bc1 = 1 - pow(a->beta1, (double)a->t);
    a->bc2 = 1 - pow(a->beta2, (double)a->t);
}

void ss_adamw_step_f64(const ss_adamw *a, double *p, const double *g, double *m, double *v, long n) {
    for (long i = 0; i < n; i++) p[i] = ss_adamw_update(a, p[i], g[i], &m[i], &v[i]);
}
