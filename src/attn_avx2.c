// attn_avx2.c — attention inner loops on the KV cache (AVX2 + FMA + F16C).
#include <immintrin.h>
#include <stdint.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Σ q[i]·k[i], k in F16 (n multiple of 8)
float ss_attn_dot_f16_avx2(const float *q, const uint16_t *k, int n);
float ss_attn_dot_f16_avx2(const float *q, const uint16_t *k, int n) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i))), acc);
    return hsum256(acc);
}

float ss_attn_dot_f32_avx2(const float *q, const float *k, int n);
float ss_attn_dot_f32_avx2(const float *q, const float *k, int n) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), acc);
    return hsum256(acc);
}

// o[i] += p · v[i], v in F16 (n multiple of 8)
void ss_attn_axpy_f16_avx2(float *o, float p, const uint16_t *v, int n);
void ss_attn_axpy_f16_avx2(float *o, float p, const uint16_t *v, int n) {
    __m256 pp = _mm256_set1_ps(p);
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(pp, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i))), _mm256_loadu_ps(o + i)));
}

void ss_attn_axpy_f32_avx2(float *o, float p, const float *v, int n);
void ss_attn_axpy_f32_avx2(float *o, float p, const float *v, int n) {
    __m256 pp = _mm256_set1_ps(p);
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(pp, _mm256_loadu_ps(v + i), _mm256_loadu_ps(o + i)));
}
