// slot_avx2.c — AVX2/FMA/F16C kernels for SLOT (src/methods/slot.c reaches them through the
// dispatch table, ss_kernels.h). Each has a scalar twin in slotk.c that defines the same math;
// tests/test_slot.c checks every kernel against a float64 loop, including the tails.
#include "ss_avx2.h"
#include <immintrin.h>
#include <math.h>

static inline float slot_hsum_ps(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline double slot_hsum_pd(__m256d v) {
    __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
    lo = _mm_add_pd(lo, hi);
    return _mm_cvtsd_f64(lo) + _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
}

// out[r] = x · w_r, four rows at a time so each load of x feeds four FMAs
void ss_slot_dot_rows_avx2(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out) {
    const int64_t n8 = n & ~(int64_t)7;
    int r = 0;
    for (; r + 4 <= nr; r += 4) {
        const float *w0 = w + (int64_t)r * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int64_t i = 0; i < n8; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w0 + i), a0);
            a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w1 + i), a1);
            a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w2 + i), a2);
            a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w3 + i), a3);
        }
        float s0 = slot_hsum_ps(a0), s1 = slot_hsum_ps(a1), s2 = slot_hsum_ps(a2), s3 = slot_hsum_ps(a3);
        for (int64_t i = n8; i < n; i++) {
            s0 += x[i] * w0[i]; s1 += x[i] * w1[i]; s2 += x[i] * w2[i]; s3 += x[i] * w3[i];
        }
        out[r] = s0; out[r + 1] = s1; out[r + 2] = s2; out[r + 3] = s3;
    }
    for (; r < nr; r++) {
        const float *w0 = w + (int64_t)r * ldw;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= n8; i += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(w0 + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(w0 + i + 8), a1);
        }
        for (; i < n8; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(w0 + i), a0);
        float s = slot_hsum_ps(_mm256_add_ps(a0, a1));
        for (; i < n; i++) s += x[i] * w0[i];
        out[r] = s;
    }
}

// l = z + u, returns max(l)
float ss_slot_add_max_avx2(const float *z, const float *u, float *l, int64_t n) {
    const int64_t n8 = n & ~(int64_t)7;
    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n8; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(z + i), _mm256_loadu_ps(u + i));
        _mm256_storeu_ps(l + i, v);
        mx = _mm256_max_ps(mx, v);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float m = _mm_cvtss_f32(m4);
    for (int64_t i = n8; i < n; i++) {
        l[i] = z[i] + u[i];
        if (l[i] > m) m = l[i];
    }
    return m;
}

// exp(x) for x <= 0 (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial in r,
// 2^n put into the exponent bits; about 1 ulp). x < -87 gives 0 (exp(-87) < 2e-38: the sums it
// enters are >= 1, since the maximum contributes exp(0) = 1).
static inline __m256 slot_exp_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, y);
}

double ss_slot_exp_sum_avx2(float *e, float m, int64_t n) {
    const int64_t n8 = n & ~(int64_t)7;
    const __m256 mv = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (int64_t i = 0; i < n8; i += 8) {
        __m256 v = slot_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(e + i), mv));
        _mm256_storeu_ps(e + i, v);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double s = slot_hsum_pd(_mm256_add_pd(s0, s1));
    for (int64_t i = n8; i < n; i++) {
        e[i] = expf(e[i] - m);
        s += e[i];
    }
    return s;
}

void ss_slot_axpy_avx2(double *q, double a, const float *e, int64_t n) {
    const int64_t n4 = n & ~(int64_t)3;
    const __m256d av = _mm256_set1_pd(a);
    for (int64_t i = 0; i < n4; i += 4) {
        __m256d ev = _mm256_cvtps_pd(_mm_loadu_ps(e + i));
        _mm256_storeu_pd(q + i, _mm256_fmadd_pd(av, ev, _mm256_loadu_pd(q + i)));
    }
    for (int64_t i = n4; i < n; i++) q[i] += a * e[i];
}

// ---------------------------------------------------------------- z = H · W^T

