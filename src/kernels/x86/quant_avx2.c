// quant_avx2.c — AVX2/FMA/F16C kernels (compiled with -mavx2 -mfma -mf16c; reached through the
// dispatch table, ss_kernels.h). Each returns false for types it does not handle (the table then
// uses the scalar reference).
//
// Dot products: one weight row against nr (1..SS_VEC_DOT_MAX_NR) activation rows; every
// weight block is decoded into registers once and multiplied with the nr activation blocks.
// Integer parts are exact (same integers as the scalar kernels); only the float accumulation
// order differs from ../quant.c. Byte products use maddubs (unsigned x signed -> int16 pairs,
// no saturation for our ranges: at most 2*63*127 = 16002) and madd (int16 pairs -> int32).
//
// Activation conversion (Q8_0, Q8_1, Q8_K, F16, BF16) is bit-identical to the scalar one.
//
// Matrix-matrix products (ss_gemm_avx2, the matmul's path): register tiles of a few weight rows ×
// a few activation rows on packed activations (see the section "matrix-matrix"); with one
// activation row they are the decode path and prefetch the weights ahead. Element-wise: silu*up
// and exp (ggml's vector expf).
#include "ss_avx2.h"
#include <immintrin.h>
#include <string.h>

#define NRMAX SS_VEC_DOT_MAX_NR
#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE float hsum_ps(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

static ALWAYS_INLINE int hsum_epi32_128(__m128i x) {
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(x);
}

static ALWAYS_INLINE float h2f(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of packed nibbles -> 32 bytes: bytes 0..15 = low nibbles, 16..31 = high nibbles
static ALWAYS_INLINE __m256i unpack_nibbles(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

// 32 bits (little-endian qh[4]) -> 32 bytes, byte j = 0xFF if bit j is set else 0
static ALWAYS_INLINE __m256i bits_to_bytes(const uint8_t *qh) {
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL,
                                            0x0202020202020202LL, 0x0303030303030303LL);
    // (a broadcast straight from memory is a load, no vector ALU work)
    __m256i bytes = _mm256_shuffle_epi8(_mm256_broadcastd_epi32(_mm_loadu_si32(qh)), shuf);   // byte j = qh[j/8]
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfeLL)); // all bits but j%8
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// sum of products of signed bytes, per group of 4 -> 8 int32 (x may be -128, y may not)
static ALWAYS_INLINE __m256i dot_i8(__m256i x, __m256i y) {
    __m256i ax = _mm256_sign_epi8(x, x), sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

// unsigned bytes (0..63) times signed bytes, per group of 4 -> 8 int32
static ALWAYS_INLINE __m256i dot_u8i8(__m256i ux, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, y), _mm256_set1_epi16(1));
}

// ------------------------------------------------------------------------------ 32-blocks

// Q4_0 / Q5_0 / Q8_0 against Q8_0: sum_blocks dx*dy * sum(qx*qy), qx signed
static ALWAYS_INLINE void dot_q4_0(int nr, int64_t nb, float *s, const ss_block_q4_0 *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float dx = h2f(x[i].d);
        const __m256i qx = _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8));
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_0 *b = (const ss_block_q8_0 *)(y + r * ys) + i;
            __m256i p = dot_i8(qx, _mm256_loadu_si256((const __m256i *)b->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(b->d)), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]);
}

static ALWAYS_INLINE void dot_q5_0(int nr, int64_t nb, float *s, const ss_block_q5_0 *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float dx = h2f(x[i].d);
        // q - 16 = nibble - 16 + 16*hbit: set the top nibble (0xF0) where the 5th bit is 0
        __m256i hi = _mm256_andnot_si256(bits_to_bytes(x[i].qh), _mm256_set1_epi8((char)0xF0));
        const __m256i qx = _mm256_or_si256(unpack_nibbles(x[i].qs), hi);
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_0 *b = (const ss_block_q8_0 *)(y + r * ys) + i;
            __m256i p = dot_i8(qx, _mm256_loadu_si256((const __m256i *)b->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(b->d)), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]);
}

static ALWAYS_INLINE void dot_q8_0(int nr, int64_t nb, float *s, const ss_block_q8_0 *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float dx = h2f(x[i].d);
        const __m256i qx = _mm256_loadu_si256((const __m256i *)x[i].qs);
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_0 *b = (const ss_block_q8_0 *)(y + r * ys) + i;
            __m256i p = dot_i8(qx, _mm256_loadu_si256((const __m256i *)b->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(b->d)), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]);
}

// Q4_1 / Q5_1 against Q8_1: sum_blocks dx*dy * sum(qx*qy) + m * s_y, qx unsigned
static ALWAYS_INLINE void dot_q4_1(int nr, int64_t nb, float *s, const ss_block_q4_1 *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    float summ[NRMAX];
    for (int r = 0; r < nr; r++) { acc[r] = _mm256_setzero_ps(); summ[r] = 0; }
    for (int64_t i = 0; i < nb; i++) {
        const float dx = h2f(x[i].d), mx = h2f(x[i].m);
        const __m256i qx = unpack_nibbles(x[i].qs);
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_1 *b = (const ss_block_q8_1 *)(y + r * ys) + i;
            __m256i p = dot_u8i8(qx, _mm256_loadu_si256((const __m256i *)b->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(b->d)), _mm256_cvtepi32_ps(p), acc[r]);
            summ[r] += mx * h2f(b->s);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]) + summ[r];
}

static ALWAYS_INLINE void dot_q5_1(int nr, int64_t nb, float *s, const ss_block_q5_1 *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    float summ[NRMAX];
    for (int r = 0; r < nr; r++) { acc[r] = _mm256_setzero_ps(); summ[r] = 0; }
    for (int64_t i = 0; i < nb; i++) {
        const float dx = h2f(x[i].d), mx = h2f(x[i].m);
        const __m256i hi = ss_bits_to_0x10(x[i].qh);
        const __m256i qx = _mm256_or_si256(unpack_nibbles(x[i].qs), hi);
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_1 *b = (const ss_block_q8_1 *)(y + r * ys) + i;
            __m256i p = dot_u8i8(qx, _mm256_loadu_si256((const __m256i *)b->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(b->d)), _mm256_cvtepi32_ps(p), acc[r]);
            summ[r] += mx * h2f(b->s);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]) + summ[r];
}

// ------------------------------------------------------------------------------ K-quants

// the 12 packed bytes -> sc[0..7] (bytes 0..7) and m[0..7] (bytes 8..15), as ss_get_scale_min_k4
static ALWAYS_INLINE void unpack_scales_k4(const uint8_t *scales, uint32_t utmp[4]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    memcpy(utmp, scales, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);   // m[4..7]
    const uint32_t uaux = utmp[1] & kmask1;                                     // m[0..3]
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);           // sc[4..7]
    utmp[2] = uaux;
    utmp[0] &= kmask1;                                                          // sc[0..3]
}

// sum_j m_j * (bsums[2j] + bsums[2j+1]) for j = 0..7
static ALWAYS_INLINE int k_min_sum(const uint8_t *mins8, const int16_t *bsums) {
    __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mins8));
    __m128i b0 = _mm_loadu_si128((const __m128i *)bsums), b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    __m128i bs = _mm_hadd_epi16(b0, b1);                 // sums of pairs: sub-blocks of 32
    return hsum_epi32_128(_mm_madd_epi16(m16, bs));
}

// Q4_K / Q5_K against Q8_K: per super-block d*dy*sum_j sc_j (q.qy)_j - dmin*dy*sum_j m_j sum(qy)_j
static ALWAYS_INLINE void dot_q4_K(int nr, int64_t nb, float *s, const ss_block_q4_K *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    float accm[NRMAX];
    for (int r = 0; r < nr; r++) { acc[r] = _mm256_setzero_ps(); accm[r] = 0; }
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < nb; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        uint32_t utmp[4];
        unpack_scales_k4(x[i].scales, utmp);
        const uint8_t *sc = (const uint8_t *)utmp, *mn = sc + 8;
        __m256i sumi[NRMAX];
        for (int r = 0; r < nr; r++) sumi[r] = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++) {
            const __m256i q4 = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));
            const __m256i q4l = _mm256_and_si256(q4, m4), q4h = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
            const __m256i scl = _mm256_set1_epi16(sc[2 * g]), sch = _mm256_set1_epi16(sc[2 * g + 1]);
            for (int r = 0; r < nr; r++) {
                const int8_t *q8 = ((const ss_block_q8_K *)(y + r * ys))[i].qs + 64 * g;
                __m256i pl = _mm256_maddubs_epi16(q4l, _mm256_loadu_si256((const __m256i *)q8));
                __m256i ph = _mm256_maddubs_epi16(q4h, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(_mm256_madd_epi16(scl, pl), _mm256_madd_epi16(sch, ph)));
            }
        }
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_K *b = (const ss_block_q8_K *)(y + r * ys) + i;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * b->d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            accm[r] += dmin * b->d * (float)k_min_sum(mn, b->bsums);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]) - accm[r];
}

