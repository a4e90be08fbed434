// gemm_avx512.c — F16 / BF16 weights × f32 activations on 512-bit registers (the prefill path of
// F16/BF16 models). Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mf16c -mfma; reached
// through the dispatch (dispatch.c, when ss_cpu_has_avx512()). Uses ss_quant.h only.
//
//   out[j, i] = W_i · X_j   (W: [m, K] F16 or BF16 rows, X: [n, K] f32 rows already rounded to W's type)
//
// Every output has the summation order of quant_avx2.c's tile_f (ss_gemm_avx2), so the two agree bit
// for bit: eight lane chains c[l] = fma(w[k + l], x[k + l], c[l]) over k = 0, 8, .., K8 - 8
// (K8 = K rounded down to 8), the tree ((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7)), then the
// tail k = K8 .. K - 1 as scalar fmas. A 512-bit register holds the chains of two outputs: weight rows
// i, i + 1 (lanes 0-7, 8-15) against activation row j, whose 8 values are broadcast to both halves.
//
// Register tile: 6 weight rows (3 row pairs) × 8 activation rows = 24 accumulators, 3 weight and 1
// activation register of the 32. Per step of 8 values: 6 weight loads (2 × 16 bytes, joined and
// converted once per pair), 8 broadcast loads, 24 FMAs of 16 lanes (the AVX2 tile: 12 FMAs of 8 lanes
// for 4 × 3 outputs). Row tiles outside, activation tiles inside (the tile's weight rows stay in L1);
// the first activation tile of a row tile prefetches the rows two tiles ahead.
#include "ss_avx512.h"
#include <immintrin.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define TM 6   // weight rows per register tile (3 pairs; the matmul's chunks are multiples of 12)
#define TN 8   // activation rows per register tile (the matmul's activation tiles are multiples of 8)

// weight rows p and p + ws (two = 0: row p only, lanes 8-15 zero), values k..k+7 as f32;
// kind 1 = F16, 2 = BF16
static ALWAYS_INLINE __m512 load_pair(const int kind, const uint8_t *p, size_t ws, const int two) {
    const __m128i lo = _mm_loadu_si128((const __m128i *)p);
    const __m256i h = two ? _mm256_inserti128_si256(_mm256_castsi128_si256(lo), _mm_loadu_si128((const __m128i *)(p + ws)), 1)
                          : _mm256_zextsi128_si256(lo);
    if (kind == 1) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));   // bf16: the top 16 bits
}

// s[0] = tree sum of lanes 0-7, s[1] = of lanes 8-15: (c_l + c_{l+4}), then (.. + .._{l+2}), then
// (.. + .._{l+1}) in each half, the order of quant_avx2.c's hsum_ps
static ALWAYS_INLINE void hsum_halves(__m512 c, float s[2]) {
    c = _mm512_add_ps(c, _mm512_shuffle_f32x4(c, c, _MM_SHUFFLE(2, 3, 0, 1)));   // 128-bit blocks swapped in each half
    c = _mm512_add_ps(c, _mm512_permute_ps(c, _MM_SHUFFLE(1, 0, 3, 2)));
    c = _mm512_add_ps(c, _mm512_permute_ps(c, _MM_SHUFFLE(2, 3, 0, 1)));
    s[0] = _mm512_cvtss_f32(c);
    s[1] = _mm256_cvtss_f32(_mm512_extractf32x8_ps(c, 1));
}

static ALWAYS_INLINE float scalar_w(const int kind, const uint8_t *p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return kind == 1 ? _cvtsh_ss(h) : ss_bf16_to_fp32(h);
}

// accumulators c<p><j>: plain variables (the conditions on the compile-time RM, RN remove the unused)
#define ACC_P(p) __m512 c##p##0 = _mm512_setzero_ps(), c##p##1 = c##p##0, c##p##2 = c##p##0, c##p##3 = c##p##0, \
                        c##p##4 = c##p##0, c##p##5 = c##p##0, c##p##6 = c##p##0, c##p##7 = c##p##0;
#define W_P(p)   const __m512 w##p = 2 * (p) < RM ? load_pair(kind, w + 2 * (p) * ws + k * 2, ws, 2 * (p) + 1 < RM) : _mm512_setzero_ps();
#define FMA(p, j) if (2 * (p) < RM) c##p##j = _mm512_fmadd_ps(w##p, xv, c##p##j);
#define X_J(j)   if ((j) < RN) {                                                                 \
        const __m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps((const float *)(xp + (j) * xs) + k)); \
        FMA(0, j) FMA(1, j) FMA(2, j) }
