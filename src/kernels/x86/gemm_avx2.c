// gemm_avx2.c — the panel kernel of the matrix-matrix path (prefill: many activation rows).
// Compiled with -mavx2 -mfma -mf16c; reached through the dispatch table (ss_kernels.h). Uses
// quant_avx2.c's row helpers (ss_dequant_row_avx2, ss_pack_act_avx2) and nothing above them.
//
//   out[j, i] = Σ_k W[i, k] · X[j, k]      W[m, K]: any type with a SIMD row dequantizer;
//                                          X[n, K]: the activations rounded like the weights'
//                                          vec-dot type, as f32, in panels (SS_PACK_PANEL)
//
// Used for the quantized types from SS_GEMM_PANEL_MIN_T activation rows (ss_gemm_layout): the
// integer tiles of quant_avx2.c (no VNNI on this CPU) spend 4-5 vector operations per 32
// multiply-adds, and measured 1.05-1.3x slower than this kernel for 96-512 rows. This kernel is the
// outer-product form of BLAS libraries, in f32: activations are packed in panels of 16 rows,
// transposed (xq[k][16]), and the weights are dequantized to f32 once per K-block for all
// activation rows; per k, two vector loads of xq and six broadcasts of W[i][k] feed 12 FMAs
//   c[i][0:16] += W[i][k] · xq[k][0:16]     (6 weight rows i, 16 activation rows)
// into 12 accumulators, so loads never limit the FMAs. Each output is one FMA chain in k order:
//   s = 0; for k = 0..K-1: s = fma(W[i,k], X[j,k], s)
// whatever the tile, the blocking and the split between threads (the partial sums are kept,
// exactly, between K-blocks).
//
// Panel layout (SS_PACK_PANEL): rows in groups of 16, group p at p * 16 * xs bytes (xs =
// ss_pack_row_bytes, as for 16 plain rows), element (16p + l, k) at float index k * 16 + l;
// lanes past the last row are 0.
//
// Blocking: rows of W in groups of PANEL_MG, K in blocks of PANEL_KC. For one (group, K-block)
// the weight slice is dequantized once (PANEL_MG × PANEL_KC f32, in L2) and every activation
// panel's slice (PANEL_KC × 16 f32 = 16 KB, in L1) is multiplied with it, 6 rows at a time.
#include "ss_avx2.h"
#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define PANEL_NR 16     // activation rows per panel (two vectors)
#define PANEL_MR 6      // weight rows per register tile
#define PANEL_MG 48     // weight rows dequantized together (a multiple of PANEL_MR)
#define PANEL_KC 256    // K-block (a multiple of every block size)
#define PANEL_NP 16     // activation panels per pass (256 rows)

// 8×8 transpose of r[0..7]
static ALWAYS_INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// one activation panel: rows x[r] (r < nr <= 16, x_stride floats apart), rounded as
// ss_pack_act_avx2(SS_PACK_F32) rounds them, transposed into dst[k * 16 + r]; lanes r >= nr are 0
void ss_pack_panel_avx2(uint32_t wtype, const float *x, int64_t x_stride, int nr, int64_t K, float *dst) {
    _Alignas(32) float tmp[PANEL_NR * PANEL_KC];
    for (int64_t k0 = 0; k0 < K; k0 += PANEL_KC) {
        const int64_t kc = K - k0 < PANEL_KC ? K - k0 : PANEL_KC;
        for (int r = 0; r < PANEL_NR; r++) {
            if (r < nr) ss_pack_act_avx2(wtype, SS_PACK_F32, x + r * x_stride + k0, kc, tmp + r * PANEL_KC);
            else memset(tmp + r * PANEL_KC, 0, sizeof(float) * (size_t)kc);
        }
        float *d = dst + k0 * PANEL_NR;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8)
            for (int h = 0; h < 2; h++) {
                __m256 v[8];
                for (int r = 0; r < 8; r++) v[r] = _mm256_load_ps(tmp + (h * 8 + r) * PANEL_KC + k);
                transpose8(v);
                for (int c = 0; c < 8; c++) _mm256_store_ps(d + (k + c) * PANEL_NR + h * 8, v[c]);
            }
        for (; k < kc; k++)
            for (int r = 0; r < PANEL_NR; r++) d[k * PANEL_NR + r] = tmp[r * PANEL_KC + k];
    }
}

// c[i][0:16] = (first ? 0 : c[i][0:16]) + Σ_{k<kc} wd[i][k] · xq[k][0:16] for i < 6, one FMA per k
// in k order; wd rows PANEL_KC floats apart, c 16 floats per row
#define PT_ACC(i)   __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
#define PT_LOAD(i)  c##i##0 = _mm256_load_ps(c + (i) * 16); c##i##1 = _mm256_load_ps(c + (i) * 16 + 8);
#define PT_FMA(i)   { const __m256 b = _mm256_broadcast_ss(wd + (i) * PANEL_KC + k);   \
                      c##i##0 = _mm256_fmadd_ps(b, x0, c##i##0); c##i##1 = _mm256_fmadd_ps(b, x1, c##i##1); }
#define PT_STORE(i) _mm256_store_ps(c + (i) * 16, c##i##0); _mm256_store_ps(c + (i) * 16 + 8, c##i##1);
#define PT_ALL(F)   F(0) F(1) F(2) F(3) F(4) F(5)

static void panel_tile(int64_t kc, const float *xq, const float *wd, float *c, int first) {
    PT_ALL(PT_ACC)
    if (!first) { PT_ALL(PT_LOAD) }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 x0 = _mm256_load_ps(xq + k * PANEL_NR), x1 = _mm256_load_ps(xq + k * PANEL_NR + 8);
        PT_ALL(PT_FMA)
    }
    PT_ALL(PT_STORE)
}