static ALWAYS_INLINE void dot_q5_K(int nr, int64_t nb, float *s, const ss_block_q5_K *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    float accm[NRMAX];
    for (int r = 0; r < nr; r++) { acc[r] = _mm256_setzero_ps(); accm[r] = 0; }
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < nb; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        uint32_t utmp[4];
        unpack_scales_k4(x[i].scales, utmp);
        const uint8_t *sc = (const uint8_t *)utmp, *mn = sc + 8;
        const __m256i hbits = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi[NRMAX];
        for (int r = 0; r < nr; r++) sumi[r] = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++) {
            const __m256i q4 = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));
            // 5th bit of sub-block 2g / 2g+1 is bit 2g / 2g+1 of qh[l]
            __m256i hl = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * g)), one), 4);
            __m256i hh = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * g + 1)), one), 4);
            const __m256i q5l = _mm256_or_si256(_mm256_and_si256(q4, m4), hl);
            const __m256i q5h = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), m4), hh);
            const __m256i scl = _mm256_set1_epi16(sc[2 * g]), sch = _mm256_set1_epi16(sc[2 * g + 1]);
            for (int r = 0; r < nr; r++) {
                const int8_t *q8 = ((const ss_block_q8_K *)(y + r * ys))[i].qs + 64 * g;
                __m256i pl = _mm256_maddubs_epi16(q5l, _mm256_loadu_si256((const __m256i *)q8));
                __m256i ph = _mm256_maddubs_epi16(q5h, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(_mm256_madd_epi16(scl, pl), _mm256_madd_epi16(sch, ph)));
            }
        }
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_K *b = (const ss_block_q8_K *)(y + r * ys) + i;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * b->d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            accm[r] += dmin * b->d * (float)k_min_sum(mn, b->bsums);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]) - accm[r];
}

// Q6_K against Q8_K: d*dy * sum_{16 sub-blocks} sc_j sum (q-32)*qy, with q in 0..63 unsigned and
// the -32 applied as maddubs(q, qy) - maddubs(32, qy)
static ALWAYS_INLINE void dot_q6_K(int nr, int64_t nb, float *s, const ss_block_q6_K *x, const uint8_t *y, size_t ys) {
    __m256 acc[NRMAX];
    for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3), m32 = _mm256_set1_epi8(32);
    for (int64_t i = 0; i < nb; i++) {
        const float d = h2f(x[i].d);
        __m256i sumi[NRMAX];
        for (int r = 0; r < nr; r++) sumi[r] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
            const int8_t *sc = x[i].scales + 8 * h;
            for (int k = 0; k < 4; k++) {
                // values 32k..32k+15 use scale sc[2k], 32k+16..32k+31 use sc[2k+1]
                const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                for (int r = 0; r < nr; r++) {
                    const int8_t *q8 = ((const ss_block_q8_K *)(y + r * ys))[i].qs + 128 * h + 32 * k;
                    const __m256i qy = _mm256_loadu_si256((const __m256i *)q8);
                    __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], qy), _mm256_maddubs_epi16(m32, qy));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(scv, p));
                }
            }
        }
        for (int r = 0; r < nr; r++) {
            const ss_block_q8_K *b = (const ss_block_q8_K *)(y + r * ys) + i;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * b->d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
        }
    }
    for (int r = 0; r < nr; r++) s[r] = hsum_ps(acc[r]);
}

// ------------------------------------------------------------------------------ float types

static ALWAYS_INLINE __m256 load_f32(const void *p) { return _mm256_loadu_ps((const float *)p); }
static ALWAYS_INLINE __m256 load_f16(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static ALWAYS_INLINE __m256 load_bf16(const void *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

// kind 0 = f32, 1 = f16, 2 = bf16; element size es; 16 elements per step in two accumulators
static ALWAYS_INLINE __m256 load_kind(int kind, const uint8_t *p) {
    return kind == 0 ? load_f32(p) : kind == 1 ? load_f16(p) : load_bf16(p);
}
static ALWAYS_INLINE float scalar_kind(int kind, const uint8_t *p) {
    if (kind == 0) { float f; memcpy(&f, p, 4); return f; }
    uint16_t h; memcpy(&h, p, 2);
    return kind == 1 ? h2f(h) : ss_bf16_to_fp32(h);
}

static ALWAYS_INLINE void dot_float(int kind, int nr, int64_t n, float *s, const uint8_t *x, const uint8_t *y, size_t ys) {
    const int es = kind == 0 ? 4 : 2;
    __m256 a0[NRMAX], a1[NRMAX];
    for (int r = 0; r < nr; r++) { a0[r] = _mm256_setzero_ps(); a1[r] = _mm256_setzero_ps(); }
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = load_kind(kind, x + i * es), w1 = load_kind(kind, x + (i + 8) * es);
        for (int r = 0; r < nr; r++) {
            a0[r] = _mm256_fmadd_ps(w0, load_kind(kind, y + r * ys + i * es), a0[r]);
            a1[r] = _mm256_fmadd_ps(w1, load_kind(kind, y + r * ys + (i + 8) * es), a1[r]);
        }
    }
    for (int r = 0; r < nr; r++) {
        float sum = hsum_ps(_mm256_add_ps(a0[r], a1[r]));
        for (int64_t j = i; j < n; j++) sum += scalar_kind(kind, x + j * es) * scalar_kind(kind, y + r * ys + j * es);
        s[r] = sum;
    }
}

// ------------------------------------------------------------------------------ dispatch

#define DISPATCH_NR(call)                                  \
    switch (nr) {                                          \
    case 1: { const int NR = 1; call; } break;             \
    case 2: { const int NR = 2; call; } break;             \
    case 3: { const int NR = 3; call; } break;             \
    default: { const int NR = 4; call; } break;            \
    }

bool ss_vec_dot_avx2(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq,
                     size_t xq_stride, int nr) {
    const uint8_t *y = xq;
    if (nr < 1) return true;
    if (nr > NRMAX) {                     // split larger requests
        for (int r = 0; r < nr; r += NRMAX)
            ss_vec_dot_avx2(wtype, n, s + r, w, y + r * xq_stride, xq_stride, nr - r < NRMAX ? nr - r : NRMAX);
        return true;
    }
    switch (wtype) {
    case SS_TYPE_F32:  DISPATCH_NR(dot_float(0, NR, n, s, w, y, xq_stride)); return true;
    case SS_TYPE_F16:  DISPATCH_NR(dot_float(1, NR, n, s, w, y, xq_stride)); return true;
    case SS_TYPE_BF16: DISPATCH_NR(dot_float(2, NR, n, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q4_0: DISPATCH_NR(dot_q4_0(NR, n / SS_QK, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q4_1: DISPATCH_NR(dot_q4_1(NR, n / SS_QK, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q5_0: DISPATCH_NR(dot_q5_0(NR, n / SS_QK, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q5_1: DISPATCH_NR(dot_q5_1(NR, n / SS_QK, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q8_0: DISPATCH_NR(dot_q8_0(NR, n / SS_QK, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q4_K: DISPATCH_NR(dot_q4_K(NR, n / SS_QK_K, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q5_K: DISPATCH_NR(dot_q5_K(NR, n / SS_QK_K, s, w, y, xq_stride)); return true;
    case SS_TYPE_Q6_K: DISPATCH_NR(dot_q6_K(NR, n / SS_QK_K, s, w, y, xq_stride)); return true;
    default: return false;
    }
}

// ------------------------------------------------------------------------------ activation conversion

static ALWAYS_INLINE float hmax_ps(__m256 x) {
    __m128 r = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// 32 floats times id, rounded half-to-even, -> 32 int8 stored at q; returns sum of the ints
static ALWAYS_INLINE int round_store_32(const __m256 v[4], float id, int8_t *q) {
    const __m256 mul = _mm256_set1_ps(id);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[0], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[1], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[2], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[3], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    // int32 -> int16 -> int8 (packs interleave the 128-bit lanes; undo with a permute)
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p);
    return hsum_epi32_128(s4);
}

// one block of 32 activations for Q8_0 / Q8_1 (as ggml's AVX2 quantize_row_q8_0): loads v[4];
// returns d = amax/127 and sets *id = 127/amax (0 for an all-zero block)
static ALWAYS_INLINE float q8_0_block_load(const float *x, __m256 v[4], float *id) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    const float m = hmax_ps(amax);
    *id = m != 0.0f ? 127.f / m : 0.0f;
    return m / 127.f;
}

// Q8_0 / Q8_1 (as ggml's AVX2 quantize_row_q8_0/_1): d = amax/127, q = rne(x * 127/amax)
static void quant_q8_0_avx2(const float *x, ss_block_q8_0 *y, int64_t nb, ss_block_q8_1 *y1) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        __m256 v[4];
        float id;
        const float d = q8_0_block_load(x, v, &id);
        if (y1) {
            int sum = round_store_32(v, id, y1[i].qs);
            y1[i].d = ss_fp32_to_fp16(d);
            y1[i].s = ss_fp32_to_fp16((float)sum * d);
        } else {
            round_store_32(v, id, y[i].qs);
            y[i].d = ss_fp32_to_fp16(d);
        }
    }
}

// Q8_K (ggml's quantize_row_q8_K_ref): max = the value of largest magnitude (first one),
// iscale = -127/max, q = min(127, rne(iscale*x)), d = 1/iscale (0 and q = 0 for a zero block)
static float q8_K_block_round(const float *x, int8_t qs[SS_QK_K]) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 amaxv = _mm256_setzero_ps();
    for (int k = 0; k < SS_QK_K; k += 8) amaxv = _mm256_max_ps(amaxv, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
    const float amax = hmax_ps(amaxv);
    if (amax == 0.0f) {
        memset(qs, 0, SS_QK_K);
        return 0.0f;
    }
    float max = 0;
    for (int k = 0; k < SS_QK_K; k++)
        if (__builtin_fabsf(x[k]) == amax) { max = x[k]; break; }
    const float iscale = -127.f / max;
    for (int k = 0; k < SS_QK_K; k += 32) {
        __m256 v[4] = {_mm256_loadu_ps(x + k), _mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(x + k + 16), _mm256_loadu_ps(x + k + 24)};
        round_store_32(v, iscale, qs + k);   // |iscale*x| <= 127: packs never saturate
    }
    return 1 / iscale;
}

// bsums[j] = Σ of the 16 values qs[16j .. 16j+15]
static void q8_K_bsums(const int8_t qs[SS_QK_K], int16_t bsums[SS_QK_K / 16]) {
    for (int j = 0; j < SS_QK_K / 16; j++) {
        __m128i q = _mm_loadu_si128((const __m128i *)(qs + 16 * j));
        __m128i s16 = _mm_madd_epi16(_mm_cvtepi8_epi16(q), _mm_set1_epi16(1));
        s16 = _mm_add_epi32(s16, _mm_madd_epi16(_mm_cvtepi8_epi16(_mm_srli_si128(q, 8)), _mm_set1_epi16(1)));
        bsums[j] = (int16_t)hsum_epi32_128(s16);
    }
}

static void quant_q8_K_avx2(const float *x, ss_block_q8_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK_K) {
        y[i].d = q8_K_block_round(x, y[i].qs);
        q8_K_bsums(y[i].qs, y[i].bsums);
    }
}

static void quant_f16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = ss_fp32_to_fp16(x[i]);
}

// bf16 = round-to-nearest-even of the top 16 bits; NaN -> quiet NaN
static void quant_bf16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int k = 0; k < 2; k++) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + i + 8 * k));
            __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
            __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd)), 16);
            __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
            __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
            r[k] = _mm256_blendv_epi8(rounded, nan, is_nan);
        }
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(y + i), p);
    }
    for (; i < n; i++) y[i] = ss_fp32_to_bf16(x[i]);
}

