// gemm_avx2.c — the panel kernel of the matrix-matrix path (prefill: many activation rows) for the
// quantized types with an integer form (qgemm.c: W[k] = sc[b] q[k] + mn[b] per sub-block b of S
// values). Compiled with -mavx2 -mfma -mf16c; reached through the dispatch table (ss_kernels.h).
// Uses quant_avx2.c's activation rounding (ss_quant_act_avx2) and nothing above it.
//
//   out[j, i] = Σ_b fma chain of (Σ_{k in b} q[i, k] qx[j, k]) · sc[i, b] dx[j, b]   (ss_gemm_ipanel_ref)
//
// Blocking: rows of W in groups of PANEL_MG, K in blocks of PANEL_KC; for one (group, K-block) the
// weight slice is unpacked to int8 once (PANEL_MG × PANEL_KC bytes, with its sub-block scales) and
// every activation panel's slice (16 rows × PANEL_KC bytes, in L1) is multiplied with it in 6 × 16
// register tiles: per sub-block and tile
//   a[r][l] = Σ_{k in b} (qx[l][k] + 128) q[r][k] - 128 Σ_{k in b} q[r][k]     (int32, exact)
// with vpdpbusd (AVX-VNNI: u8 × s8, four products a lane, no saturation) or, without VNNI, the same
// sums from vpmaddwd on the even and odd bytes widened to 16 bits. Then, in k order,
//   c[r][l] = fma((float) a[r][l], sc[r][b] · dx[l][b], c[r][l])   (+ the min term, Q4_K / Q5_K)
// exactly as ss_gemm_ipanel_ref, so VNNI, plain AVX2 and the scalar definition agree bit for bit,
// whatever the tile, the blocking and the split between threads. The float accumulators c live in
// the group's accumulator tiles (L1): the 12 integer accumulators, two activation vectors and a
// weight broadcast fill the 16 registers. Measured (Qwen2.5-0.5B shapes, 1 thread): ~2.2x the
// tokens per CPU-second of the f32 panel kernel it replaced (weights dequantized to f32, FMA).
//
// Panel layout (SS_PACK_PANEL, ss_quant.h): 16 rows; qx + 128 as uint8 in groups of 4 values per
// row, then the block scales and block sums of the rows as floats.
#include "ss_avx2.h"
#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define PANEL_NR 16     // activation rows per panel (two vectors)
#define PANEL_MR 6      // weight rows per register tile
#define PANEL_MG 48     // weight rows unpacked together (a multiple of PANEL_MR)
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

// out[16p + l][6g + r] = acc[g][p][r][l] for the rows r < mr of the group and l < nn (acc: tiles
// of 6 × 16 floats, [g][p] at (g * PANEL_NP + p) * 96); whole tiles are transposed in registers
static void panel_store(const float *acc, int ng, int np, int mr, int64_t nn, float *out, int64_t ldo) {
    for (int g = 0; g < ng; g++)
        for (int p = 0; p < np; p++) {
            const float *a = acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR;
            if (g * PANEL_MR + PANEL_MR <= mr && p * PANEL_NR + PANEL_NR <= nn) {
                for (int h = 0; h < 2; h++) {
                    __m256 v[8];
                    for (int r = 0; r < PANEL_MR; r++) v[r] = _mm256_load_ps(a + r * PANEL_NR + 8 * h);
                    v[6] = v[7] = _mm256_setzero_ps();
                    transpose8(v);
                    for (int l = 0; l < 8; l++) {   // 4 + 2 floats (masked stores are slow on AMD)
                        float *o = out + (p * PANEL_NR + 8 * h + l) * ldo + g * PANEL_MR;
                        _mm_storeu_ps(o, _mm256_castps256_ps128(v[l]));
                        _mm_storel_pi((__m64 *)(o + 4), _mm256_extractf128_ps(v[l], 1));
                    }
                }
                continue;
            }
            for (int r = 0; r < PANEL_MR && g * PANEL_MR + r < mr; r++)
                for (int l = 0; l < PANEL_NR && p * PANEL_NR + l < nn; l++)
                    out[(p * PANEL_NR + l) * ldo + g * PANEL_MR + r] = a[r * PANEL_NR + l];
        }
}

