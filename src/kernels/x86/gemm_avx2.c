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
// The blocking, the unpacking and the stores (ss_ipanel_run_avx2) also drive gemm_avx512.c's
// 512-bit tiles (6 rows × 2 panels), through a tile function.
//
// Panel layout (SS_PACK_PANEL, ss_quant.h): 16 rows; qx + 128 as uint8 in groups of 4 values per
// row, then the block scales and block sums of the rows as floats.
#include "ss_avx2.h"
#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define PANEL_NR SS_IPANEL_NR
#define PANEL_MR SS_IPANEL_MR
#define PANEL_MG SS_IPANEL_MG
#define PANEL_KC SS_IPANEL_KC
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

// the prefetch of `rows` rows of `bytes` bytes from p (rows `stride` bytes apart), a few lines per
// register tile: the weight slice W[0:mr, k0 : k0 + kc] of the next K-block while the current one
// is multiplied (so that unpacking it does not wait for memory), and during the last K-block the
// output block (so that storing it does not wait for the lines). A cursor (line col of the row at
// p; lines left), no divisions per line.
typedef struct { const uint8_t *p; size_t stride; int per_row, col, left; } panel_pf;

static void panel_pf_start(panel_pf *f, const void *p, size_t stride, size_t bytes, int rows) {
    f->p = p;
    f->stride = stride;
    f->per_row = (int)((bytes + 63) / 64);
    f->col = 0;
    f->left = f->per_row * rows;
}

// the next n lines of the slice (or those left)
static ALWAYS_INLINE void panel_pf_step(panel_pf *f, int n) {
    for (; n > 0 && f->left > 0; n--, f->left--) {
        _mm_prefetch((const char *)f->p + 64 * f->col, _MM_HINT_T0);
        if (++f->col == f->per_row) { f->col = 0; f->p += f->stride; }
    }
}

// out[16p + l][6g + r] = acc[g][p][r][l] for the rows r < mr of the group and l < nn (acc: tiles
// of 6 × 16 floats, [g][p] at (g * PANEL_NP + p) * 96); whole tiles are transposed in registers.
// Eight output rows at a time, each written across the group (its 48 floats) before the next
// eight: the lines are written while they are in L1
static void panel_store(const float *acc, int ng, int np, int mr, int64_t nn, float *out, int64_t ldo) {
    for (int p = 0; p < np; p++)
        for (int h = 0; h < 2; h++)
            for (int g = 0; g < ng; g++) {
                const float *a = acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR;
                if (g * PANEL_MR + PANEL_MR <= mr && p * PANEL_NR + PANEL_NR <= nn) {
                    __m256 v[8];
                    for (int r = 0; r < PANEL_MR; r++) v[r] = _mm256_load_ps(a + r * PANEL_NR + 8 * h);
                    v[6] = v[7] = _mm256_setzero_ps();
                    transpose8(v);
                    for (int l = 0; l < 8; l++) {   // 4 + 2 floats (masked stores are slow on AMD)
                        float *o = out + (p * PANEL_NR + 8 * h + l) * ldo + g * PANEL_MR;
                        _mm_storeu_ps(o, _mm256_castps256_ps128(v[l]));
                        _mm_storel_pi((__m64 *)(o + 4), _mm256_extractf128_ps(v[l], 1));
                    }
                } else
                    for (int r = 0; r < PANEL_MR && g * PANEL_MR + r < mr; r++)
                        for (int l = 8 * h; l < 8 * h + 8 && p * PANEL_NR + l < nn; l++)
                            out[(p * PANEL_NR + l) * ldo + g * PANEL_MR + r] = a[r * PANEL_NR + l];
            }
}

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
static ALWAYS_INLINE void ipanel_tile(int64_t kc, const uint8_t *xq, const float *dx, const float *xs, const ss_ipanel_w *W,
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

// values [k0, k0 + kc) of a row in integer form (ss_ipanel_unpack_ref's q, sc, mn, bit for bit, mn
// only for the types with the min term), in SIMD: the values as in the formats' dequantization, the
// scales as the same float products (d · s, -(dmin · m), exact conversions of the small integers)
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
    case SS_TYPE_Q4_0: case SS_TYPE_Q5_0:   // n - 8 (Q4_0), (n | 5th bit << 4) - 16 (Q5_0)
        for (int64_t b = 0; b < kc / 32; b++, blk += ti->type_size) {
            const bool q5 = wtype == SS_TYPE_Q5_0;
            const __m128i v = _mm_loadu_si128((const __m128i *)(blk + (q5 ? 6 : 2)));
            __m256i lh = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), m4);   // values 0..15, 16..31
            if (q5) lh = _mm256_or_si256(lh, ss_bits_to_0x10(blk + 2));
            _mm256_store_si256((__m256i *)(q + 32 * b), _mm256_sub_epi8(lh, _mm256_set1_epi8(q5 ? 16 : 8)));
            uint16_t d;
            memcpy(&d, blk, 2);
            sc[b] = _cvtsh_ss(d);
        }
        return;
    case SS_TYPE_Q4_K: case SS_TYPE_Q5_K:   // group g of 64: low nibbles = sub-block 2g, high = 2g + 1
        for (int64_t k = 0; k < kc; k += SS_QK_K, blk += ti->type_size) {
            const bool q5 = wtype == SS_TYPE_Q5_K;
            const uint8_t *qs = blk + (q5 ? 48 : 16);   // (d, dmin, scales[12] first in both)
            const __m256i hb = q5 ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256(), one = _mm256_set1_epi8(1);
            for (int g = 0; g < 4; g++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
                __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if (q5) {   // + 16 where bit 2g (2g + 1) of qh[l] is set
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * g)), one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * g + 1)), one), 4));
                }
                _mm256_store_si256((__m256i *)(q + k + 64 * g), lo);
                _mm256_store_si256((__m256i *)(q + k + 64 * g + 32), hi);
            }
            uint32_t dd;
            memcpy(&dd, blk, 4);
            const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dd));   // d, dmin
            const __m128i sm = ss_k4_scales_mins(blk + 4);                 // bytes sc_0..7, m_0..7
            const __m256 s8 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm)), m8 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8)));
            _mm256_storeu_ps(sc + k / 32, _mm256_mul_ps(_mm256_broadcastss_ps(dm), s8));
            _mm256_storeu_ps(mn + k / 32, _mm256_xor_ps(_mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dm)), m8), _mm256_set1_ps(-0.0f)));
        }
        return;
    case SS_TYPE_Q6_K:
        for (int64_t k = 0; k < kc; k += SS_QK_K, blk += sizeof(ss_block_q6_K)) {
            const ss_block_q6_K *x = (const ss_block_q6_K *)blk;
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(x->d));
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
            for (int h = 0; h < 2; h++)   // sc = d · scales (int8)
                _mm256_storeu_ps(sc + k / 16 + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x->scales + 8 * h))))));
        }
        return;
    default:
        ss_ipanel_unpack_ref(wtype, row, k0, kc, q, sc, mn);
    }
}