bool ss_quant_act_avx2(uint32_t vtype, const float *x, void *xq, int64_t n) {
    switch (vtype) {
    case SS_TYPE_Q8_0: quant_q8_0_avx2(x, xq, n / SS_QK, NULL); return true;
    case SS_TYPE_Q8_1: quant_q8_0_avx2(x, NULL, n / SS_QK, xq); return true;
    case SS_TYPE_Q8_K: quant_q8_K_avx2(x, xq, n / SS_QK_K); return true;
    case SS_TYPE_F16:  quant_f16_avx2(x, xq, n); return true;
    case SS_TYPE_BF16: quant_bf16_avx2(x, xq, n); return true;
    default: return false;
    }
}

void ss_fp16_to_fp32_row_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16(x + i));
    for (; i < n; i++) y[i] = _cvtsh_ss(x[i]);
}

// ------------------------------------------------------------------------------ dequantization
// Bit-identical to the scalar loops of ../quant.c: the same float operations in the same order
// (y = (d*sc)*q, then + m or - m), so FMA contraction must stay off here.
#if defined(__clang__)
#pragma clang fp contract(off)          // (clang: to the end of the file)
#else
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

// y[0..31] = q[k]*d (+ m) for 32 signed bytes q; d_lo for elements 0..15, d_hi for 16..31
static ALWAYS_INLINE void store_deq32(float *y, __m256i q, __m256 d_lo, __m256 d_hi, __m256 m_lo, __m256 m_hi, int add_m) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d_lo);
    __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d_lo);
    __m256 v2 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d_hi);
    __m256 v3 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d_hi);
    if (add_m) {
        v0 = _mm256_add_ps(v0, m_lo); v1 = _mm256_add_ps(v1, m_lo);
        v2 = _mm256_add_ps(v2, m_hi); v3 = _mm256_add_ps(v3, m_hi);
    }
    _mm256_storeu_ps(y, v0); _mm256_storeu_ps(y + 8, v1); _mm256_storeu_ps(y + 16, v2); _mm256_storeu_ps(y + 24, v3);
}

static void deq_q4_0(const ss_block_q4_0 *x, float *y, int64_t nb) {
    const __m256 z = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        store_deq32(y, _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8)), d, d, z, z, 0);
    }
}

static void deq_q4_1(const ss_block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d)), m = _mm256_set1_ps(h2f(x[i].m));
        store_deq32(y, unpack_nibbles(x[i].qs), d, d, m, m, 1);
    }
}

static void deq_q5_0(const ss_block_q5_0 *x, float *y, int64_t nb) {
    const __m256 z = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        __m256i hi = _mm256_andnot_si256(bits_to_bytes(x[i].qh), _mm256_set1_epi8((char)0xF0));
        store_deq32(y, _mm256_or_si256(unpack_nibbles(x[i].qs), hi), d, d, z, z, 0);
    }
}

static void deq_q5_1(const ss_block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d)), m = _mm256_set1_ps(h2f(x[i].m));
        const __m256i hi = ss_bits_to_0x10(x[i].qh);
        store_deq32(y, _mm256_or_si256(unpack_nibbles(x[i].qs), hi), d, d, m, m, 1);
    }
}

static void deq_q8_0(const ss_block_q8_0 *x, float *y, int64_t nb) {
    const __m256 z = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        store_deq32(y, _mm256_loadu_si256((const __m256i *)x[i].qs), d, d, z, z, 0);
    }
}

// Q4_K / Q5_K: y = (d*sc_j)*q - dmin*m_j, written as + (-(dmin*m_j)) (identical in IEEE)
static void deq_q45_K(const uint8_t *blocks, size_t bsize, int five, float *y, int64_t nb) {
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *b = blocks + i * bsize;
        uint16_t dh, mh;
        memcpy(&dh, b, 2); memcpy(&mh, b + 2, 2);
        const float d = h2f(dh), dmin = h2f(mh);
        uint32_t utmp[4];
        unpack_scales_k4(b + 4, utmp);
        const uint8_t *sc = (const uint8_t *)utmp, *mn = sc + 8;
        const uint8_t *qs = b + 16 + (five ? 32 : 0);
        const __m256i hbits = five ? _mm256_loadu_si256((const __m256i *)(b + 16)) : _mm256_setzero_si256();
        for (int g = 0; g < 4; g++, y += 64) {
            const __m256i q4 = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
            __m256i ql = _mm256_and_si256(q4, m4), qh = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
            if (five) {
                ql = _mm256_or_si256(ql, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * g)), one), 4));
                qh = _mm256_or_si256(qh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * g + 1)), one), 4));
            }
            const __m256 d1 = _mm256_set1_ps(d * sc[2 * g]), m1 = _mm256_set1_ps(-(dmin * mn[2 * g]));
            const __m256 d2 = _mm256_set1_ps(d * sc[2 * g + 1]), m2 = _mm256_set1_ps(-(dmin * mn[2 * g + 1]));
            store_deq32(y, ql, d1, d1, m1, m1, 1);
            store_deq32(y + 32, qh, d2, d2, m2, m2, 1);
        }
    }
}

// Q6_K: y = (d*sc_j)*(q-32), 16 values per scale
static void deq_q6_K(const ss_block_q6_K *x, float *y, int64_t nb) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3), m32 = _mm256_set1_epi8(32);
    const __m256 z = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float d = h2f(x[i].d);
        for (int h = 0; h < 2; h++, y += 128) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
            const int8_t *sc = x[i].scales + 8 * h;
            for (int k = 0; k < 4; k++)
                store_deq32(y + 32 * k, _mm256_sub_epi8(q[k], m32), _mm256_set1_ps(d * sc[2 * k]),
                            _mm256_set1_ps(d * sc[2 * k + 1]), z, z, 0);
        }
    }
}

static void deq_bf16(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_bf16(x + i));
    for (; i < n; i++) y[i] = ss_bf16_to_fp32(x[i]);
}

