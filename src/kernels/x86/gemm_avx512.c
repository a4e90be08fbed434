// gemm_avx512.c — F16 / BF16 weights × f32 activations on 512-bit registers (the prefill path of
// F16/BF16 models), and the 512-bit VNNI tiles of the quantized types' panel kernel (at the end).
// Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mf16c -mfma (the VNNI tiles: a target
// attribute); reached through the dispatch (dispatch.c, when ss_cpu_has_avx512() / _avx512vnni()).
// Uses ss_quant.h, and gemm_avx2.c's panel driver for the VNNI tiles.
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
// for 4 × 3 outputs). Edge tiles: 1..3 row pairs × 1..8 activation rows (an odd row count loads its
// last row twice, the copy's chains unused); one shared function sums the chains and adds the tails
// (tile_finish). Row tiles outside, activation tiles inside (the tile's weight rows stay in L1); the
// first activation tile of a row tile prefetches the rows two tiles ahead. Measured (Zen 5, 1 thread,
// Qwen2.5-0.5B shapes as the matmul cuts them): 185-210 GFLOP/s, about 2x the AVX2 tiles and 80% of
// the 512-bit FMA peak; a step's 24 FMAs take ~14 cycles instead of 12 (the joins, conversions and
// broadcasts share the pipes).
#include "ss_avx512.h"
#include "ss_avx2.h"
#include <immintrin.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define TM 6   // weight rows per register tile (3 pairs; the matmul's chunks are multiples of 12)
#define TN 8   // activation rows per register tile (the matmul's activation tiles are multiples of 8)

// weight rows p and p + ws2 (lanes 0-7, 8-15), values k..k+7 as f32; kind 1 = F16, 2 = BF16
static ALWAYS_INLINE __m512 load_pair(const int kind, const uint8_t *p, size_t ws2) {
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                              _mm_loadu_si128((const __m128i *)(p + ws2)), 1);
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

// accumulators c<p><j>: plain variables (the conditions on the compile-time RP, RN remove the unused)
#define ACC_P(p) __m512 c##p##0 = _mm512_setzero_ps(), c##p##1 = c##p##0, c##p##2 = c##p##0, c##p##3 = c##p##0, \
                        c##p##4 = c##p##0, c##p##5 = c##p##0, c##p##6 = c##p##0, c##p##7 = c##p##0;
#define W_P(p)   const __m512 w##p = (p) < RP ? load_pair(kind, w + 2 * (p) * ws + k * 2, (p) == RP - 1 ? ws_last : ws) : _mm512_setzero_ps();
#define FMA(p, j) if ((p) < RP) c##p##j = _mm512_fmadd_ps(w##p, xv, c##p##j);
#define X_J(j)   if ((j) < RN) {                                                                 \
        const __m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps((const float *)(xp + (j) * xs) + k)); \
        FMA(0, j) FMA(1, j) FMA(2, j) }
#define SAVE(p, j) if ((p) < RP && (j) < RN) _mm512_store_ps(c + ((p) * TN + (j)) * 16, c##p##j);
#define FOR_J(M, p) M(p, 0) M(p, 1) M(p, 2) M(p, 3) M(p, 4) M(p, 5) M(p, 6) M(p, 7)

// the chains of RP row pairs × RN activation rows over the whole steps of 8 values, into c[p][j][16]
// (lanes 0-7: row 2p, 8-15: row 2p + 1). The second row of the last pair is ws_last bytes after its
// first (0 when the tile has an odd row count: the first row again, its chains unused). pf: prefetch
// the rows [4 RP, 6 RP) (16 RP values a step: the tile's K steps cover 2 RP rows of K values, a
// contiguous stream)
static ALWAYS_INLINE void tile_f(const int kind, const int RP, const int RN, int64_t K, const uint8_t *w, size_t ws, size_t ws_last,
                                 const uint8_t *xp, size_t xs, float *c, int pf) {
    ACC_P(0) ACC_P(1) ACC_P(2)
    for (int64_t k = 0; k + 8 <= K; k += 8) {
        if (pf)
            for (int o = 0; o < 32 * RP; o += 64) _mm_prefetch((const char *)w + 4 * RP * ws + k * RP * 4 + o, _MM_HINT_T0);
        W_P(0) W_P(1) W_P(2)
        X_J(0) X_J(1) X_J(2) X_J(3) X_J(4) X_J(5) X_J(6) X_J(7)
    }
    FOR_J(SAVE, 0) FOR_J(SAVE, 1) FOR_J(SAVE, 2)
}

// out[j * ldo + i] for i < rm, j < rn: the tree sums of the chains c (tile_f) and the tail values
// K8 .. K - 1 as scalar fmas
static __attribute__((noinline)) void tile_finish(int kind, int rm, int rn, int64_t K, const uint8_t *w, size_t ws,
                                                  const uint8_t *xp, size_t xs, const float *c, float *out, int64_t ldo) {
    const int64_t k8 = K / 8 * 8;
    for (int p = 0; 2 * p < rm; p++)
        for (int j = 0; j < rn; j++) {
            float s[2];
            hsum_halves(_mm512_load_ps(c + (p * TN + j) * 16), s);
            const float *x = (const float *)(xp + j * xs);
            for (int h = 0; h < 2 && 2 * p + h < rm; h++) {
                const uint8_t *wr = w + (2 * p + h) * ws;
                for (int64_t kk = k8; kk < K; kk++) s[h] = __builtin_fmaf(scalar_w(kind, wr + kk * 2), x[kk], s[h]);
                out[j * ldo + 2 * p + h] = s[h];
            }
        }
}