#define IP_SUBS (PANEL_KC / 16)   // sub-blocks per K-block at most (S = 16)

// one weight group's K-block in integer form (rows past the matrix: zeros)
typedef struct {
    _Alignas(32) int8_t q[PANEL_MG][PANEL_KC];
    float sc[PANEL_MG][IP_SUBS], mn[PANEL_MG][IP_SUBS];
    int32_t corr[PANEL_MG][IP_SUBS];   // -128 Σ_{k in b} q[k]: removes the activations' +128
} ipanel_w;

// one activation panel: rows x[r] (r < nr) rounded to the vec-dot type by quant_act (bit-identical
// to ss_quant_act_ref), into the SS_PACK_PANEL layout (ss_quant.h)
void ss_pack_panel_avx2(uint32_t wtype, const float *x, int64_t x_stride, int nr, int64_t K, uint8_t *dst) {
    const uint32_t vt = ss_vec_dot_type(wtype);
    float *dx = (float *)(dst + 16 * K), *xs = (float *)(dst + 18 * K);
    _Alignas(32) uint8_t blk[sizeof(ss_block_q8_K) * (PANEL_KC / SS_QK_K) + sizeof(ss_block_q8_0) * (PANEL_KC / SS_QK)];
    for (int64_t k0 = 0; k0 < K; k0 += PANEL_KC) {
        const int64_t kc = K - k0 < PANEL_KC ? K - k0 : PANEL_KC;
        for (int r = 0; r < PANEL_NR; r++) {
            if (r < nr && !ss_quant_act_avx2(vt, x + r * x_stride + k0, blk, kc)) ss_quant_act_ref(wtype, x + r * x_stride + k0, blk, kc);
            for (int64_t b = 0; b < kc / 32; b++) {
                const int64_t gb = k0 / 32 + b;
                const int8_t *q = NULL;
                float d = 0.0f;
                if (r < nr && vt == SS_TYPE_Q8_0) {
                    const ss_block_q8_0 *x8 = (const ss_block_q8_0 *)blk + b;
                    q = x8->qs;
                    d = _cvtsh_ss(x8->d);
                } else if (r < nr) {
                    const ss_block_q8_K *x8 = (const ss_block_q8_K *)blk + b / 8;
                    q = x8->qs + 32 * (b % 8);
                    d = x8->d;
                }
                int32_t sum = 0;
                for (int t = 0; t < 8; t++) {
                    uint32_t v = 0;
                    if (q) {
                        memcpy(&v, q + 4 * t, 4);
                        sum += q[4 * t] + q[4 * t + 1] + q[4 * t + 2] + q[4 * t + 3];
                    }
                    v ^= 0x80808080u;   // + 128 in each byte
                    memcpy(dst + (size_t)(gb * 8 + t) * 64 + 4 * r, &v, 4);
                }
                dx[gb * PANEL_NR + r] = d;
                xs[gb * PANEL_NR + r] = (float)sum;
            }
        }
    }
}

// acc += Σ_{4 bytes of a lane} x (unsigned) · w (signed), exactly (vpdpbusd's definition)
static ALWAYS_INLINE __m256i ip_dot(__m256i acc, __m256i x, __m256i w, const int vnni) {
    if (vnni) {
        __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
        return acc;
    }
    const __m256i xe = _mm256_and_si256(x, _mm256_set1_epi16(0xFF)), xo = _mm256_srli_epi16(x, 8);
    const __m256i we = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8), wo = _mm256_srai_epi16(w, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(xe, we), _mm256_madd_epi16(xo, wo)));
}

#define IP_ACC(i)   __m256i a##i##0 = _mm256_set1_epi32(W->corr[r0 + (i)][b]), a##i##1 = a##i##0;
#define IP_DOT(i)   { int32_t wq; memcpy(&wq, W->q[r0 + (i)] + k, 4);                               \
                      const __m256i wv = _mm256_set1_epi32(wq);                                     \
                      a##i##0 = ip_dot(a##i##0, x0, wv, vnni); a##i##1 = ip_dot(a##i##1, x1, wv, vnni); }