bool ss_dequant_row_avx2(uint32_t type, const void *x, float *y, int64_t n) {
    switch (type) {
    case SS_TYPE_F16:  ss_fp16_to_fp32_row_avx2(x, y, n); return true;
    case SS_TYPE_BF16: deq_bf16(x, y, n); return true;
    case SS_TYPE_Q4_0: deq_q4_0(x, y, n / SS_QK); return true;
    case SS_TYPE_Q4_1: deq_q4_1(x, y, n / SS_QK); return true;
    case SS_TYPE_Q5_0: deq_q5_0(x, y, n / SS_QK); return true;
    case SS_TYPE_Q5_1: deq_q5_1(x, y, n / SS_QK); return true;
    case SS_TYPE_Q8_0: deq_q8_0(x, y, n / SS_QK); return true;
    case SS_TYPE_Q4_K: deq_q45_K(x, sizeof(ss_block_q4_K), 0, y, n / SS_QK_K); return true;
    case SS_TYPE_Q5_K: deq_q45_K(x, sizeof(ss_block_q5_K), 1, y, n / SS_QK_K); return true;
    case SS_TYPE_Q6_K: deq_q6_K(x, y, n / SS_QK_K); return true;
    default: return false;
    }
}

#if !defined(__clang__)
#pragma GCC pop_options
#endif

// y[i] += a * x[i] (fused multiply-add everywhere, also in the tail, so a given element gets the
// same operation wherever the vector loop starts)
void ss_axpy_avx2(float a, const float *x, float *y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

// ============================================================================== matrix-matrix
// ss_gemm_avx2: out[j*ldo + i] = W_i · X_j for a tile of m weight rows and n activation rows.
// The work is cut into register tiles of RM weight rows × RN activation rows; inside a tile
// every weight block is decoded once for the RN activation rows, and every (i, j) pair has its
// own accumulator that sees exactly the same operations in the same order whatever the tile
// shape, so a result does not depend on m, n, the thread count or where the pair falls.
//
// Activations are packed (ss_pack_act_avx2, layout in ss_quant.h): int8 values contiguous and
// 32-byte aligned, block scales as floats; for Q8_0 also the scaled block sums dy Σqy (floats,
// for the offset terms of the unsigned-nibble formats), for Q8_K the sums of 16 values; for F32/F16/BF16 weights f32
// rows holding the activation rounded like quant_act would (exactly representable).
//
// Integer block dots are exact (as in the single-row kernels). Per pair and 32 values every
// integer format costs two integer multiplies (maddubs, madd), and Zen 3 / Haswell-class cores
// have one vector integer-multiply pipe: that is the bound (16 multiply-adds per cycle, the same
// as two 8-wide FMA pipes for F16/F32).


// Register tiles: accumulators a<i><j> are plain variables (arrays indexed in outer loops would
// stay in memory); the macros expand the (i, j) loops and the conditions on the compile-time
// RM, RN remove the unused ones.
#define ACC_ROW(i) __m256 a##i##0 = _mm256_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0, a##i##3 = a##i##0, \
                          a##i##4 = a##i##0, a##i##5 = a##i##0, a##i##6 = a##i##0, a##i##7 = a##i##0
#define ACC_DECL ACC_ROW(0); ACC_ROW(1); ACC_ROW(2); ACC_ROW(3)
#define ISUM_DECL __m256i is0 = _mm256_setzero_si256(), is1 = is0, is2 = is0, is3 = is0, is4 = is0, is5 = is0, is6 = is0, is7 = is0
#define FOR_J(M, i) M(i, 0) M(i, 1) M(i, 2) M(i, 3) M(i, 4) M(i, 5) M(i, 6) M(i, 7)
#define FOR_I(M) M(0) M(1) M(2) M(3)
#define FOR_IJ(M) FOR_J(M, 0) FOR_J(M, 1) FOR_J(M, 2) FOR_J(M, 3)
#define ACC_STORE(i, j) if ((i) < RM && (j) < RN) out[(j) * ldo + (i)] = hsum_ps(a##i##j);

// Single-row products (decode) stream the weights from memory: the hardware prefetchers do not
// follow RM interleaved rows well, so the kernels prefetch the rows two tiles ahead (RM*bsz bytes
// per block step, so one tile's steps cover one tile's rows): a contiguous stream.
static ALWAYS_INLINE void prefetch_span(const uint8_t *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}
// the super-block loop of the K-quant tiles: ROW(i) for each weight row i < RM of block b (bsz
// bytes), prefetching when pf, then the RM × RN results stored
#define K_TILE_BLOCKS(ROW, bsz) ACC_DECL;                                                                \
    for (int64_t b = 0; b < nb; b++) {                                                                   \
        if (pf) prefetch_span(w + 2 * RM * ws + b * RM * (bsz), RM * (bsz));                             \
        FOR_I(ROW)                                                                                       \
    }                                                                                                    \
    FOR_IJ(ACC_STORE)

// ---- Q4_0 / Q5_0 / Q8_0 weights × Q8_0 activations: Σ_b dw_b dy_b Σ_k qw qy
// Q8_0: qw signed, products as |qw| * (sign(qw) qy). Q4_0 / Q5_0: qw = n - off with n unsigned
// (n < 16 / 32, off = 8 / 16): Σ_k qw qy = Σ_k n qy - off Σ_k qy; the first sum is maddubs(n, qy)
// (exact), the second is added in float once per 8 blocks: dw_b * (-off) * (dy_b Σqy_b), with
// dy_b Σqy_b packed (exact in float: an fp16 times |Σqy| < 2^12).
// The scale products dw*dy of 8 blocks are computed ahead (one group early, so they are not
// read right after being stored) and broadcast from memory, which costs no vector pipe.
static ALWAYS_INLINE __m256i decode_q8fam(const int wt, const uint8_t *blk) {
    if (wt == SS_TYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(blk + 2));
    const uint8_t *qs = blk + (wt == SS_TYPE_Q4_0 ? 2 : 6);
    // low nibbles in bytes 0..15, high nibbles in 16..31: both lanes = qs, the upper one >> 4
    const __m256i n = _mm256_and_si256(_mm256_srlv_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs)),
                                                         _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0xF));
    if (wt == SS_TYPE_Q4_0) return n;
    return _mm256_or_si256(n, ss_bits_to_0x10(blk + 2));   // Q5_0
}

// 8 fp16 block scales of a row (blocks b0..b0+7, bsz bytes apart; the ones at or past nb are 0),
// converted together. A full group is assembled with word inserts from memory (vpinsrw m16: one
// instruction per scale; the decode loop is bound by instruction throughput, and this measured
// ~10-15% faster for single-row Q4_0/Q5_0/Q8_0 than the scalar loads, shifts and ors); a partial
// group (the row's last) is gathered four at a time into a 64-bit integer with scalar loads and
// shifts, reading no byte past the row (a vector gather costs ~8x more vector-pipe work).
static ALWAYS_INLINE uint64_t scale_bits(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return h; }
static ALWAYS_INLINE uint64_t scales4_bits(const uint8_t *p, size_t bsz, int64_t cnt) {
    if (cnt >= 4)
        return scale_bits(p) | scale_bits(p + bsz) << 16 | scale_bits(p + 2 * bsz) << 32 | scale_bits(p + 3 * bsz) << 48;
    uint64_t v = 0;
    for (int g = 0; g < cnt; g++) v |= scale_bits(p + g * bsz) << (16 * g);
    return v;
}
static ALWAYS_INLINE __m256 scales8_f16(const uint8_t *row, size_t bsz, int64_t b0, int64_t nb) {
    const uint8_t *p = row + b0 * bsz;
    const int64_t cnt = nb - b0;
    if (cnt >= 8) {
        uint16_t h[8];
        for (int g = 0; g < 8; g++) memcpy(&h[g], p + g * bsz, 2);
        __m128i v = _mm_cvtsi32_si128(h[0]);
        v = _mm_insert_epi16(v, h[1], 1); v = _mm_insert_epi16(v, h[2], 2); v = _mm_insert_epi16(v, h[3], 3);
        v = _mm_insert_epi16(v, h[4], 4); v = _mm_insert_epi16(v, h[5], 5); v = _mm_insert_epi16(v, h[6], 6);
        v = _mm_insert_epi16(v, h[7], 7);
        return _mm256_cvtph_ps(v);
    }
    const uint64_t lo = scales4_bits(p, bsz, cnt), hi = scales4_bits(p + 4 * bsz, bsz, cnt - 4);
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo));
}

#define Q8_PAIR(i, j) if ((i) < RM && (j) < RN) {                                                        \
        const uint8_t *xr = xp + (j) * xs;                                                               \
        const __m256i y = _mm256_load_si256((const __m256i *)(xr + 32 * b));                             \
        __m256i p;                                                                                       \
        if (wt == SS_TYPE_Q8_0) p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, wq));                   \
        else p = _mm256_maddubs_epi16(wq, y);                                                            \
        a##i##j = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), _mm256_broadcast_ss(&S[i][j][b - g0]), a##i##j); \
    }