// z[i*ldz + j] (+)= sum_{k<kc} hp[16k + i] * w[j*ldw + k]     i < nt <= 16, j < nv <= 6
// hp: 16 positions interleaved per k (zero-padded); w: 6 readable rows (rows >= nv are ignored).
// The outer-product micro-kernel: per k, two loads of 8 positions and 6 broadcasts of W's k-th
// column feed 12 FMAs (12 accumulators = 16 positions × 6 rows); no packing of W is needed.
// One f32 accumulator per output, summed in k order. With nt <= 8, only the first 8 lanes are
// computed (half the work for the last group of positions).
void ss_slot_gemm_avx2(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz,
                       int nt, int nv, int acc) {
    const float *w0 = w, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw, *w4 = w3 + ldw, *w5 = w4 + ldw;
    float t[6][16];
    if (nt > 8) {
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < kc; k++) {
            const __m256 h0 = _mm256_loadu_ps(hp + 16 * k), h1 = _mm256_loadu_ps(hp + 16 * k + 8);
            __m256 b;
            b = _mm256_broadcast_ss(w0 + k); c00 = _mm256_fmadd_ps(b, h0, c00); c01 = _mm256_fmadd_ps(b, h1, c01);
            b = _mm256_broadcast_ss(w1 + k); c10 = _mm256_fmadd_ps(b, h0, c10); c11 = _mm256_fmadd_ps(b, h1, c11);
            b = _mm256_broadcast_ss(w2 + k); c20 = _mm256_fmadd_ps(b, h0, c20); c21 = _mm256_fmadd_ps(b, h1, c21);
            b = _mm256_broadcast_ss(w3 + k); c30 = _mm256_fmadd_ps(b, h0, c30); c31 = _mm256_fmadd_ps(b, h1, c31);
            b = _mm256_broadcast_ss(w4 + k); c40 = _mm256_fmadd_ps(b, h0, c40); c41 = _mm256_fmadd_ps(b, h1, c41);
            b = _mm256_broadcast_ss(w5 + k); c50 = _mm256_fmadd_ps(b, h0, c50); c51 = _mm256_fmadd_ps(b, h1, c51);
        }
        _mm256_storeu_ps(t[0], c00); _mm256_storeu_ps(t[0] + 8, c01);
        _mm256_storeu_ps(t[1], c10); _mm256_storeu_ps(t[1] + 8, c11);
        _mm256_storeu_ps(t[2], c20); _mm256_storeu_ps(t[2] + 8, c21);
        _mm256_storeu_ps(t[3], c30); _mm256_storeu_ps(t[3] + 8, c31);
        _mm256_storeu_ps(t[4], c40); _mm256_storeu_ps(t[4] + 8, c41);
        _mm256_storeu_ps(t[5], c50); _mm256_storeu_ps(t[5] + 8, c51);
    } else {
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        for (int k = 0; k < kc; k++) {
            const __m256 h0 = _mm256_loadu_ps(hp + 16 * k);
            c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w0 + k), h0, c0);
            c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w1 + k), h0, c1);
            c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w2 + k), h0, c2);
            c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w3 + k), h0, c3);
            c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(w4 + k), h0, c4);
            c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(w5 + k), h0, c5);
        }
        _mm256_storeu_ps(t[0], c0); _mm256_storeu_ps(t[1], c1); _mm256_storeu_ps(t[2], c2);
        _mm256_storeu_ps(t[3], c3); _mm256_storeu_ps(t[4], c4); _mm256_storeu_ps(t[5], c5);
    }
    // transpose out: position i is row i of z, vocab row j is column j
    for (int i = 0; i < nt; i++) {
        float *zi = z + (int64_t)i * ldz;
        if (acc) for (int j = 0; j < nv; j++) zi[j] += t[j][i];
        else     for (int j = 0; j < nv; j++) zi[j] = t[j][i];
    }
}

// ---------------------------------------------------------------- per-step passes

// sum_i x[i]*y[i]: f32 products, accumulated in double
double ss_slot_dot_f64_avx2(const float *x, const float *y, int64_t n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
        __m256 p1 = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(p0)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(p0, 1)));
        s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(p1)));
        s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(p1, 1)));
    }
    double s = slot_hsum_pd(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    for (; i < n; i++) s += (double)(x[i] * y[i]);
    return s;
}

// q[i] += a * exp((z[i] + u[i]) - m)     (z + u - m <= 0: m is the maximum of the f32 sums z + u)
void ss_slot_exp_axpy_avx2(double *q, double a, const float *z, const float *u, float m, int64_t n) {
    const __m256 mv = _mm256_set1_ps(m);
    const __m256d av = _mm256_set1_pd(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = slot_exp_ps(_mm256_sub_ps(_mm256_add_ps(_mm256_loadu_ps(z + i), _mm256_loadu_ps(u + i)), mv));
        _mm256_storeu_pd(q + i, _mm256_fmadd_pd(av, _mm256_cvtps_pd(_mm256_castps256_ps128(e)), _mm256_loadu_pd(q + i)));
        _mm256_storeu_pd(q + i + 4, _mm256_fmadd_pd(av, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)), _mm256_loadu_pd(q + i + 4)));
    }
    for (; i < n; i++) q[i] += a * expf((z[i] + u[i]) - m);
}