#define IP_SCALE(i) { const __m256 s = _mm256_set1_ps(W->sc[r0 + (i)][b]);                           \
                      __m256 c0 = _mm256_load_ps(c + (i) * 16), c1 = _mm256_load_ps(c + (i) * 16 + 8);  \
                      c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a##i##0), _mm256_mul_ps(s, d0), c0);     \
                      c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a##i##1), _mm256_mul_ps(s, d1), c1);     \
                      if (has_min) {                                                                \
                          const __m256 mm = _mm256_set1_ps(W->mn[r0 + (i)][b]);                      \
                          c0 = _mm256_fmadd_ps(_mm256_load_ps(xs + bx * 16), _mm256_mul_ps(mm, d0), c0);   \
                          c1 = _mm256_fmadd_ps(_mm256_load_ps(xs + bx * 16 + 8), _mm256_mul_ps(mm, d1), c1); \
                      }                                                                             \
                      _mm256_store_ps(c + (i) * 16, c0); _mm256_store_ps(c + (i) * 16 + 8, c1); }
#define IP_ALL(F)   F(0) F(1) F(2) F(3) F(4) F(5)

// c[r][0:16] += the K-block's sub-blocks of weight rows r0..r0+5 against one panel (xq: its
// values from the K-block's start, dx and xs: its block scales and sums from there)
static ALWAYS_INLINE void ipanel_tile(int64_t kc, const uint8_t *xq, const float *dx, const float *xs, const ipanel_w *W,
                                      int r0, float *c, const int S, const int has_min, const int vnni) {
    for (int b = 0; b < kc / S; b++) {
        IP_ALL(IP_ACC)
        for (int k = b * S; k < (b + 1) * S; k += 4) {
            const __m256i x0 = _mm256_load_si256((const __m256i *)(xq + k * 16)), x1 = _mm256_load_si256((const __m256i *)(xq + k * 16 + 32));
            IP_ALL(IP_DOT)
        }
        const int bx = b * S / 32;   // the activations' block of 32
        const __m256 d0 = _mm256_load_ps(dx + bx * 16), d1 = _mm256_load_ps(dx + bx * 16 + 8);
        IP_ALL(IP_SCALE)
    }
}

// values [k0, k0 + kc) of a row in integer form (ss_ipanel_unpack_ref's q, sc, mn, bit for bit), SIMD
// for Q8_0, Q4_0, Q4_K and Q6_K, the scalar definition for the others
static void ipanel_unpack_row(uint32_t wtype, const uint8_t *row, int64_t k0, int64_t kc, int8_t *q, float *sc, float *mn) {
    const ss_type_info_t *ti = ss_type_info(wtype);
    const uint8_t *blk = row + (size_t)(k0 / ti->blck) * ti->type_size;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    switch (wtype) {
    case SS_TYPE_Q8_0:
        for (int64_t b = 0; b < kc / 32; b++, blk += sizeof(ss_block_q8_0)) {
            const ss_block_q8_0 *x = (const ss_block_q8_0 *)blk;
            _mm256_store_si256((__m256i *)(q + 32 * b), _mm256_loadu_si256((const __m256i *)x->qs));
            sc[b] = _cvtsh_ss(x->d);
        }
        return;
    case SS_TYPE_Q4_0:
        for (int64_t b = 0; b < kc / 32; b++, blk += sizeof(ss_block_q4_0)) {
            const ss_block_q4_0 *x = (const ss_block_q4_0 *)blk;
            const __m128i v = _mm_loadu_si128((const __m128i *)x->qs);
            const __m256i lh = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), m4);   // values 0..15, 16..31
            _mm256_store_si256((__m256i *)(q + 32 * b), _mm256_sub_epi8(lh, _mm256_set1_epi8(8)));
            sc[b] = _cvtsh_ss(x->d);
        }
        return;
    case SS_TYPE_Q4_K:
        for (int64_t k = 0; k < kc; k += SS_QK_K, blk += sizeof(ss_block_q4_K)) {
            const ss_block_q4_K *x = (const ss_block_q4_K *)blk;
            const float d = _cvtsh_ss(x->d), dmin = _cvtsh_ss(x->dmin);
            for (int g = 0; g < 4; g++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * g));
                _mm256_store_si256((__m256i *)(q + k + 64 * g), _mm256_and_si256(v, m4));
                _mm256_store_si256((__m256i *)(q + k + 64 * g + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
            }
            for (int b = 0; b < 8; b++) {
                uint8_t s, m;
                ss_get_scale_min_k4(b, x->scales, &s, &m);
                sc[k / 32 + b] = d * s;
                mn[k / 32 + b] = -(dmin * m);
            }
        }
        return;
    case SS_TYPE_Q6_K:
        for (int64_t k = 0; k < kc; k += SS_QK_K, blk += sizeof(ss_block_q6_K)) {
            const ss_block_q6_K *x = (const ss_block_q6_K *)blk;
            const float d = _cvtsh_ss(x->d);
            const __m256i m3 = _mm256_set1_epi8(3), o32 = _mm256_set1_epi8(32);
            for (int h = 0; h < 2; h++) {
                const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h)), l1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
                const __m256i hb = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                int8_t *d8 = q + k + 128 * h;
                // value = (nibble | 2 bits of qh << 4) - 32