#define Q8_ROW(i) if ((i) < RM) {                                                                        \
        const __m256i wq = decode_q8fam(wt, w + (i) * ws + b * bsz);                                     \
        const __m256i ax = wt == SS_TYPE_Q8_0 ? _mm256_sign_epi8(wq, wq) : wq;                           \
        FOR_J(Q8_PAIR, i)                                                                                \
    }
// Sn[i][j][g] = dw_i(b0+g) * dy_j(b0+g), g < 8; Q4_0/Q5_0: a_ij += dw_i(b0+g) * -off * dy_j Σqy_j (b0+g)
#define Q8_DW(i) const __m256 dwv##i = (i) >= RM ? _mm256_setzero_ps() : dws ? _mm256_load_ps(dws + (i) * nbp + b0) \
                                                                         : scales8_f16(w + (i) * ws, bsz, b0, nb); \
                 const __m256 dwo##i = _mm256_mul_ps(dwv##i, _mm256_set1_ps(wt == SS_TYPE_Q4_0 ? -8.0f : -16.0f));
#define Q8_SCALE(i, j) if ((i) < RM && (j) < RN) {                                                       \
        _mm256_store_ps(Sn[i][j], _mm256_mul_ps(dwv##i, _mm256_load_ps((const float *)(xp + (j) * xs + dofs) + b0))); \
        if (wt != SS_TYPE_Q8_0)                                                                          \
            a##i##j = _mm256_fmadd_ps(dwo##i, _mm256_load_ps((const float *)(xp + (j) * xs + sofs) + b0), a##i##j); \
    }

// dws: the rows' block scales as floats (rows nbp apart, from ss_gemm_avx2, which converts them once
// for all activation tiles) or NULL (converted here)
static ALWAYS_INLINE void tile_q8(const int wt, const int RM, const int RN, int64_t K, const uint8_t *w, size_t ws,
                                  const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf, const float *dws, int64_t nbp) {
    const int64_t nb = K / SS_QK;
    const size_t bsz = wt == SS_TYPE_Q8_0 ? sizeof(ss_block_q8_0) : wt == SS_TYPE_Q5_0 ? sizeof(ss_block_q5_0) : sizeof(ss_block_q4_0);
    const size_t dofs = ss_pack_q8_0_dofs(K), sofs = ss_pack_q8_0_sofs(K);
    const __m256i ones = _mm256_set1_epi16(1);
    _Alignas(32) float Sbuf[2][RM][RN][8];
    ACC_DECL;
    {
        const int64_t b0 = 0;
        float (*Sn)[RN][8] = Sbuf[0];
        FOR_I(Q8_DW)
        FOR_IJ(Q8_SCALE)
    }
    for (int64_t g0 = 0; g0 < nb; g0 += 8) {
        if (g0 + 8 < nb) {
            const int64_t b0 = g0 + 8;
            float (*Sn)[RN][8] = Sbuf[(g0 / 8 + 1) & 1];
            FOR_I(Q8_DW)
            FOR_IJ(Q8_SCALE)
        }
        const float (*S)[RN][8] = (const float (*)[RN][8])Sbuf[(g0 / 8) & 1];
        const int64_t b1 = g0 + 8 < nb ? g0 + 8 : nb;
        for (int64_t b = g0; b < b1; b++) {
            // memory-level parallelism for the single-row (decode) case: prefetch the weight rows
            // two tiles ahead, RM*bsz bytes per block (so a tile's blocks cover one tile's rows)
            if (pf) prefetch_span(w + 2 * RM * ws + b * RM * bsz, RM * bsz);
            FOR_I(Q8_ROW)
        }
    }
    FOR_IJ(ACC_STORE)
}

// ---- Q4_K / Q5_K weights × Q8_K activations:
//   Σ_superblocks dy * (d Σ_s sc_s (q·qy)_s - dmin Σ_s m_s Σqy_s)   (s: 8 sub-blocks of 32)
// The 6-bit scales are unpacked in registers (a store and reload of them stalls on store
// forwarding) and broadcast per sub-block with byte shuffles.

// byte-shuffle pattern selecting int16 lane k (within each 128-bit lane) for all 8 lanes
static ALWAYS_INLINE __m256i sel16(int k) { return _mm256_set1_epi16((short)(((2 * k + 1) << 8) | (2 * k))); }

#define K4_SUM(i, j) if ((i) < RM && (j) < RN) {                                                         \
        const uint8_t *y = xp + (j) * xs + b * SS_QK_K + 64 * g;                                         \
        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i *)y));             \
        const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i *)(y + 32)));      \
        is##j = _mm256_add_epi32(is##j, _mm256_add_epi32(_mm256_madd_epi16(scl, pl), _mm256_madd_epi16(sch, ph))); \
    }
#define K4_FIN(i, j) if ((i) < RM && (j) < RN) {                                                         \
        const uint8_t *xr = xp + (j) * xs;                                                               \
        const __m256i mm = _mm256_madd_epi16(mins, _mm256_load_si256((const __m256i *)(xr + bofs + 32 * b))); \
        const __m256 t = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mm), mv, _mm256_mul_ps(_mm256_cvtepi32_ps(is##j), dv)); \
        a##i##j = _mm256_fmadd_ps(t, _mm256_broadcast_ss((const float *)(xr + dofs) + b), a##i##j);     \
    }
#define K4_ROW(i) if ((i) < RM) {                                                                        \
        const uint8_t *blk = w + (i) * ws + b * bsz;                                                     \
        const __m128i sm = ss_k4_scales_mins(blk + 4);                        /* sc_0..7 | m_0..7 bytes */  \
        const __m256i scs = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(sm, sm));   /* sc_0..7 in both lanes */ \
        /* m_0 m_0 m_1 m_1 ... m_7 m_7: madd with the 16 sums of 16 gives m_s Σqy_s */                   \
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, dup8));                           \
        const uint8_t *qs = blk + 16 + (five ? 32 : 0);                                                  \
        const __m256i hbits = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256(); \
        ISUM_DECL;                                                                                       \
        _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) {                                            \
            const __m256i q4 = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));                       \
            __m256i lo = _mm256_and_si256(q4, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);  \
            if (five) {                                                                                  \
                const __m128i c0 = _mm_cvtsi32_si128(2 * g), c1 = _mm_cvtsi32_si128(2 * g + 1);          \
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, c0), one), 4)); \
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, c1), one), 4)); \
            }                                                                                            \
            const __m256i scl = _mm256_shuffle_epi8(scs, sel16(2 * g)), sch = _mm256_shuffle_epi8(scs, sel16(2 * g + 1)); \
            FOR_J(K4_SUM, i)                                                                             \
        }                                                                                                \
        uint32_t dd;                                                                                     \
        memcpy(&dd, blk, 4);                                 /* d, dmin */                               \
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dd));                                      \
        const __m256 dv = _mm256_broadcastss_ps(dm), mv = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));    \
        FOR_J(K4_FIN, i)                                                                                 \
    }

static ALWAYS_INLINE void tile_q45k(const int five, const int RM, const int RN, int64_t K, const uint8_t *w, size_t ws,
                                    const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf) {
    const int64_t nb = K / SS_QK_K;
    const size_t bsz = five ? sizeof(ss_block_q5_K) : sizeof(ss_block_q4_K);
    const size_t dofs = ss_pack_q8_K_dofs(K), bofs = ss_pack_q8_K_bofs(K);
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    const __m128i dup8 = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    K_TILE_BLOCKS(K4_ROW, bsz)
}

// pattern selecting int16 lane k in the low 128-bit lane and lane k+1 in the high one
static ALWAYS_INLINE __m256i sel16x2(int k) {
    const short a = (short)(((2 * k + 1) << 8) | (2 * k)), b = (short)(((2 * k + 3) << 8) | (2 * k + 2));
    return _mm256_setr_epi16(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
}

// ---- Q6_K weights × Q8_K activations: Σ dy d Σ_s sc_s Σ (q - 32) qy, q in 0..63; the -32 part is
// 32 Σ_s sc_s Σqy_s from the activation's sums of 16
#define K6_SUM(i, j) if ((i) < RM && (j) < RN) {                                                         \
        const uint8_t *y = xp + (j) * xs + b * SS_QK_K + 128 * h + 32 * k;                               \
        is##j = _mm256_add_epi32(is##j, _mm256_madd_epi16(scv, _mm256_maddubs_epi16(qk, _mm256_load_si256((const __m256i *)y)))); \
    }
#define K6_FIN(i, j) if ((i) < RM && (j) < RN) {                                                         \
        const uint8_t *xr = xp + (j) * xs;                                                               \
        const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_load_si256((const __m256i *)(xr + bofs + 32 * b))), 5); \
        const __m256 s = _mm256_mul_ps(dv, _mm256_broadcast_ss((const float *)(xr + dofs) + b));         \
        a##i##j = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(is##j, corr)), s, a##i##j);        \
    }