// g[d] += sum_{j<nr} r[j] * w[j*ldw + d]   for d < n: the nr products of each d are summed in
// f32 (r[0] w_0 first, then fused multiply-adds in j order), then added to the double g.
// 64 columns at a time (8 accumulators), so each row is read in 256-byte runs.
void ss_slot_gacc_avx2(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n) {
    int64_t d = 0;
    for (; d + 64 <= n; d += 64) {
        __m256 a[8];
        const __m256 r0 = _mm256_set1_ps(r[0]);
        for (int h = 0; h < 8; h++) a[h] = _mm256_mul_ps(r0, _mm256_loadu_ps(w + d + 8 * h));
        for (int j = 1; j < nr; j++) {
            const __m256 rj = _mm256_set1_ps(r[j]);
            const float *wj = w + (int64_t)j * ldw + d;
            for (int h = 0; h < 8; h++) a[h] = _mm256_fmadd_ps(rj, _mm256_loadu_ps(wj + 8 * h), a[h]);
        }
        for (int h = 0; h < 8; h++) {
            double *gd = g + d + 8 * h;
            _mm256_storeu_pd(gd, _mm256_add_pd(_mm256_loadu_pd(gd), _mm256_cvtps_pd(_mm256_castps256_ps128(a[h]))));
            _mm256_storeu_pd(gd + 4, _mm256_add_pd(_mm256_loadu_pd(gd + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(a[h], 1))));
        }
    }
    for (; d + 8 <= n; d += 8) {
        __m256 a = _mm256_mul_ps(_mm256_set1_ps(r[0]), _mm256_loadu_ps(w + d));
        for (int j = 1; j < nr; j++) a = _mm256_fmadd_ps(_mm256_set1_ps(r[j]), _mm256_loadu_ps(w + (int64_t)j * ldw + d), a);
        _mm256_storeu_pd(g + d, _mm256_add_pd(_mm256_loadu_pd(g + d), _mm256_cvtps_pd(_mm256_castps256_ps128(a))));
        _mm256_storeu_pd(g + d + 4, _mm256_add_pd(_mm256_loadu_pd(g + d + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1))));
    }
    for (; d < n; d++) {
        float a = r[0] * w[d];
        for (int j = 1; j < nr; j++) a = __builtin_fmaf(r[j], w[(int64_t)j * ldw + d], a);
        g[d] += a;
    }
}

// ---------------------------------------------------------------- Q8_0 rows without dequantizing
// (the u and gradient passes read all of W every step; decoding a Q8_0 block in registers instead
// of writing and reading back f32 rows makes them about as fast as reading W)

// 8 int8 -> 8 f32
static inline __m256 slot_i8_ps(const int8_t *q) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q)));
}

// sum_{k<32} q[k] * x[k] for one block (f32 products of exact integers, 8 lanes)
static inline __m256 slot_q8_dot32(const int8_t *q, __m256 x0, __m256 x1, __m256 x2, __m256 x3) {
    __m256 s = _mm256_mul_ps(slot_i8_ps(q), x0);
    s = _mm256_fmadd_ps(slot_i8_ps(q + 8), x1, s);
    s = _mm256_fmadd_ps(slot_i8_ps(q + 16), x2, s);
    return _mm256_fmadd_ps(slot_i8_ps(q + 24), x3, s);
}

// Both stream W from memory with little work per byte: software prefetches SLOT_PF_ROWS rows
// ahead keep enough loads in flight (measured on Qwen2.5-0.5B's head, 1 thread: u pass 22 -> 15 ms,
// gradient 28 -> 18 ms; a hint only: addresses past the end of W are harmless).
#define SLOT_PF_ROWS 32