#define Q6_STORE(off, nib, sh) _mm256_store_si256((__m256i *)(d8 + (off)), _mm256_sub_epi8(_mm256_or_si256(nib, \
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, sh), m3), 4)), o32))
                Q6_STORE(0,  _mm256_and_si256(l0, m4), 0);
                Q6_STORE(32, _mm256_and_si256(l1, m4), 2);
                Q6_STORE(64, _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), 4);
                Q6_STORE(96, _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), 6);
#undef Q6_STORE
            }
            for (int b = 0; b < 16; b++) sc[k / 16 + b] = d * x->scales[b];
        }
        return;
    default:
        ss_ipanel_unpack_ref(wtype, row, k0, kc, q, sc, mn);
    }
}

// the group's K-block in integer form, and the corrections -128 Σ q per sub-block
static void ipanel_unpack(uint32_t wtype, const uint8_t *w, size_t ws, int mr, int mg, int64_t k0, int64_t kc, int S, ipanel_w *W) {
    for (int r = 0; r < mg; r++) {
        if (r >= mr) {
            memset(W->q[r], 0, (size_t)kc);
            memset(W->sc[r], 0, sizeof W->sc[r]);
            memset(W->mn[r], 0, sizeof W->mn[r]);
            memset(W->corr[r], 0, sizeof W->corr[r]);
            continue;
        }
        ipanel_unpack_row(wtype, w + r * ws, k0, kc, W->q[r], W->sc[r], W->mn[r]);
        // Σ q over 8 bytes = sad(q + 128, 0) - 1024 (64-bit lanes)
        for (int k = 0; k < kc; k += 32) {
            const __m256i v = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(W->q[r] + k)), _mm256_set1_epi8((char)0x80));
            const __m256i s8 = _mm256_sub_epi64(_mm256_sad_epu8(v, _mm256_setzero_si256()), _mm256_set1_epi64x(1024));
            int64_t t[4];
            _mm256_storeu_si256((__m256i *)t, s8);
            if (S == 16) {
                W->corr[r][k / 16] = (int32_t)(-128 * (t[0] + t[1]));
                W->corr[r][k / 16 + 1] = (int32_t)(-128 * (t[2] + t[3]));
            } else W->corr[r][k / 32] = (int32_t)(-128 * (t[0] + t[1] + t[2] + t[3]));
        }
    }
}