#define K6_ROW(i) if ((i) < RM) {                                                                        \
        const ss_block_q6_K *x = (const ss_block_q6_K *)(w + (i) * ws) + b;                              \
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));         \
        const __m256i sc_lo = _mm256_permute2x128_si256(sc16, sc16, 0x00), sc_hi = _mm256_permute2x128_si256(sc16, sc16, 0x11); \
        ISUM_DECL;                                                                                       \
        _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                                            \
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));                  \
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));             \
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));                   \
            const __m256i sch8 = h ? sc_hi : sc_lo;                       /* sc[8h..8h+7] in both lanes */ \
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {                                        \
                const __m256i l4 = k & 1 ? ql1 : ql0;                                                    \
                const __m256i lq = k < 2 ? _mm256_and_si256(l4, m4) : _mm256_and_si256(_mm256_srli_epi16(l4, 4), m4); \
                const __m256i hq = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m2); \
                const __m256i qk = _mm256_or_si256(lq, _mm256_slli_epi16(hq, 4));                        \
                /* values 32k..32k+15 use scale sc[2k], 32k+16..32k+31 use sc[2k+1] */                   \
                const __m256i scv = _mm256_shuffle_epi8(sch8, sel16x2(2 * k));                           \
                FOR_J(K6_SUM, i)                                                                         \
            }                                                                                            \
        }                                                                                                \
        const __m256 dv = _mm256_set1_ps(h2f(x->d));                                                     \
        FOR_J(K6_FIN, i)                                                                                 \
    }

static ALWAYS_INLINE void tile_q6k(const int RM, const int RN, int64_t K, const uint8_t *w, size_t ws,
                                   const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf) {
    const int64_t nb = K / SS_QK_K;
    const size_t dofs = ss_pack_q8_K_dofs(K), bofs = ss_pack_q8_K_bofs(K);
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    K_TILE_BLOCKS(K6_ROW, sizeof(ss_block_q6_K))
}

// ---- single-row products (decode) of Q4_K / Q6_K with AVX-512 (F, BW, VL, VNNI: 512-bit vpdpbusd
// and vpdpwssd), called only when the CPU has them (ss_cpu_has_avx512vnni). One 512-bit integer
// dot covers 64 weights where the AVX2 tiles need two maddubs, two madd and two shuffles per 64, and
// the AVX2 tiles' decode loop is bound by the number of vector instructions.
// Same bits as the AVX2 tiles: the integer sums are exact and land in the same 32-bit lanes. In
// the AVX2 tiles lane l of a super-block's int32 sum holds Σ_c sc_c·(Σ of the products of bytes
// 4l..4l+3 of the 32-value chunk c); here chunks c, c' share one 512-bit vector (c in lanes 0..7,
// c' in lanes 8..15), each lane's 4 products come from vpdpbusd (u8 weights × s8 activations, no
// saturation) and fit in int16, so vpdpwssd with (sc, 0) int16 pairs adds sc·partial exactly; the
// two halves are added at the end of the super-block. The float steps are the AVX2 tiles' own
// (K4_FIN, K6_FIN).
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

// lanes 0..7 = int32 lane a of v, lanes 8..15 = lane b (a, b < 16)
#define PERM2(v, a, b) _mm512_permutexvar_epi32(_mm512_set_epi32(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a), v)

#define K4Z_ROW(i) if ((i) < RM) {                                                                       \
        const uint8_t *blk = w + (i) * ws + b * bsz;                                                     \
        const __m128i sm = ss_k4_scales_mins(blk + 4);                      /* sc_0..7 | m_0..7 bytes */  \
        const __m512i sc32 = _mm512_cvtepu8_epi32(sm);                     /* (sc_s, 0) int16 pairs */   \
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, dup8));   /* m_0 m_0 m_1 m_1 .. */ \
        __m512i isz = _mm512_setzero_si512();                                                            \
        _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) {                                            \
            /* q bytes of chunk pair (2g, 2g+1): low nibbles in lanes 0..7, high nibbles in 8..15 */     \
            const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * g))); \
            const __m512i wq = _mm512_and_si512(_mm512_srlv_epi64(q, sh4), m4z);                        \
            const __m512i y = _mm512_loadu_si512((const void *)(xp + b * SS_QK_K + 64 * g));            \
            const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, y);                        \
            isz = _mm512_dpwssd_epi32(isz, p, PERM2(sc32, 2 * g, 2 * g + 1));                            \
        }                                                                                                \
        const __m256i is0 = _mm256_add_epi32(_mm512_castsi512_si256(isz), _mm512_extracti64x4_epi64(isz, 1)); \
        uint32_t dd;                                                                                     \
        memcpy(&dd, blk, 4);                                 /* d, dmin */                               \
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dd));                                      \
        const __m256 dv = _mm256_broadcastss_ps(dm), mv = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));    \
        K4_FIN(i, 0)                                                                                     \
    }

static ALWAYS_INLINE T512 void tile_q4k_z(const int RM, int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) {
    const int RN = 1;
    const int64_t nb = K / SS_QK_K;
    const size_t bsz = sizeof(ss_block_q4_K), xs = 0;
    const size_t dofs = ss_pack_q8_K_dofs(K), bofs = ss_pack_q8_K_bofs(K);
    const int64_t ldo = 1;
    const __m512i m4z = _mm512_set1_epi8(0xF), sh4 = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    const __m128i dup8 = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    K_TILE_BLOCKS(K4Z_ROW, bsz)
}

// Q6_K: half h of a super-block, chunk pair j: chunks 2j (ql[64h..] low nibbles / ql[64h+32..] low
// nibbles for j = 0, high nibbles for j = 1) and 2j+1; the 2 high bits of chunk k are bits 2k, 2k+1
// of qh[32h..], moved to bits 4, 5 by a shift per 256-bit half (64-bit shifts: the bits that cross
// into the next byte are masked off)
#define K6Z_ROW(i) if ((i) < RM) {                                                                       \
        const ss_block_q6_K *x = (const ss_block_q6_K *)(w + (i) * ws) + b;                              \
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));         \
        const __m512i sc32 = _mm512_cvtepu16_epi32(sc16);                  /* (sc_s, 0) int16 pairs */   \
        __m512i isz = _mm512_setzero_si512();                                                            \
        _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                                            \
            const __m512i ql = _mm512_loadu_si512((const void *)(x->ql + 64 * h));                       \
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x->qh + 32 * h))); \
            _Pragma("GCC unroll 2") for (int j = 0; j < 2; j++) {                                        \
                const __m512i lq = j ? _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4z) : _mm512_and_si512(ql, m4z); \
                const __m512i hq = _mm512_and_si512(j ? _mm512_srlv_epi64(qh, sh02) : _mm512_sllv_epi64(qh, sh42), m30); \
                const __m512i y = _mm512_loadu_si512((const void *)(xp + b * SS_QK_K + 128 * h + 64 * j)); \
                const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_or_si512(lq, hq), y); \
                /* lanes 0..3, 4..7, 8..11, 12..15: scales sc[8h+4j .. 8h+4j+3] */                       \
                const int s0 = 8 * h + 4 * j;                                                            \
                const __m512i scv = _mm512_permutexvar_epi32(_mm512_set_epi32(s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 2, s0 + 2, s0 + 2, s0 + 2, \
                                                                              s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0, s0, s0, s0), sc32); \
                isz = _mm512_dpwssd_epi32(isz, p, scv);                                                  \
            }                                                                                            \
        }                                                                                                \
        const __m256i is0 = _mm256_add_epi32(_mm512_castsi512_si256(isz), _mm512_extracti64x4_epi64(isz, 1)); \
        const __m256 dv = _mm256_set1_ps(h2f(x->d));                                                     \
        K6_FIN(i, 0)                                                                                     \
    }

static ALWAYS_INLINE T512 void tile_q6k_z(const int RM, int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) {
    const int RN = 1;
    const int64_t nb = K / SS_QK_K;
    const size_t xs = 0;
    const size_t dofs = ss_pack_q8_K_dofs(K), bofs = ss_pack_q8_K_bofs(K);
    const int64_t ldo = 1;
    const __m512i m4z = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i sh42 = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4), sh02 = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    K_TILE_BLOCKS(K6Z_ROW, sizeof(ss_block_q6_K))
}

static T512 void tile_q4k_z1(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) { tile_q4k_z(1, K, w, ws, xp, out, pf); }
static T512 void tile_q4k_z2(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) { tile_q4k_z(2, K, w, ws, xp, out, pf); }
static T512 void tile_q6k_z1(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) { tile_q6k_z(1, K, w, ws, xp, out, pf); }
static T512 void tile_q6k_z2(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, float *out, int pf) { tile_q6k_z(2, K, w, ws, xp, out, pf); }

