// ss_slotk.h — SLOT's kernels (src/methods/slot.c): the scalar definitions (slotk.c). The AVX2
// twins (x86/slot_avx2.c) compute the same math with f32 lanes where noted; SLOT calls them
// through the dispatch table (ss_kernels.h), tests/test_slot.c checks both against float64.
#ifndef SS_SLOTK_H
#define SS_SLOTK_H
#include <stdint.h>

// out[r] = x[0..n) · w[r*ldw + 0..n)   for r in [0, nr)    (scalar: double sum; AVX2: f32 lanes)
void   ss_slot_dot_rows_ref(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out);
// l[i] = z[i] + u[i]; returns max_i l[i]
float  ss_slot_add_max_ref(const float *z, const float *u, float *l, int64_t n);
// e[i] = exp(e[i] - m) in place; returns sum_i e[i] (accumulated in double)
double ss_slot_exp_sum_ref(float *e, float m, int64_t n);
// q[i] += a * e[i]   (double accumulators)
void   ss_slot_axpy_ref(double *q, double a, const float *e, int64_t n);
// z[i*ldz + j] (+ if acc)= sum_{k<kc} hp[16k + i] * w[j*ldw + k]   for i < nt <= 16, j < nv <= 6
// (hp: 16 positions interleaved per k; w: 6 readable rows, those >= nv ignored)
void   ss_slot_gemm_ref(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz,
                        int nt, int nv, int acc);
// sum_i x[i]*y[i]  (f32 products, double sums)
double ss_slot_dot_f64_ref(const float *x, const float *y, int64_t n);
// q[i] += a * exp((z[i] + u[i]) - m)   (m >= every z[i] + u[i])
void   ss_slot_exp_axpy_ref(double *q, double a, const float *z, const float *u, float m, int64_t n);
// g[d] += sum_{j<nr} r[j] * w[j*ldw + d]   for d < n, 1 <= nr <= 16   (AVX2: f32 sum over j, added in double)
void   ss_slot_gacc_ref(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n);
// returns lse(z) = m + log sum_i exp(z[i] - m) (m = max z); *pu = sum_i softmax(z)[i] u[i]
// (f32 exps, double sums; the KL of SLOT's trust region on stored z, src/methods/slot.c)
double ss_slot_lse_dot_ref(const float *z, const float *u, int64_t n, double *pu);

#endif
