// attn_avx2.c — attention inner loops on the KV cache (AVX2 + FMA + F16C), and the F16
// conversions of the forward pass (round-to-nearest-even, identical to ss_fp32_to_fp16).
#include "ss_avx2.h"
#include <immintrin.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Σ q[i]·k[i], k in F16 (n multiple of 8)
float ss_attn_dot_f16_avx2(const float *q, const uint16_t *k, int n) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i))), acc);
    return hsum256(acc);
}

float ss_attn_dot_f32_avx2(const float *q, const float *k, int n) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), acc);
    return hsum256(acc);
}

// o[i] += p · v[i], v in F16 (n multiple of 8)
void ss_attn_axpy_f16_avx2(float *o, float p, const uint16_t *v, int n) {
    __m256 pp = _mm256_set1_ps(p);
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(pp, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i))), _mm256_loadu_ps(o + i)));
}

void ss_attn_axpy_f32_avx2(float *o, float p, const float *v, int n) {
    __m256 pp = _mm256_set1_ps(p);
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(pp, _mm256_loadu_ps(v + i), _mm256_loadu_ps(o + i)));
}

// ---- several query heads sharing one K/V row (GQA): the row is loaded and converted once

static inline __m256 load_kv(const void *p, int f16, int i) {
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i))) : _mm256_loadu_ps((const float *)p + i);
}

// s[g] = q[g*n .. g*n+n) · k for g < G (G <= 8; n multiple of 8). Every s[g] is the same
// sum, in the same order, as ss_attn_dot_*_avx2(q + g*n, k, n).
void ss_attn_dots_avx2(const float *q, int G, const void *k, int f16, int n, float *s) {
    __m256 acc[8];
    for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) {
        const __m256 kv = load_kv(k, f16, i);
        for (int g = 0; g < G; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)g * n + i), kv, acc[g]);
    }
    for (int g = 0; g < G; g++) s[g] = hsum256(acc[g]);
}

// o[g*n + i] += p[g*p_stride] · v[i] for g < G (n multiple of 8); the same operations as
// ss_attn_axpy_*_avx2 for each g
void ss_attn_axpys_avx2(float *o, int G, const float *p, size_t p_stride, const void *v, int f16, int n) {
    for (int i = 0; i < n; i += 8) {
        const __m256 vv = load_kv(v, f16, i);
        for (int g = 0; g < G; g++) {
            float *og = o + (size_t)g * n + i;
            _mm256_storeu_ps(og, _mm256_fmadd_ps(_mm256_set1_ps(p[g * p_stride]), vv, _mm256_loadu_ps(og)));
        }
    }
}

// ---- F16 conversions (round to nearest even; NaN stays NaN)

// y[i] = f16(x[i])
void ss_f32_to_f16_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = (uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

// y[i] = f32(f16(x[i])) (x == y allowed)
void ss_round_f16_avx2(const float *x, float *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = _cvtsh_ss((uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}