// ---- F32 / F16 / BF16 weights × f32 activations (already rounded to the weight's type)
#define F_PAIR(i, j) if ((i) < RM && (j) < RN) a##i##j = _mm256_fmadd_ps(wv, _mm256_loadu_ps((const float *)(xp + (j) * xs) + k), a##i##j);
#define F_ROW(i) if ((i) < RM) { const __m256 wv = load_kind(kind, w + (i) * ws + k * es); FOR_J(F_PAIR, i) }
#define F_STORE(i, j) if ((i) < RM && (j) < RN) {                                                        \
        float s = hsum_ps(a##i##j);                                                                      \
        const float *x = (const float *)(xp + (j) * xs);                                                 \
        for (int64_t kk = k; kk < K; kk++) s = __builtin_fmaf(scalar_kind(kind, w + (i) * ws + kk * es), x[kk], s); \
        out[(j) * ldo + (i)] = s;                                                                        \
    }

static ALWAYS_INLINE void tile_f(const int kind, const int RM, const int RN, int64_t K, const uint8_t *w, size_t ws,
                                 const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf) {
    const int es = kind == 0 ? 4 : 2;
    ACC_DECL;
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        if (pf) prefetch_span(w + 2 * RM * ws + k * RM * es, 8 * RM * es);
        FOR_I(F_ROW)
    }
    FOR_IJ(F_STORE)
}

// ---- tile function tables: tab[(rm-1)*rn_max + (rn-1)] for rm <= rm_max, rn <= rn_max
// pf: prefetch the weight rows two tiles ahead (set for the first activation tile of a row tile,
// which is the one reading the rows from memory)
// dws, nbp: see tile_q8 (ignored by the other formats)
typedef void (*gemm_tile_fn)(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf,
                             const float *dws, int64_t nbp);

#define TILE_FN(name, call, RM, RN) \
    static void name##_##RM##x##RN(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf, \
                                   const float *dws, int64_t nbp) { (void)dws; (void)nbp; call(RM, RN); }
#define TILE_COLS_1(name, call, RM) TILE_FN(name, call, RM, 1)
#define TILE_COLS_2(name, call, RM) TILE_COLS_1(name, call, RM) TILE_FN(name, call, RM, 2)
#define TILE_COLS_3(name, call, RM) TILE_COLS_2(name, call, RM) TILE_FN(name, call, RM, 3)
#define TILE_COLS_4(name, call, RM) TILE_COLS_3(name, call, RM) TILE_FN(name, call, RM, 4)
#define TILE_COLS_5(name, call, RM) TILE_COLS_4(name, call, RM) TILE_FN(name, call, RM, 5)
#define TILE_COLS_6(name, call, RM) TILE_COLS_5(name, call, RM) TILE_FN(name, call, RM, 6)
#define TILE_COLS_7(name, call, RM) TILE_COLS_6(name, call, RM) TILE_FN(name, call, RM, 7)
#define TILE_COLS_8(name, call, RM) TILE_COLS_7(name, call, RM) TILE_FN(name, call, RM, 8)

#define TILE_ROWS_1(name, call, N) TILE_COLS_##N(name, call, 1)
#define TILE_ROWS_2(name, call, N) TILE_ROWS_1(name, call, N) TILE_COLS_##N(name, call, 2)
#define TILE_ROWS_3(name, call, N) TILE_ROWS_2(name, call, N) TILE_COLS_##N(name, call, 3)
#define TILE_ROWS_4(name, call, N) TILE_ROWS_3(name, call, N) TILE_COLS_##N(name, call, 4)
#define TILE_TAB_1(name, RM) name##_##RM##x1
#define TILE_TAB_2(name, RM) TILE_TAB_1(name, RM), name##_##RM##x2
#define TILE_TAB_3(name, RM) TILE_TAB_2(name, RM), name##_##RM##x3
#define TILE_TAB_4(name, RM) TILE_TAB_3(name, RM), name##_##RM##x4
#define TILE_TAB_5(name, RM) TILE_TAB_4(name, RM), name##_##RM##x5
#define TILE_TAB_6(name, RM) TILE_TAB_5(name, RM), name##_##RM##x6
#define TILE_TAB_7(name, RM) TILE_TAB_6(name, RM), name##_##RM##x7
#define TILE_TAB_8(name, RM) TILE_TAB_7(name, RM), name##_##RM##x8
#define TILE_TABR_1(name, N) TILE_TAB_##N(name, 1)
#define TILE_TABR_2(name, N) TILE_TABR_1(name, N), TILE_TAB_##N(name, 2)
#define TILE_TABR_3(name, N) TILE_TABR_2(name, N), TILE_TAB_##N(name, 3)
#define TILE_TABR_4(name, N) TILE_TABR_3(name, N), TILE_TAB_##N(name, 4)
// TILES(name, call, RM_MAX, RN_MAX): the functions and `static const gemm_tile_fn name[]`
#define TILES(name, call, RMX, RNX) TILE_ROWS_##RMX(name, call, RNX) \
    static const gemm_tile_fn name[RMX * RNX] = { TILE_TABR_##RMX(name, RNX) };

#define CALL_Q8_0(RM, RN) tile_q8(SS_TYPE_Q8_0, RM, RN, K, w, ws, xp, xs, out, ldo, pf, dws, nbp)
#define CALL_Q5_0(RM, RN) tile_q8(SS_TYPE_Q5_0, RM, RN, K, w, ws, xp, xs, out, ldo, pf, dws, nbp)
#define CALL_Q4_0(RM, RN) tile_q8(SS_TYPE_Q4_0, RM, RN, K, w, ws, xp, xs, out, ldo, pf, dws, nbp)
#define CALL_Q4_K(RM, RN) tile_q45k(0, RM, RN, K, w, ws, xp, xs, out, ldo, pf)
#define CALL_Q5_K(RM, RN) tile_q45k(1, RM, RN, K, w, ws, xp, xs, out, ldo, pf)
#define CALL_Q6_K(RM, RN) tile_q6k(RM, RN, K, w, ws, xp, xs, out, ldo, pf)
#define CALL_F32(RM, RN)  tile_f(0, RM, RN, K, w, ws, xp, xs, out, ldo, pf)
#define CALL_F16(RM, RN)  tile_f(1, RM, RN, K, w, ws, xp, xs, out, ldo, pf)
#define CALL_BF16(RM, RN) tile_f(2, RM, RN, K, w, ws, xp, xs, out, ldo, pf)

// Register tiles (weight rows × activation rows) per type, chosen by measurement on Zen 3: the
// integer formats are bound by the vector integer-multiply/shuffle pipes, so the tiles trade
// decode reuse (more activation rows per decoded weight block) against register spills.
TILES(tab_q8_0, CALL_Q8_0, 4, 4)
TILES(tab_q5_0, CALL_Q5_0, 4, 8)
TILES(tab_q4_0, CALL_Q4_0, 4, 4)
TILES(tab_q4_k, CALL_Q4_K, 2, 8)
TILES(tab_q5_k, CALL_Q5_K, 2, 8)
TILES(tab_q6_k, CALL_Q6_K, 2, 8)
TILES(tab_f32, CALL_F32, 4, 4)
TILES(tab_f16, CALL_F16, 4, 4)
TILES(tab_bf16, CALL_BF16, 4, 4)

// the tile table and the register tile to use: rm × rn for n >= 2 activation rows, rm1 × 1 for one,
// rm8 × 8 when n is a multiple of 8 (rm8 = 0: no such tile; batched decode of 8 sequences)
typedef struct { const gemm_tile_fn *tab; int rm_max, rn_max; int rm, rn, rm1, rm8; } gemm_kernel;

static bool gemm_kernel_for(uint32_t wtype, gemm_kernel *k) {
    switch (wtype) {
    case SS_TYPE_Q8_0: *k = (gemm_kernel){tab_q8_0, 4, 4, 4, 4, 4, 0}; return true;
    case SS_TYPE_Q5_0: *k = (gemm_kernel){tab_q5_0, 4, 8, 2, 4, 4, 1}; return true;   // 1×8: +12% at n = 8
    case SS_TYPE_Q4_0: *k = (gemm_kernel){tab_q4_0, 4, 4, 2, 4, 4, 0}; return true;
    case SS_TYPE_Q4_K: *k = (gemm_kernel){tab_q4_k, 2, 8, 1, 8, 2, 0}; return true;
    case SS_TYPE_Q5_K: *k = (gemm_kernel){tab_q5_k, 2, 8, 1, 8, 2, 0}; return true;
    case SS_TYPE_Q6_K: *k = (gemm_kernel){tab_q6_k, 2, 8, 1, 8, 2, 0}; return true;
    // 4 weight rows × 3 activation rows: 12 accumulators + 3 activation vectors + 1 weight vector
    // fill the 16 registers, so 7 loads feed 12 FMAs (3 × 4 reloaded the activations: 15 loads)
    case SS_TYPE_F32:  *k = (gemm_kernel){tab_f32, 4, 4, 4, 3, 4, 0}; return true;
    case SS_TYPE_F16:  *k = (gemm_kernel){tab_f16, 4, 4, 4, 3, 4, 0}; return true;
    case SS_TYPE_BF16: *k = (gemm_kernel){tab_bf16, 4, 4, 4, 3, 4, 0}; return true;
    default: return false;
    }
}

bool ss_gemm_has_avx2(uint32_t wtype) {
    gemm_kernel k;
    return gemm_kernel_for(wtype, &k);
}

#define GEMM_DWS_MAX 2048                // block scales of a row tile converted once (K <= 65536)

// the type's own register tiles: row tiles outside (their rows stay in L1), activation tiles
// inside; the first activation tile of a row tile prefetches the rows ahead
static __attribute__((noinline)) void gemm_tiles(const gemm_kernel *kn, uint32_t wtype, int64_t K, const uint8_t *W, size_t ws,
                                                 int64_t m, const uint8_t *X, size_t xs, int64_t n, float *out, int64_t ldo) {
    const bool wide = kn->rm8 && n % 8 == 0;
    const int RM = n == 1 ? kn->rm1 : wide ? kn->rm8 : kn->rm, RN = n == 1 ? 1 : wide ? 8 : kn->rn;
    // Q4_0/Q5_0/Q8_0 with several activation tiles: the row tile's block scales converted once
    const bool q8fam = wtype == SS_TYPE_Q8_0 || wtype == SS_TYPE_Q5_0 || wtype == SS_TYPE_Q4_0;
    const int64_t nb = K / SS_QK, nbp = (nb + 7) / 8 * 8;
    _Alignas(32) float dws[4 * GEMM_DWS_MAX];
    const bool pre = q8fam && n > RN && nbp <= GEMM_DWS_MAX;
    const size_t bsz = ss_type_info(wtype)->type_size;
    for (int64_t i0 = 0; i0 < m; i0 += RM) {
        const int rm = m - i0 < RM ? (int)(m - i0) : RM;
        if (pre)
            for (int r = 0; r < rm; r++)
                for (int64_t b0 = 0; b0 < nbp; b0 += 8)
                    _mm256_store_ps(dws + r * nbp + b0, scales8_f16(W + (i0 + r) * ws, bsz, b0, nb));
        for (int64_t j0 = 0; j0 < n; j0 += RN) {
            const int rn = n - j0 < RN ? (int)(n - j0) : RN;
            kn->tab[(rm - 1) * kn->rn_max + (rn - 1)](K, W + i0 * ws, ws, X + j0 * xs, xs, out + j0 * ldo + i0, ldo, j0 == 0,
                                                     pre ? dws : NULL, nbp);
        }
    }
}

// one activation row (decode) of Q4_K / Q6_K with the AVX-512 tiles: row tiles of 2 (as the AVX2
// tiles' rm1), the first prefetching ahead; other types: false
bool ss_gemv_kq_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m, const void *xp, float *out) {
    if (wtype != SS_TYPE_Q4_K && wtype != SS_TYPE_Q6_K) return false;
    const bool q6 = wtype == SS_TYPE_Q6_K;
    const uint8_t *W = w, *X = xp;
    for (int64_t i0 = 0; i0 < m; i0 += 2) {
        if (m - i0 >= 2) (q6 ? tile_q6k_z2 : tile_q4k_z2)(K, W + i0 * ws, ws, X, out + i0, 1);
        else (q6 ? tile_q6k_z1 : tile_q4k_z1)(K, W + i0 * ws, ws, X, out + i0, 1);
    }
    return true;
}

