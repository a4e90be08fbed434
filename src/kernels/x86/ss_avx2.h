// ss_avx2.h — the x86 SIMD leaves (AVX2/FMA/F16C; compiled with -mavx2 -mfma -mf16c, only when the
// Makefile defines SS_HAVE_AVX2). Call them only through the dispatch table (ss_kernels.h), or in
// tests after ss_cpu_has_avx2(). They depend on the formats and scalar references (ss_quant.h)
// only; gemm_avx2.c uses quant_avx2.c's activation rounding, nothing else calls back.
#ifndef SS_AVX2_H
#define SS_AVX2_H
#include "ss_quant.h"
#include "ss_attn.h"

// ---- quant_avx2.c: rows; each returns false for a type it does not handle (the caller then uses
// the scalar reference)
bool ss_vec_dot_avx2(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq,
                     size_t xq_stride, int nr);
bool ss_quant_act_avx2(uint32_t vtype, const float *x, void *xq, int64_t n);    // bit-identical to scalar
bool ss_dequant_row_avx2(uint32_t type, const void *x, float *y, int64_t n);    // bit-identical to scalar
void ss_fp16_to_fp32_row_avx2(const uint16_t *x, float *y, int64_t n);
void ss_axpy_avx2(float a, const float *x, float *y, int64_t n);                // y += a*x (fused)
void ss_swiglu_avx2(float *g, const float *u, int64_t n);
void ss_expf_avx2(float *x, int64_t n);
// quant_avx2.c: matrix-matrix register tiles (layouts SS_PACK_INT and SS_PACK_F32; false for others)
bool ss_gemm_has_avx2(uint32_t wtype);
bool ss_gemm_avx2(uint32_t wtype, int layout, int64_t K, const void *w, size_t ws, int64_t m,
                  const void *xp, size_t xs, int64_t n, float *out, int64_t ldo);
bool ss_pack_act_avx2(uint32_t wtype, int layout, const float *x, int64_t K, void *dst);
// ... one activation row (decode, layout SS_PACK_INT) of Q4_K / Q6_K on 512-bit tiles, the same bits
// as ss_gemm_avx2's; only when the CPU has AVX-512 F/BW/VL/VNNI (ss_cpu_has_avx512vnni); other
// types: false
bool ss_gemv_kq_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m, const void *xp, float *out);

// ---- gemm_avx2.c: the panel kernel (layout SS_PACK_PANEL; false for types without an integer
// form), with vpdpbusd when vnni (the CPU has AVX-VNNI: ss_cpu_has_avxvnni) or without: the same
// bits either way
void ss_pack_panel_avx2(uint32_t wtype, const float *x, int64_t x_stride, int nr, int64_t K, uint8_t *dst);
bool ss_gemm_panel_avx2(uint32_t wtype, bool vnni, int64_t K, const void *w, size_t ws, int64_t m,
                        const void *xp, size_t xs, int64_t n, float *out, int64_t ldo);
// ... its blocking and driver, shared with gemm_avx512.c's 512-bit tiles: rows of W in groups of
// SS_IPANEL_MG, K in blocks of SS_IPANEL_KC; a group's K-block in integer form (ss_ipanel_unpack_ref's
// q, sc, mn; rows past the matrix: zeros) with corr[r][b] = -128 Σ_{k in b} q[r][k]
#define SS_IPANEL_NR 16     // activation rows per panel (SS_PANEL_ROWS)
#define SS_IPANEL_MR 6      // weight rows per register tile
#define SS_IPANEL_MG 48     // weight rows unpacked together (a multiple of SS_IPANEL_MR)
#define SS_IPANEL_KC 256    // K-block (a multiple of every block size)
typedef struct {
    _Alignas(64) int8_t q[SS_IPANEL_MG][SS_IPANEL_KC];
    float sc[SS_IPANEL_MG][SS_IPANEL_KC / 16], mn[SS_IPANEL_MG][SS_IPANEL_KC / 16];
    int32_t corr[SS_IPANEL_MG][SS_IPANEL_KC / 16];
} ss_ipanel_w;
// one register tile: c[p][r][l] += the K-block [k0, k0 + kc) of W's rows r0 .. r0 + 5 against the
// activation panels p < np (xp: the first panel, ps bytes to the next, each of rows of K values),
// in ss_gemm_ipanel_ref's operations and order; c: accumulator tiles of 6 × 16 floats, 96 apart
typedef void (*ss_ipanel_tile_fn)(int64_t K, int64_t k0, int64_t kc, const uint8_t *xp, size_t ps, int np,
                                  const ss_ipanel_w *W, int r0, float *c);