// out[r] = sum_b d_rb * (sum_{k<32} q_rbk x[32b + k])   for nr Q8_0 rows of ldw bytes, n % 32 == 0
void ss_slot_dot_q8_0_avx2(const float *x, const void *w, size_t ldw, int nr, int64_t n, float *out) {
    const int64_t nb = n / SS_QK;
    int r = 0;
    for (; r + 4 <= nr; r += 4) {
        const ss_block_q8_0 *b0 = (const ss_block_q8_0 *)((const char *)w + (size_t)r * ldw);
        const ss_block_q8_0 *b1 = (const ss_block_q8_0 *)((const char *)b0 + ldw);
        const ss_block_q8_0 *b2 = (const ss_block_q8_0 *)((const char *)b1 + ldw);
        const ss_block_q8_0 *b3 = (const ss_block_q8_0 *)((const char *)b2 + ldw);
        const char *pf = (const char *)b0 + (size_t)SLOT_PF_ROWS * ldw;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < nb; i++) {
            if ((i & 1) == 0)   // two 34-byte blocks per 64-byte line
                for (int j = 0; j < 4; j++) _mm_prefetch(pf + j * ldw + sizeof(ss_block_q8_0) * i, _MM_HINT_T0);
            const float *xi = x + SS_QK * i;
            const __m256 x0 = _mm256_loadu_ps(xi), x1 = _mm256_loadu_ps(xi + 8);
            const __m256 x2 = _mm256_loadu_ps(xi + 16), x3 = _mm256_loadu_ps(xi + 24);
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b0[i].d)), slot_q8_dot32(b0[i].qs, x0, x1, x2, x3), a0);
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b1[i].d)), slot_q8_dot32(b1[i].qs, x0, x1, x2, x3), a1);
            a2 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b2[i].d)), slot_q8_dot32(b2[i].qs, x0, x1, x2, x3), a2);
            a3 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b3[i].d)), slot_q8_dot32(b3[i].qs, x0, x1, x2, x3), a3);
        }
        out[r] = slot_hsum_ps(a0); out[r + 1] = slot_hsum_ps(a1);
        out[r + 2] = slot_hsum_ps(a2); out[r + 3] = slot_hsum_ps(a3);
    }
    for (; r < nr; r++) {
        const ss_block_q8_0 *b0 = (const ss_block_q8_0 *)((const char *)w + (size_t)r * ldw);
        __m256 a0 = _mm256_setzero_ps();
        for (int64_t i = 0; i < nb; i++) {
            const float *xi = x + SS_QK * i;
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b0[i].d)),
                                 slot_q8_dot32(b0[i].qs, _mm256_loadu_ps(xi), _mm256_loadu_ps(xi + 8),
                                               _mm256_loadu_ps(xi + 16), _mm256_loadu_ps(xi + 24)), a0);
        }
        out[r] = slot_hsum_ps(a0);
    }
}

// g[k] += sum_{j<nr} (r[j] * d_jb) * q_jbk   for k = 32b + (0..31) < n, nr Q8_0 rows of ldw bytes:
// the nr products of each k are summed in f32, then added to the double g
void ss_slot_gacc_q8_0_avx2(double *g, const float *r, const void *w, size_t ldw, int nr, int64_t n) {
    const int64_t nb = n / SS_QK;
    const char *pf = (const char *)w + (size_t)SLOT_PF_ROWS * ldw;
    for (int64_t i = 0; i < nb; i++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        if ((i & 1) == 0)
            for (int j = 0; j < nr; j++) _mm_prefetch(pf + (size_t)j * ldw + sizeof(ss_block_q8_0) * i, _MM_HINT_T0);
        for (int j = 0; j < nr; j++) {
            const ss_block_q8_0 *b = (const ss_block_q8_0 *)((const char *)w + (size_t)j * ldw) + i;
            const __m256 c = _mm256_set1_ps(r[j] * _cvtsh_ss(b->d));
            a0 = _mm256_fmadd_ps(c, slot_i8_ps(b->qs), a0);
            a1 = _mm256_fmadd_ps(c, slot_i8_ps(b->qs + 8), a1);
            a2 = _mm256_fmadd_ps(c, slot_i8_ps(b->qs + 16), a2);
            a3 = _mm256_fmadd_ps(c, slot_i8_ps(b->qs + 24), a3);
        }
        double *gi = g + SS_QK * i;
        const __m256 a[4] = { a0, a1, a2, a3 };
        for (int h = 0; h < 4; h++) {
            _mm256_storeu_pd(gi + 8 * h, _mm256_add_pd(_mm256_loadu_pd(gi + 8 * h), _mm256_cvtps_pd(_mm256_castps256_ps128(a[h]))));
            _mm256_storeu_pd(gi + 8 * h + 4, _mm256_add_pd(_mm256_loadu_pd(gi + 8 * h + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(a[h], 1))));
        }
    }
}