bool ss_gemm_avx2(uint32_t wtype, int layout, int64_t K, const void *w, size_t ws, int64_t m,
                  const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    gemm_kernel kn;
    if (!gemm_kernel_for(wtype, &kn) || layout == SS_PACK_PANEL) return false;   // (panels: gemm_avx2.c)
    const bool fweights = wtype == SS_TYPE_F16 || wtype == SS_TYPE_BF16 || wtype == SS_TYPE_F32;
    if ((layout == SS_PACK_F32) != fweights) return false;   // (ss_gemm_layout never asks for this)
    gemm_tiles(&kn, wtype, K, w, ws, m, xp, xs, n, out, ldo);
    return true;
}

// ---- activation packing (same rounding as ss_quant_act_avx2, bit for bit)
bool ss_pack_act_avx2(uint32_t wtype, int layout, const float *x, int64_t K, void *dst) {
    uint8_t *q = dst;
    if (layout != SS_PACK_INT && ss_vec_dot_type(wtype) == SS_TYPE_Q8_0) {
        // the Q8_0-rounded values q*d as f32 (exact: an 8-bit integer times an fp16)
        float *y = dst;
        for (int64_t b = 0; b < K / SS_QK; b++, x += SS_QK, y += SS_QK) {
            __m256 v[4];
            float id;
            const float dd = q8_0_block_load(x, v, &id);
            int8_t qb[32];
            round_store_32(v, id, qb);
            const __m256 d = _mm256_set1_ps(h2f(ss_fp32_to_fp16(dd)));
            store_deq32(y, _mm256_loadu_si256((const __m256i *)qb), d, d, d, d, 0);
        }
        return true;
    }
    switch (ss_vec_dot_type(wtype)) {
    case SS_TYPE_Q8_0: {
        const int64_t nb = K / SS_QK;
        float *d = (float *)(q + ss_pack_q8_0_dofs(K));
        float *sy = (float *)(q + ss_pack_q8_0_sofs(K));
        for (int64_t b = 0; b < nb; b++, x += SS_QK) {
            __m256 v[4];
            float id;
            const float dd = q8_0_block_load(x, v, &id);
            // |x·id| <= 127 (+ rounding), so the sum round_store_32 returns is Σ of the stored int8
            const int sum = round_store_32(v, id, (int8_t *)q + 32 * b);
            d[b] = h2f(ss_fp32_to_fp16(dd));
            // dy Σ qy (exact: |Σ qy| <= 4064 needs 12 bits, the fp16 scale 11)
            sy[b] = d[b] * (float)sum;
        }
        for (int64_t b = nb; b < (nb + 7) / 8 * 8; b++) d[b] = sy[b] = 0.0f;
        return true;
    }
    case SS_TYPE_Q8_K: {
        // SS_PACK_INT: int8 values, scales, sums of 16; the f32 layouts: the values d*q
        float *d = (float *)(q + ss_pack_q8_K_dofs(K));
        int16_t *bs = (int16_t *)(q + ss_pack_q8_K_bofs(K));
        int8_t qtmp[SS_QK_K];
        for (int64_t b = 0; b < K / SS_QK_K; b++, x += SS_QK_K) {
            if (layout == SS_PACK_INT) {
                d[b] = q8_K_block_round(x, (int8_t *)q + SS_QK_K * b);
                q8_K_bsums((int8_t *)q + SS_QK_K * b, bs + 16 * b);
                continue;
            }
            const __m256 db = _mm256_set1_ps(q8_K_block_round(x, qtmp));
            float *y = (float *)q + SS_QK_K * b;
            for (int k = 0; k < SS_QK_K; k += 32) store_deq32(y + k, _mm256_loadu_si256((const __m256i *)(qtmp + k)), db, db, db, db, 0);
        }
        return true;
    }
    case SS_TYPE_F32:
        memcpy(q, x, sizeof(float) * K);
        return true;
    case SS_TYPE_F16: {
        float *y = (float *)q;
        int64_t i = 0;
        for (; i + 8 <= K; i += 8)
            _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
        for (; i < K; i++) y[i] = h2f(ss_fp32_to_fp16(x[i]));
        return true;
    }
    case SS_TYPE_BF16: {
        float *y = (float *)q;
        for (int64_t i = 0; i < K; i++) y[i] = ss_bf16_to_fp32(ss_fp32_to_bf16(x[i]));
        return true;
    }
    default:
        return false;
    }
}

// ============================================================================== element-wise
// exp(x) for 8 floats (ggml's ggml_v_expf, after ARM's optimized-routines expf: 1.5 ulp)
static ALWAYS_INLINE __m256 v_expf(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256i c = _mm256_castps_si256(_mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(126), _CMP_GT_OQ));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                                                     _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
                                     u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(_mm256_castsi256_ps(c))) return _mm256_fmadd_ps(j, k, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)), _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256i d = _mm256_castps_si256(_mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(192), _CMP_GT_OQ));
    return _mm256_or_ps(_mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
                        _mm256_andnot_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, _mm256_fmadd_ps(s2, j, s2))));
}

// g[i] = silu(g[i]) * u[i] = g / (1 + exp(-g)) * u
void ss_swiglu_avx2(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    if (i < n) {                           // tail through the same vector code
        float tg[8] = {0}, tu[8] = {0};
        memcpy(tg, g + i, sizeof(float) * (n - i));
        memcpy(tu, u + i, sizeof(float) * (n - i));
        ss_swiglu_avx2(tg, tu, 8);
        memcpy(g + i, tg, sizeof(float) * (n - i));
    }
}

// expf of n floats in place
void ss_expf_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, v_expf(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        memcpy(t, x + i, sizeof(float) * (n - i));
        _mm256_storeu_ps(t, v_expf(_mm256_loadu_ps(t)));
        memcpy(x + i, t, sizeof(float) * (n - i));
    }
}