// ss_gemm_panel_avx2's product with `tile`, which takes up to tile_np (1 or 2) panels at once
void ss_ipanel_run_avx2(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m, const void *xp, size_t xs,
                        int64_t n, float *out, int64_t ldo, ss_ipanel_tile_fn tile, int tile_np);

// ---- attn_avx2.c: attention on one key block, and F16 conversions
// ss_attn_block_ref (ss_attn.h) for hd a multiple of 8; reads all SS_ATTN_BLOCK rows of k
void  ss_attn_block_avx2(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                         size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf);
void  ss_f32_to_f16_avx2(const float *x, uint16_t *y, int n);
void  ss_round_f16_avx2(const float *x, float *y, int n);

// ---- slot_avx2.c: SLOT's kernels (the scalar definitions: ss_slotk.h)
void   ss_slot_dot_rows_avx2(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out);
float  ss_slot_add_max_avx2(const float *z, const float *u, float *l, int64_t n);
double ss_slot_exp_sum_avx2(float *e, float m, int64_t n);
void   ss_slot_axpy_avx2(double *q, double a, const float *e, int64_t n);
void   ss_slot_gemm_avx2(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz,
                         int nt, int nv, int acc);
double ss_slot_dot_f64_avx2(const float *x, const float *y, int64_t n);
void   ss_slot_exp_axpy_avx2(double *q, double a, const float *z, const float *u, float m, int64_t n);
void   ss_slot_gacc_avx2(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n);
// the same two products reading Q8_0 rows (ldw bytes apart, n % 32 == 0) without dequantizing:
// out[r] = sum_b d_rb (sum_k q_rbk x[32b+k]);   g[32b+k] += sum_j (r[j] d_jb) q_jbk (f32 over j)
void   ss_slot_dot_q8_0_avx2(const float *x, const void *w, size_t ldw, int nr, int64_t n, float *out);
void   ss_slot_gacc_q8_0_avx2(double *g, const float *r, const void *w, size_t ldw, int nr, int64_t n);

// ---- inline helpers of the leaves that decode the formats in registers (quant_avx2.c,
// gemm_avx2.c), for the files compiled with AVX2
#ifdef __AVX2__
#include <immintrin.h>
#define SS_AVX2_INLINE inline __attribute__((always_inline))

// 32 bits (little-endian qh[4]) -> 32 bytes, byte j = 0x10 if bit j is set else 0 (the 5th bit
// of Q5_0/Q5_1 in place): byte j = qh[j/8] & (1 << j%8) is 0 or 2^(j%8), then sign(c, .) maps
// that to c_j or 0 with c_j = 16, except -16 for j%8 = 7 (where the byte 0x80 is negative).
// One vector op fewer than bits_to_bytes + and.
static SS_AVX2_INLINE __m256i ss_bits_to_0x10(const uint8_t *qh) {
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL,
                                            0x0202020202020202LL, 0x0303030303030303LL);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_broadcastd_epi32(_mm_loadu_si32(qh)), shuf);   // byte j = qh[j/8]
    bytes = _mm256_and_si256(bytes, _mm256_set1_epi64x(0x8040201008040201LL));               // bit j%8 only
    return _mm256_sign_epi8(_mm256_set1_epi64x((long long)0xF010101010101010ULL), bytes);
}

// the 12 packed bytes at s12 (reading 16: the block goes on) -> bytes sc_0..7, m_0..7 as
// ss_get_scale_min_k4, with byte shuffles: j < 4: sc_j = q[j] & 63, m_j = q[j+4] & 63; j >= 4:
// sc_j = (q[j+4] & 15) | (q[j-4] >> 6) << 4, m_j = (q[j+4] >> 4) | (q[j] >> 6) << 4
static SS_AVX2_INLINE __m128i ss_k4_scales_mins(const uint8_t *s12) {
    const __m128i v = _mm_loadu_si128((const __m128i *)s12);
    const __m128i p = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    const __m128i r = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
    const __m128i t1 = _mm_and_si128(p, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
    const __m128i t2 = _mm_and_si128(_mm_srli_epi16(p, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
    const __m128i t3 = _mm_and_si128(_mm_srli_epi16(r, 2), _mm_setr_epi8(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48));
    return _mm_or_si128(t1, _mm_or_si128(t2, t3));
}
#endif

#endif