// wd[r][0:kc] = W[i0 + r, k0 : k0 + kc] for r < mr, rows mr..mg-1 (padding to the tile height) 0
static void panel_dequant(uint32_t wtype, const ss_type_info_t *ti, const uint8_t *w, size_t ws, int mr, int mg,
                          int64_t k0, int64_t kc, float *wd) {
    for (int r = 0; r < mg; r++) {
        float *d = wd + r * PANEL_KC;
        const uint8_t *row = w + r * ws + (size_t)(k0 / ti->blck) * ti->type_size;
        if (r >= mr) memset(d, 0, sizeof(float) * (size_t)kc);
        else if (wtype == SS_TYPE_F32) memcpy(d, row, sizeof(float) * (size_t)kc);
        else ss_dequant_row_avx2(wtype, row, d, kc);
    }
}

// prefetch part `part` of `parts` of the weight slice W[0:mr, k0 : k0 + kc] (rows ws bytes apart):
// the next slice is fetched a few lines per register tile while the current one is multiplied, so
// that dequantizing it does not wait for memory
static void panel_prefetch(const ss_type_info_t *ti, const uint8_t *w, size_t ws, int mr, int64_t k0, int64_t kc,
                           int part, int parts) {
    const size_t off = (size_t)(k0 / ti->blck) * ti->type_size, len = (size_t)(kc / ti->blck) * ti->type_size;
    const size_t per_row = (len + 63) / 64, lines = per_row * (size_t)mr;
    for (size_t l = lines * part / parts; l < lines * (part + 1) / parts; l++)
        _mm_prefetch((const char *)w + (l / per_row) * ws + off + (l % per_row) * 64, _MM_HINT_T0);
}

bool ss_gemm_panel_avx2(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                        const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    const ss_type_info_t *ti = ss_type_info(wtype);
    if (!ti || PANEL_KC % ti->blck) return false;
    _Alignas(32) float wd[PANEL_MG * PANEL_KC];                              // 48 KB
    _Alignas(32) float acc[(PANEL_MG / PANEL_MR) * PANEL_NP * PANEL_MR * PANEL_NR];   // 48 KB (96 KB of stack in all)
    const uint8_t *W = w, *X = xp;
    for (int64_t j0 = 0; j0 < n; j0 += PANEL_NP * PANEL_NR) {
        const int64_t nn = n - j0 < PANEL_NP * PANEL_NR ? n - j0 : PANEL_NP * PANEL_NR;
        const int np = (int)((nn + PANEL_NR - 1) / PANEL_NR);
        for (int64_t i0 = 0; i0 < m; i0 += PANEL_MG) {
            const int mr = m - i0 < PANEL_MG ? (int)(m - i0) : PANEL_MG;
            const int mg = (mr + PANEL_MR - 1) / PANEL_MR * PANEL_MR, ng = mg / PANEL_MR;   // rows, register tiles
            for (int64_t k0 = 0; k0 < K; k0 += PANEL_KC) {
                const int64_t kc = K - k0 < PANEL_KC ? K - k0 : PANEL_KC;
                if (i0 == 0 && k0 == 0) panel_prefetch(ti, W, ws, mr, 0, kc, 0, 1);   // the first slice: all its lines in flight at once
                panel_dequant(wtype, ti, W + (size_t)i0 * ws, ws, mr, mg, k0, kc, wd);
                // the next slice: the next K-block of these rows, or the first of the next rows
                const int64_t ni0 = k0 + kc < K ? i0 : i0 + PANEL_MG, nk0 = k0 + kc < K ? k0 + kc : 0;
                const int nmr = ni0 >= m ? 0 : m - ni0 < PANEL_MG ? (int)(m - ni0) : PANEL_MG;
                const int64_t nkc = K - nk0 < PANEL_KC ? K - nk0 : PANEL_KC;
                for (int p = 0; p < np; p++) {
                    const float *xq = (const float *)(X + (size_t)(j0 + p * PANEL_NR) * xs) + k0 * PANEL_NR;
                    for (int g = 0; g < ng; g++) {
                        panel_prefetch(ti, W + (size_t)ni0 * ws, ws, nmr, nk0, nkc, p * ng + g, np * ng);
                        panel_tile(kc, xq, wd + g * PANEL_MR * PANEL_KC, acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR, k0 == 0);
                    }
                }
            }
            // out[j0 + 16p + l][i0 + 6g + r] = acc[g][p][r][l]
            for (int g = 0; g < ng; g++)
                for (int p = 0; p < np; p++) {
                    const float *a = acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR;
                    if (g * PANEL_MR + PANEL_MR <= mr && p * PANEL_NR + PANEL_NR <= nn) {   // whole tile: transposed in registers
                        const __m256i m6 = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
                        for (int h = 0; h < 2; h++) {
                            __m256 v[8];
                            for (int r = 0; r < PANEL_MR; r++) v[r] = _mm256_load_ps(a + r * PANEL_NR + 8 * h);
                            v[6] = v[7] = _mm256_setzero_ps();
                            transpose8(v);
                            for (int l = 0; l < 8; l++)
                                _mm256_maskstore_ps(out + (j0 + p * PANEL_NR + 8 * h + l) * ldo + i0 + g * PANEL_MR, m6, v[l]);
                        }
                        continue;
                    }
                    for (int r = 0; r < PANEL_MR && g * PANEL_MR + r < mr; r++)
                        for (int l = 0; l < PANEL_NR && p * PANEL_NR + l < nn; l++)
                            out[(j0 + p * PANEL_NR + l) * ldo + i0 + g * PANEL_MR + r] = a[r * PANEL_NR + l];
                }
        }
    }
    return true;
}