// corr[b] = -128 Σ_{k in b} q[k] for the sub-blocks (S values) of q[0:kc], 256 values at a time:
// sad(q + 128, 0) gives 4 sums of 8 bytes of (q + 128) per vector; the sums of 8 vectors are
// gathered into 8 int32 per 128-bit half (t[v] = low half, high half: w0 for v < 4, w1 for v >= 4),
// then per vector (S = 32) or per half (S = 16); corr = 128 (128 S - Σ (q + 128))
static void ipanel_corr(const int8_t *q, int64_t kc, int S, int32_t *corr) {
    const __m256i x80 = _mm256_set1_epi8((char)0x80);
    for (int64_t k = 0; k < kc; k += SS_IPANEL_KC) {
        const int nv = (int)((kc - k) / 32 < 8 ? (kc - k) / 32 : 8);
        __m256i t[8];
        _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)   // (vectors past kc: q = 0, corr 0, past kc / S)
            t[v] = _mm256_sad_epu8(v < nv ? _mm256_xor_si256(_mm256_load_si256((const __m256i *)(q + k + 32 * v)), x80) : x80,
                                   _mm256_setzero_si256());
        __m256i w[2];
        for (int h = 0; h < 2; h++) {   // [t0L t1L t2L t3L | t0H t1H t2H t3H] of vectors 4h..4h+3
            const __m256i u01 = _mm256_or_si256(t[4 * h], _mm256_slli_epi64(t[4 * h + 1], 32));
            const __m256i u23 = _mm256_or_si256(t[4 * h + 2], _mm256_slli_epi64(t[4 * h + 3], 32));
            w[h] = _mm256_add_epi32(_mm256_unpacklo_epi64(u01, u23), _mm256_unpackhi_epi64(u01, u23));
        }
        const __m256i bias = _mm256_set1_epi32(128 * S);
        if (S == 32) {
            const __m256i s = _mm256_add_epi32(_mm256_permute2x128_si256(w[0], w[1], 0x20), _mm256_permute2x128_si256(w[0], w[1], 0x31));
            _mm256_storeu_si256((__m256i *)(corr + k / 32), _mm256_slli_epi32(_mm256_sub_epi32(bias, s), 7));
        } else {   // S = 16 (kc a multiple of 256)
            const __m256i ord = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            for (int h = 0; h < 2; h++)
                _mm256_storeu_si256((__m256i *)(corr + k / 16 + 8 * h),
                                    _mm256_slli_epi32(_mm256_sub_epi32(bias, _mm256_permutevar8x32_epi32(w[h], ord)), 7));
        }
    }
}

// the group's K-block in integer form, and the corrections
static void ipanel_unpack(uint32_t wtype, const uint8_t *w, size_t ws, int mr, int mg, int64_t k0, int64_t kc, int S, ss_ipanel_w *W) {
    for (int r = 0; r < mg; r++) {
        if (r >= mr) {
            memset(W->q[r], 0, (size_t)kc);
            memset(W->sc[r], 0, sizeof W->sc[r]);
            memset(W->mn[r], 0, sizeof W->mn[r]);
            memset(W->corr[r], 0, sizeof W->corr[r]);
            continue;
        }
        ipanel_unpack_row(wtype, w + r * ws, k0, kc, W->q[r], W->sc[r], W->mn[r]);
        ipanel_corr(W->q[r], kc, S, W->corr[r]);
    }
}