typedef void (*tile_fn)(int64_t K, const uint8_t *w, size_t ws, size_t ws_last, const uint8_t *xp, size_t xs, float *c, int pf);

// the tiles RP × RN (1..TM/2 × 1..TN) of each kind: tab[kind - 1][(RP - 1) * TN + RN - 1]
#define TILE(kind, RP, RN) static void tile_##kind##_##RP##_##RN(int64_t K, const uint8_t *w, size_t ws, size_t ws_last, \
        const uint8_t *xp, size_t xs, float *c, int pf) { tile_f(kind, RP, RN, K, w, ws, ws_last, xp, xs, c, pf); }
#define TILE_ROW(kind, RP) TILE(kind, RP, 1) TILE(kind, RP, 2) TILE(kind, RP, 3) TILE(kind, RP, 4) \
                           TILE(kind, RP, 5) TILE(kind, RP, 6) TILE(kind, RP, 7) TILE(kind, RP, 8)
#define TILE_ALL(kind) TILE_ROW(kind, 1) TILE_ROW(kind, 2) TILE_ROW(kind, 3)
#define TAB_ROW(kind, RP) tile_##kind##_##RP##_1, tile_##kind##_##RP##_2, tile_##kind##_##RP##_3, tile_##kind##_##RP##_4, \
                          tile_##kind##_##RP##_5, tile_##kind##_##RP##_6, tile_##kind##_##RP##_7, tile_##kind##_##RP##_8
#define TAB_ALL(kind) { TAB_ROW(kind, 1), TAB_ROW(kind, 2), TAB_ROW(kind, 3) }
TILE_ALL(1)
TILE_ALL(2)
static const tile_fn tiles[2][TM / 2 * TN] = { TAB_ALL(1), TAB_ALL(2) };

bool ss_gemm_f_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                      const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    if (wtype != SS_TYPE_F16 && wtype != SS_TYPE_BF16) return false;
    const int kind = wtype == SS_TYPE_F16 ? 1 : 2;
    const tile_fn *tab = tiles[kind - 1];
    const uint8_t *W = w, *X = xp;
    _Alignas(64) float c[TM / 2 * TN * 16];
    for (int64_t i0 = 0; i0 < m; i0 += TM) {
        const int rm = m - i0 < TM ? (int)(m - i0) : TM, rp = (rm + 1) / 2;
        for (int64_t j0 = 0; j0 < n; j0 += TN) {
            const int rn = n - j0 < TN ? (int)(n - j0) : TN;
            tab[(rp - 1) * TN + (rn - 1)](K, W + i0 * ws, ws, rm % 2 ? 0 : ws, X + j0 * xs, xs, c, j0 == 0);
            tile_finish(kind, rm, rn, K, W + i0 * ws, ws, X + j0 * xs, xs, c, out + j0 * ldo + i0, ldo);
        }
    }
    return true;
}

// ---- the panel kernel's 512-bit tiles (prefill of the quantized types with an integer form;
// gemm_avx2.c's driver unpacks the weights and calls them), for CPUs with AVX-512 VNNI
// (ss_cpu_has_avx512vnni): 6 weight rows × 2 panels (32 activation rows). Per sub-block b of S values
//   a[r][l] = corr[r][b] + Σ_{k in b} (qx[l][k] + 128) q[r][k]                 (int32, exact)
// with 512-bit vpdpbusd: one load holds a panel's 16 rows × 4 values (the panel layout, ss_quant.h),
// a broadcast the 4 values of a weight row; then, in k order,
//   c[r][l] = fma((float) a[r][l], sc[r][b] · dx[l][b], c[r][l])
//   c[r][l] = fma(xs[l][b], mn[r][b] · dx[l][b], c[r][l])          (Q4_K / Q5_K)
// the operations of gemm_avx2.c's tiles and of ss_gemm_ipanel_ref, so all three agree bit for bit.
// Registers: 12 integer and 12 float accumulators (the float ones stay in registers for the whole
// K-block: loaded from and stored to the accumulator tiles once per K-block, not per sub-block), two
// activation vectors and a weight broadcast. On Zen 5 vpdpbusd, vmulps and vfmadd share two pipes:
// a Q4_K sub-block of a tile is 96 vpdpbusd + 24 mul + 24 fma, ~72 cycles at best (the float steps
// of the definition are a third of it). Measured (Zen 5, 1 thread, 128 activation rows, the weights
// in 96-row chunks as the matmul cuts them): Q4_K 8960 × 1536 6.7 ms, Q6_K 1536 × 8960 6.8 ms,
// Q8_0 / Q5_0 4864 × 896 2.1 ms, against 13.7, 13.1, 3.5 ms on the AVX2 tiles with AVX-VNNI.
#define TV __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma")))

