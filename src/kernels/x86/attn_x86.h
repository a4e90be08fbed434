// attn_x86.h — the parts of the attention block kernels that attn_avx2.c and attn_avx512.c share:
// the reductions of the 8 lane chains of a score, and the online softmax of one row over one key
// block. Both files use these same inline functions, so the two kernels give the same bits (every
// fused multiply-add is written out: the compiler contracts nothing here).
#ifndef SS_ATTN_X86_H
#define SS_ATTN_X86_H
#include "ss_avx2.h"
#include "ss_attn.h"
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// [hsum256(a0), .., hsum256(a7)] with hsum256's order per key: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))
static inline __m256 sums8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
    // per key: A = l0+l4, B = l1+l5, C = l2+l6, D = l3+l7 (two keys per vector: [key a | key b])
    const __m256 x01 = _mm256_add_ps(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));
    const __m256 x23 = _mm256_add_ps(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));
    const __m256 x45 = _mm256_add_ps(_mm256_permute2f128_ps(a4, a5, 0x20), _mm256_permute2f128_ps(a4, a5, 0x31));
    const __m256 x67 = _mm256_add_ps(_mm256_permute2f128_ps(a6, a7, 0x20), _mm256_permute2f128_ps(a6, a7, 0x31));
    // A+C, B+D: [k0: A+C, B+D, k2: A+C, B+D | k1 .., k3 ..]
    const __m256 u03 = _mm256_add_ps(_mm256_shuffle_ps(x01, x23, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(x01, x23, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 u47 = _mm256_add_ps(_mm256_shuffle_ps(x45, x67, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(x45, x67, _MM_SHUFFLE(3, 2, 3, 2)));
    // (A+C) + (B+D): [k0 k2 k4 k6 | k1 k3 k5 k7], then in key order
    const __m256 w = _mm256_add_ps(_mm256_shuffle_ps(u03, u47, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(u03, u47, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// the valid-key masks of a row that sees nk keys of the block
static inline void key_masks(int nk, __m256 mask[4]) {
    const __m256 iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    for (int c = 0; c < 4; c++) mask[c] = _mm256_cmp_ps(_mm256_add_ps(iota, _mm256_set1_ps((float)(8 * c))), _mm256_set1_ps((float)nk), _CMP_LT_OQ);
}

// e[32] = exp(d·scale - m) on the valid keys, 0 elsewhere (garbage scores past nk never reach exp)
static inline void row_exp(const __m256 d[4], const __m256 mask[4], float scale, float m, float *e) {
    const __m256 sc = _mm256_set1_ps(scale), mv = _mm256_set1_ps(m);
    for (int c = 0; c < 4; c++)
        _mm256_storeu_ps(e + 8 * c, _mm256_blendv_ps(_mm256_setzero_ps(), _mm256_fmsub_ps(d[c], sc, mv), mask[c]));
    ss_expf_avx2(e, SS_ATTN_BLOCK);
    for (int c = 0; c < 4; c++) _mm256_storeu_ps(e + 8 * c, _mm256_and_ps(_mm256_loadu_ps(e + 8 * c), mask[c]));
}

// pass 1 of one row: m' = max(m, max s), l = l·exp(m - m') + Σ exp(s - m')
static inline void row_pass1(const __m256 d[4], int nk, float scale, float *m, float *l) {
    const __m256 sc = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    __m256 mask[4], mx = ninf;
    key_masks(nk, mask);
    for (int c = 0; c < 4; c++) mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, _mm256_mul_ps(d[c], sc), mask[c]));
    const float mb = hmax256(mx), m1 = *m > mb ? *m : mb;
    float e[SS_ATTN_BLOCK];
    row_exp(d, mask, scale, m1, e);
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(e), _mm256_loadu_ps(e + 8)),
                                     _mm256_add_ps(_mm256_loadu_ps(e + 16), _mm256_loadu_ps(e + 24)));
    *l = fmaf(*l, expf(*m - m1), hsum256(sum));   // exp(-inf) = 0 on the first block
    *m = m1;
}

// p[32] = f16?(exp(s_t - m)·inv) on the row's valid keys t < nk, 0 elsewhere (s_t = d_t·scale)
static inline void row_weights(const __m256 d[4], int nk, float scale, float m, float inv, bool f16, float *p) {
    __m256 mask[4];
    key_masks(nk, mask);
    row_exp(d, mask, scale, m, p);
    for (int c = 0; c < 4; c++) {
        __m256 x = _mm256_mul_ps(_mm256_loadu_ps(p + 8 * c), _mm256_set1_ps(inv));
        if (f16) x = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
        _mm256_storeu_ps(p + 8 * c, x);
    }
}

#endif