void ss_ipanel_run_avx2(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m, const void *xp, size_t xs,
                        int64_t n, float *out, int64_t ldo, ss_ipanel_tile_fn tile, int tile_np) {
    const ss_type_info_t *ti = ss_type_info(wtype);
    const int S = ss_ipanel_sub(wtype);
    const uint8_t *W = w, *X = xp;
    ss_ipanel_w wi;                                                                   // 21 KB
    _Alignas(64) float acc[(PANEL_MG / PANEL_MR) * PANEL_NP * PANEL_MR * PANEL_NR];   // 48 KB
    const size_t panel = (size_t)PANEL_NR * xs;
    for (int64_t j0 = 0; j0 < n; j0 += PANEL_NP * PANEL_NR) {
        const int64_t nn = n - j0 < PANEL_NP * PANEL_NR ? n - j0 : PANEL_NP * PANEL_NR;
        const int np = (int)((nn + PANEL_NR - 1) / PANEL_NR), nt = (np + tile_np - 1) / tile_np;
        for (int64_t i0 = 0; i0 < m; i0 += PANEL_MG) {
            const int mr = m - i0 < PANEL_MG ? (int)(m - i0) : PANEL_MG;
            const int mg = (mr + PANEL_MR - 1) / PANEL_MR * PANEL_MR, ng = mg / PANEL_MR;
            memset(acc, 0, sizeof acc);
            for (int64_t k0 = 0; k0 < K; k0 += PANEL_KC) {
                const int64_t kc = K - k0 < PANEL_KC ? K - k0 : PANEL_KC;
                panel_pf pf, po;
                if (i0 == 0 && k0 == 0) {
                    panel_pf_start(&pf, W, ws, (size_t)(kc / ti->blck) * ti->type_size, mr);
                    panel_pf_step(&pf, pf.left);
                }
                ipanel_unpack(wtype, W + (size_t)i0 * ws, ws, mr, mg, k0, kc, S, &wi);
                const int64_t ni0 = k0 + kc < K ? i0 : i0 + PANEL_MG, nk0 = k0 + kc < K ? k0 + kc : 0;
                const int nmr = ni0 >= m ? 0 : m - ni0 < PANEL_MG ? (int)(m - ni0) : PANEL_MG;
                const int64_t nkc = K - nk0 < PANEL_KC ? K - nk0 : PANEL_KC;
                // the next slice; in the last K-block the output rows' lines [i0, i0 + mr) too
                panel_pf_start(&pf, W + (size_t)ni0 * ws + (size_t)(nk0 / ti->blck) * ti->type_size, ws,
                               (size_t)(nkc / ti->blck) * ti->type_size, nmr);
                const float *o0 = out + j0 * ldo + i0;
                const uintptr_t o_off = (uintptr_t)o0 % 64;
                panel_pf_start(&po, (const uint8_t *)o0 - o_off, (size_t)ldo * sizeof(float), o_off + (size_t)mr * sizeof(float),
                               k0 + kc < K ? 0 : (int)nn);
                const int pf_n = (pf.left + nt * ng - 1) / (nt * ng), po_n = (po.left + nt * ng - 1) / (nt * ng);   // lines per tile
                for (int t = 0; t < nt; t++) {   // tiles of tile_np panels (the last may have fewer)
                    const int p = t * tile_np, tnp = np - p < tile_np ? np - p : tile_np;
                    for (int g = 0; g < ng; g++) {
                        panel_pf_step(&pf, pf_n);
                        panel_pf_step(&po, po_n);
                        tile(K, k0, kc, X + (size_t)(j0 / PANEL_NR + p) * panel, panel, tnp, &wi, g * PANEL_MR,
                             acc + (g * PANEL_NP + p) * PANEL_MR * PANEL_NR);
                    }
                }
            }
            panel_store(acc, ng, np, mr, nn, out + j0 * ldo + i0, ldo);
        }
    }
}

// the tiles: (sub-block size, min term) × (VNNI or not), one panel
#define IP_VARIANT(name, S, MIN, VNNI)                                                                 \
    static void name(int64_t K, int64_t k0, int64_t kc, const uint8_t *xp, size_t ps, int np, const ss_ipanel_w *W, int r0, float *c) { \
        ipanel_tile(kc, xp + k0 * PANEL_NR, (const float *)(xp + 16 * K) + k0 / 32 * PANEL_NR,                  \
                    (const float *)(xp + 18 * K) + k0 / 32 * PANEL_NR, W, r0, c, S, MIN, VNNI); }
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
    const ss_ipanel_tile_fn tile =
        S == 16 ? (vnni ? ipanel_16_v : ipanel_16) : mn ? (vnni ? ipanel_32_min_v : ipanel_32_min) : (vnni ? ipanel_32_v : ipanel_32);
    ss_ipanel_run_avx2(wtype, K, w, ws, m, xp, xs, n, out, ldo, tile, 1);
    return true;
}