#define STORE(p, j) if (2 * (p) < RM && (j) < RN) {                                             \
        float s[2];                                                                              \
        hsum_halves(c##p##j, s);                                                                 \
        const float *x = (const float *)(xp + (j) * xs);                                         \
        for (int h = 0; h < 2 && 2 * (p) + h < RM; h++) {                                        \
            const uint8_t *wr = w + (2 * (p) + h) * ws;                                          \
            for (int64_t kk = k; kk < K; kk++) s[h] = __builtin_fmaf(scalar_w(kind, wr + kk * 2), x[kk], s[h]); \
            out[(j) * ldo + 2 * (p) + h] = s[h];                                                 \
        } }
#define FOR_J(M, p) M(p, 0) M(p, 1) M(p, 2) M(p, 3) M(p, 4) M(p, 5) M(p, 6) M(p, 7)

// out[j * ldo + i] for i < RM, j < RN; pf: prefetch the rows [2 RM, 3 RM) (8 RM values a step: the
// tile's K steps cover RM rows of K values, a contiguous stream)
static ALWAYS_INLINE void tile_f(const int kind, const int RM, const int RN, int64_t K, const uint8_t *w, size_t ws,
                                 const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf) {
    ACC_P(0) ACC_P(1) ACC_P(2)
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        if (pf)
            for (int o = 0; o < 16 * RM; o += 64) _mm_prefetch((const char *)w + 2 * RM * ws + k * RM * 2 + o, _MM_HINT_T0);
        W_P(0) W_P(1) W_P(2)
        X_J(0) X_J(1) X_J(2) X_J(3) X_J(4) X_J(5) X_J(6) X_J(7)
    }
    FOR_J(STORE, 0) FOR_J(STORE, 1) FOR_J(STORE, 2)
}

typedef void (*tile_fn)(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, size_t xs, float *out, int64_t ldo, int pf);

// the tiles RM × RN (1..TM × 1..TN) of each kind: tab[kind - 1][(RM - 1) * TN + RN - 1]
#define TILE(kind, RM, RN) static void tile_##kind##_##RM##_##RN(int64_t K, const uint8_t *w, size_t ws, const uint8_t *xp, \
        size_t xs, float *out, int64_t ldo, int pf) { tile_f(kind, RM, RN, K, w, ws, xp, xs, out, ldo, pf); }
#define TILE_ROW(kind, RM) TILE(kind, RM, 1) TILE(kind, RM, 2) TILE(kind, RM, 3) TILE(kind, RM, 4) \
                           TILE(kind, RM, 5) TILE(kind, RM, 6) TILE(kind, RM, 7) TILE(kind, RM, 8)
#define TILE_ALL(kind) TILE_ROW(kind, 1) TILE_ROW(kind, 2) TILE_ROW(kind, 3) TILE_ROW(kind, 4) TILE_ROW(kind, 5) TILE_ROW(kind, 6)
#define TAB_ROW(kind, RM) tile_##kind##_##RM##_1, tile_##kind##_##RM##_2, tile_##kind##_##RM##_3, tile_##kind##_##RM##_4, \
                          tile_##kind##_##RM##_5, tile_##kind##_##RM##_6, tile_##kind##_##RM##_7, tile_##kind##_##RM##_8
#define TAB_ALL(kind) { TAB_ROW(kind, 1), TAB_ROW(kind, 2), TAB_ROW(kind, 3), TAB_ROW(kind, 4), TAB_ROW(kind, 5), TAB_ROW(kind, 6) }
TILE_ALL(1)
TILE_ALL(2)
static const tile_fn tiles[2][TM * TN] = { TAB_ALL(1), TAB_ALL(2) };

bool ss_gemm_f_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                      const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    if (wtype != SS_TYPE_F16 && wtype != SS_TYPE_BF16) return false;
    const tile_fn *tab = tiles[wtype == SS_TYPE_F16 ? 0 : 1];
    const uint8_t *W = w, *X = xp;
    for (int64_t i0 = 0; i0 < m; i0 += TM) {
        const int rm = m - i0 < TM ? (int)(m - i0) : TM;
        for (int64_t j0 = 0; j0 < n; j0 += TN) {
            const int rn = n - j0 < TN ? (int)(n - j0) : TN;
            tab[(rm - 1) * TN + (rn - 1)](K, W + i0 * ws, ws, X + j0 * xs, xs, out + j0 * ldo + i0, ldo, j0 == 0);
        }
    }
    return true;
}