#define ZP_C(i)     __m512 c##i##0 = _mm512_load_ps(c + (i) * 16), c##i##1 = NP > 1 ? _mm512_load_ps(c + 96 + (i) * 16) : c##i##0;
#define ZP_ACC(i)   __m512i a##i##0 = _mm512_set1_epi32(W->corr[r0 + (i)][b]), a##i##1 = a##i##0;
#define ZP_DOT(i)   { int32_t wq; __builtin_memcpy(&wq, W->q[r0 + (i)] + k, 4);                                 \
                      const __m512i wv = _mm512_set1_epi32(wq);                                                 \
                      a##i##0 = _mm512_dpbusd_epi32(a##i##0, x0, wv);                                           \
                      if (NP > 1) a##i##1 = _mm512_dpbusd_epi32(a##i##1, x1, wv); }
#define ZP_SCALE(i) { const __m512 s = _mm512_set1_ps(W->sc[r0 + (i)][b]);                                      \
                      c##i##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##i##0), _mm512_mul_ps(s, d0), c##i##0);    \
                      if (NP > 1) c##i##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##i##1), _mm512_mul_ps(s, d1), c##i##1); \
                      if (has_min) {                                                                            \
                          const __m512 mm = _mm512_set1_ps(W->mn[r0 + (i)][b]);                                 \
                          c##i##0 = _mm512_fmadd_ps(_mm512_load_ps(xs0 + bx * 16), _mm512_mul_ps(mm, d0), c##i##0); \
                          if (NP > 1) c##i##1 = _mm512_fmadd_ps(_mm512_load_ps(xs1 + bx * 16), _mm512_mul_ps(mm, d1), c##i##1); \
                      } }
#define ZP_STORE(i) { _mm512_store_ps(c + (i) * 16, c##i##0); if (NP > 1) _mm512_store_ps(c + 96 + (i) * 16, c##i##1); }
#define ZP_ALL(F)   F(0) F(1) F(2) F(3) F(4) F(5)

// c[p][r][0:16] += the K-block [k0, k0 + kc) of weight rows r0..r0+5 against panels p < NP (1 or 2;
// xp: the first panel, ps bytes to the second; K: the panels' row length)
static ALWAYS_INLINE TV void ipanel_tile_z(const int S, const int has_min, const int NP, int64_t K, int64_t k0, int64_t kc,
                                           const uint8_t *xp, size_t ps, const ss_ipanel_w *W, int r0, float *c) {
    const uint8_t *xq0 = xp + k0 * SS_IPANEL_NR, *xq1 = xq0 + ps;
    const float *dx0 = (const float *)(xp + 16 * K) + k0 / 32 * SS_IPANEL_NR, *dx1 = (const float *)((const uint8_t *)dx0 + ps);
    const float *xs0 = (const float *)(xp + 18 * K) + k0 / 32 * SS_IPANEL_NR, *xs1 = (const float *)((const uint8_t *)xs0 + ps);
    ZP_ALL(ZP_C)
    for (int b = 0; b < kc / S; b++) {
        ZP_ALL(ZP_ACC)
        _Pragma("GCC unroll 8") for (int t = 0; t < S / 4; t++) {   // values k .. k + 3
            const int k = b * S + 4 * t;
            const __m512i x0 = _mm512_load_si512((const void *)(xq0 + k * 16));
            const __m512i x1 = NP > 1 ? _mm512_load_si512((const void *)(xq1 + k * 16)) : x0;
            ZP_ALL(ZP_DOT)
        }
        const int bx = b * S / 32;   // the activations' block of 32
        const __m512 d0 = _mm512_load_ps(dx0 + bx * 16), d1 = NP > 1 ? _mm512_load_ps(dx1 + bx * 16) : d0;
        ZP_ALL(ZP_SCALE)
    }
    ZP_ALL(ZP_STORE)
}

// the tiles: (sub-block size, min term) × (panels), called through ss_ipanel_tile_fn with np <= 2
#define ZP_VARIANT(name, S, MIN)                                                                             \
    static TV void name(int64_t K, int64_t k0, int64_t kc, const uint8_t *xp, size_t ps, int np, const ss_ipanel_w *W, int r0, float *c) { \
        if (np == 2) ipanel_tile_z(S, MIN, 2, K, k0, kc, xp, ps, W, r0, c);                                 \
        else ipanel_tile_z(S, MIN, 1, K, k0, kc, xp, ps, W, r0, c);                                         \
    }
ZP_VARIANT(ipanel_z_32,     32, 0)
ZP_VARIANT(ipanel_z_32_min, 32, 1)
ZP_VARIANT(ipanel_z_16,     16, 0)

bool ss_gemm_panel_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                          const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    const int S = ss_ipanel_sub(wtype);
    if (!S) return false;
    const ss_ipanel_tile_fn tile = S == 16 ? ipanel_z_16 : ss_ipanel_has_min(wtype) ? ipanel_z_32_min : ipanel_z_32;
    ss_ipanel_run_avx2(wtype, K, w, ws, m, xp, xs, n, out, ldo, tile, 2);
    return true;
}
