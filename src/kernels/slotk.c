// slotk.c — SLOT's kernels, scalar definitions (see ss_slotk.h; the AVX2 twins: x86/slot_avx2.c).
#include "ss_slotk.h"
#include <math.h>

void ss_slot_dot_rows_ref(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out) {
    for (int r = 0; r < nr; r++) {
        const float *wr = w + (int64_t)r * ldw;
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += (double)x[i] * wr[i];
        out[r] = (float)s;
    }
}

float ss_slot_add_max_ref(const float *z, const float *u, float *l, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        l[i] = z[i] + u[i];
        if (l[i] > m) m = l[i];
    }
    return m;
}

double ss_slot_exp_sum_ref(float *e, float m, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        e[i] = expf(e[i] - m);
        s += e[i];
    }
    return s;
}

void ss_slot_axpy_ref(double *q, double a, const float *e, int64_t n) {
    for (int64_t i = 0; i < n; i++) q[i] += a * e[i];
}

void ss_slot_gemm_ref(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz,
                      int nt, int nv, int acc) {
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nv; j++) {
            double s = 0;
            for (int k = 0; k < kc; k++) s += (double)hp[16 * k + i] * w[j * ldw + k];
            z[i * ldz + j] = acc ? z[i * ldz + j] + (float)s : (float)s;
        }
}

double ss_slot_dot_f64_ref(const float *x, const float *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)(x[i] * y[i]);
    return s;
}

void ss_slot_exp_axpy_ref(double *q, double a, const float *z, const float *u, float m, int64_t n) {
    for (int64_t i = 0; i < n; i++) q[i] += a * expf((z[i] + u[i]) - m);
}

void ss_slot_gacc_ref(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n) {
    for (int64_t d = 0; d < n; d++) {
        double a = 0;
        for (int j = 0; j < nr; j++) a += (double)r[j] * w[(int64_t)j * ldw + d];
        g[d] += a;
    }
}

double ss_slot_lse_dot_ref(const float *z, const float *u, int64_t n, double *pu) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) if (z[i] > m) m = z[i];
    double S = 0, P = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = expf(z[i] - m);
        S += e;
        P += e * u[i];
    }
    *pu = P / S;
    return (double)m + log(S);
}