static ALWAYS_INLINE void ipanel_run(uint32_t wtype, int64_t K, const uint8_t *W, size_t ws, int64_t m, const uint8_t *X, size_t xs,
                                     int64_t n, float *out, int64_t ldo, const int S, const int has_min, const int vnni) {
    const ss_type_info_t *ti = ss_type_info(wtype);
    ipanel_w wi;                                                                      // 21 KB
    _Alignas(32) float acc[(PANEL_MG / PANEL_MR) * PANEL_NP * PANEL_MR * PANEL_NR];   // 48 KB
    const size_t panel = (size_t)PANEL_NR * xs;
    for (int64_t j0 = 0; j0 < n; j0 += PANEL_NP * PANEL_NR) {
        const int64_t nn = n - j0 < PANEL_NP * PANEL_NR ? n - j0 : PANEL_NP * PANEL_NR;
        const int np = (int)((nn + PANEL_NR - 1) / PANEL_NR);
        for (int64_t i0 = 0; i0 < m; i0 += PANEL_MG) {
            const int mr = m - i0 < PANEL_MG ? (int)(m - i0) : PANEL_MG;
            const int mg = (mr + PANEL_MR - 1) / PANEL_MR * PANEL_MR, ng = mg / PANEL_MR;
            memset(acc, 0, sizeof acc);
            for (int64_t k0 = 0; k0 < K; k0 += PANEL_KC) {
                const int64_t kc = K - k0 < PANEL_KC ? K - k0 : PANEL_KC;
                if (i0 == 0 && k0 == 0) panel_prefetch(ti, W, ws, mr, 0, kc, 0, 1);
                ipanel_unpack(wtype, W + (size_t)i0 * ws, ws, mr, mg, k0, kc, S, &wi);
                const int64_t ni0 = k0 + kc < K ? i0 : i0 + PANEL_MG, nk0 = k0 + kc < K ? k0 + kc : 0;
                const int nmr = ni0 >= m ? 0 : m - ni0 < PANEL_MG ? (int)(m - ni0) : PANEL_MG;
                const int64_t nkc = K - nk0 < PANEL_KC ? K - nk0 : PANEL_KC;
                for (int p = 0; p < np; p++) {
                    const uint8_t *xp = X + (size_t)(j0 / PANEL_NR + p) * panel;
                    const float *dx = (const float *)(xp + 16 * K) + k0 / 32 * PANEL_NR, *xsum = (const float *)(xp + 18 * K) + k0 / 32 * PANEL_NR;
                    for (int g = 0; g < ng; g++) {
                        panel_prefetch(ti, W + (size_t)ni0 * ws, ws, nmr, nk0, nkc, p * ng + g, np * ng);
                        ipanel_tile(kc, xp + k0 * PANEL_NR, dx, xsum, &wi, g * PANEL_MR, acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR,
                                    S, has_min, vnni);
                    }
                }
            }
            panel_store(acc, ng, np, mr, nn, out + j0 * ldo + i0, ldo);
        }
    }
}

// the variants: (sub-block size, min term) × (VNNI or not)
#define IP_VARIANT(name, S, MIN, VNNI)                                                                 \
    static void name(uint32_t wtype, int64_t K, const uint8_t *W, size_t ws, int64_t m, const uint8_t *X, size_t xs, \
                     int64_t n, float *out, int64_t ldo) { ipanel_run(wtype, K, W, ws, m, X, xs, n, out, ldo, S, MIN, VNNI); }
IP_VARIANT(ipanel_32,       32, 0, 0)
IP_VARIANT(ipanel_32_min,   32, 1, 0)
IP_VARIANT(ipanel_16,       16, 0, 0)
IP_VARIANT(ipanel_32_v,     32, 0, 1)
IP_VARIANT(ipanel_32_min_v, 32, 1, 1)
IP_VARIANT(ipanel_16_v,     16, 0, 1)

bool ss_gemm_panel_avx2(uint32_t wtype, bool vnni, int64_t K, const void *w, size_t ws, int64_t m,
                         const void *xp, size_t xs, int64_t n, float *out, int64_t ldo) {
    const int S = ss_ipanel_sub(wtype);
    if (!S) return false;
    const bool mn = ss_ipanel_has_min(wtype);
    void (*f)(uint32_t, int64_t, const uint8_t *, size_t, int64_t, const uint8_t *, size_t, int64_t, float *, int64_t) =
        S == 16 ? (vnni ? ipanel_16_v : ipanel_16) : mn ? (vnni ? ipanel_32_min_v : ipanel_32_min) : (vnni ? ipanel_32_v : ipanel_32);
    f(wtype, K, w, ws, m, xp, xs, n, out, ldo);
    return true;
}
