// ss_quant.h — tensor types (ggml ids and block layouts), the scalar reference kernels and the
// packed activation layouts of the matrix-matrix products. The bottom of src/kernels: the SIMD
// versions (x86/) and the dispatch table that picks them (ss_kernels.h) build on this.
//
// Every weight row of a supported type can be: dequantized (ss_dequant_row), dotted with an
// f32 vector by the scalar reference (ss_dot_ref), and dotted fast after the activation has
// been converted to the weight's "vec-dot type" (ss_vec_dot_type: Q8_0 for Q4_0/Q5_0/Q8_0,
// Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q5_K/Q6_K, F16 for F16, BF16 for BF16, F32 for F32), which
// is how llama.cpp (ggml) rounds activations, so our logits match its to within float reordering.
#ifndef SS_QUANT_H
#define SS_QUANT_H
#include "ss_common.h"

enum ss_type {
    SS_TYPE_F32 = 0, SS_TYPE_F16 = 1, SS_TYPE_Q4_0 = 2, SS_TYPE_Q4_1 = 3,
    SS_TYPE_Q5_0 = 6, SS_TYPE_Q5_1 = 7, SS_TYPE_Q8_0 = 8, SS_TYPE_Q8_1 = 9,
    SS_TYPE_Q2_K = 10, SS_TYPE_Q3_K = 11, SS_TYPE_Q4_K = 12, SS_TYPE_Q5_K = 13,
    SS_TYPE_Q6_K = 14, SS_TYPE_Q8_K = 15, SS_TYPE_BF16 = 30,
    SS_TYPE_COUNT = 40,
};

typedef struct {
    const char *name;     // "q4_K" etc. as ggml names them; NULL for ids we do not know
    int    blck;          // elements per block
    size_t type_size;     // bytes per block
    bool   supported;     // we can compute with it (weights)
} ss_type_info_t;

// NULL if the id is outside the table or unnamed
const ss_type_info_t *ss_type_info(uint32_t type);
bool   ss_type_supported(uint32_t type);
const char *ss_type_name(uint32_t type);       // "?" for unknown
size_t ss_row_size(uint32_t type, int64_t n);  // bytes for n elements (n multiple of blck)

// half / bfloat16 conversions (round to nearest even)
float    ss_fp16_to_fp32(uint16_t h);
uint16_t ss_fp32_to_fp16(float f);
float    ss_bf16_to_fp32(uint16_t h);
uint16_t ss_fp32_to_bf16(float f);

// ---- scalar reference (plain loops, the definition of each format) ----
void  ss_dequant_row(uint32_t type, const void *x, float *y, int64_t n);
// quantize n floats (n multiple of blck) into `type` the way ggml's reference quantizer does
// (used by gen-model). Supported for every weight type + Q8_1 + Q8_K; other types: no-op.
void  ss_quant_row(uint32_t type, const float *x, void *y, int64_t n);
// sum_i dequant(w)[i] * x[i], accumulated in double
float ss_dot_ref(uint32_t type, const void *w, const float *x, int64_t n);

// ---- the fast path's operations, scalar definitions (the SIMD ones: the table in ss_kernels.h) ----
uint32_t ss_vec_dot_type(uint32_t wtype);
// s = dot(w, xq) where w is a row of `wtype` and xq a row of ss_vec_dot_type(wtype); n elements
void  ss_vec_dot_scalar(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq);
// the same for nr activation rows: s[j] = dot(w, xq + j*xq_stride bytes), j < nr (nr <= SS_VEC_DOT_MAX_NR)
#define SS_VEC_DOT_MAX_NR 4
void  ss_vec_dot_n_ref(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq,
                       size_t xq_stride, int nr);
// convert an activation row to ss_vec_dot_type(wtype). Q8_0/Q8_1 round as ggml's x86
// quantize_row_q8_0/_1 do (d = amax/127, q = round-half-even(x*127/amax)); ss_quant_row's
// Q8_0/Q8_1 is ggml's *_ref (q = roundf(x/d)). Q8_K is ggml's quantize_row_q8_K_ref (which x86
// llama.cpp uses for activations).
void  ss_quant_act_ref(uint32_t wtype, const float *x, void *xq, int64_t n);
// y[0..n) += a * x[0..n)
void  ss_axpy_ref(float a, const float *x, float *y, int64_t n);
// g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]
void  ss_swiglu_ref(float *g, const float *u, int64_t n);

// ---- matrix-matrix products (the prefill / batched path of ss_matmul; the kernels gemm_has,
// pack_act, pack_panel and gemm are in the dispatch table, ss_kernels.h) ----
// out[j*ld_out + i] = W_i · X_j for weight rows i < m (w_stride bytes apart) and activation rows
// j < n, with the activations "packed": the same rounding as ss_quant_act_ref, in one of three layouts:
//   SS_PACK_INT:   for the integer kernels (few activation rows: decode, batched decode): int8
//                  values contiguous and aligned, block scales as floats after them, Q8_K's sums
//                  of 16 (Q8_0's scaled block sums dy Σqy) after those (pack_act, per row);
//   SS_PACK_F32:   the rounded values as f32 (exactly representable), per row (pack_act): F16/
//                  BF16 weights, converted in registers by their tiles;
//   SS_PACK_PANEL: the rounded values as int8 in panels of SS_PANEL_ROWS rows (pack_panel; see
//                  x86/gemm_avx2.c): the quantized types with an integer form (ss_ipanel_sub)
//                  from SS_GEMM_PANEL_MIN_T activation rows (prefill): integer products per
//                  sub-block, scaled in float; qgemm.c defines each result (ss_gemm_ipanel_ref).
// ss_gemm_layout gives the layout to use for a product of T activation rows (a pure function of
// the weight type, K and T). Packed rows are ss_pack_row_bytes() apart in a 64-byte aligned
// buffer (panels: 16 such rows; the X of ss_gemm then starts at a panel). For a given layout,
// every result is bit for bit the same whatever m, n and the position of (i, j) in them (so a
// matmul's result does not depend on how it is split between threads); it equals
// ss_vec_dot_scalar up to float summation order.
// Available only with the SIMD path and for F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K
// (gemm_has); other types go through vec_dot_n.
enum { SS_PACK_INT = 0, SS_PACK_F32 = 1, SS_PACK_PANEL = 2 };
#define SS_PANEL_ROWS 16          // SS_PACK_PANEL: activation rows per panel
#define SS_GEMM_PANEL_MIN_T 64    // activation rows from which SS_PACK_PANEL is used (by T; prompt rows always: ss_matmul_multi_k)
// Packed row layouts (byte offsets; every part 32-byte aligned):
//   Q8_0 (for Q4_0/Q5_0/Q8_0 weights): int8 values [K] at 0; block scales (float) [nb rounded up
//        to 8, zero padded] at dofs; dy_b Σ_k qy_bk (float, exact) [same, zero padded] at sofs
//   Q8_K (for Q4_K/Q5_K/Q6_K): int8 values [K] at 0; scales (float) [K/256] at dofs; sums of
//        16 values (int16) [K/16] at bofs
//   SS_PACK_F32: f32 values [K]
//   SS_PACK_PANEL (a panel of 16 rows r, as 16 rows of ss_pack_row_bytes): qx + 128 as uint8 in
//        groups of 4 values per row, value k of row r at byte 64 (k/4) + 4 r + k%4; then at 16 K
//        the block scales dx (float) [K/32][16]; then at 18 K the block sums Σ qx (float, exact)
//        [K/32][16]; rows past the last: qx = 0, dx = 0
// the integer form (qgemm.c): sub-block size S of wtype's integer form (0: none) and whether it
// has the min term; W[k] = sc[b] q[k] + mn[b] for the values [k0, k0 + kc) of a row (k0, kc
// multiples of the block; q[kc], sc and mn [kc / S])
int  ss_ipanel_sub(uint32_t wtype);
bool ss_ipanel_has_min(uint32_t wtype);
void ss_ipanel_unpack_ref(uint32_t wtype, const void *row, int64_t k0, int64_t kc, int8_t *q, float *sc, float *mn);
// out[j*ldo + i] = the integer panel product (qgemm.c's definition) of weight row i (ws bytes
// apart) and activation row j (ss_quant_act_ref's blocks, xqs bytes apart), i < m, j < n
void ss_gemm_ipanel_ref(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                        const void *xq, size_t xqs, int64_t n, float *out, int64_t ldo);
static inline size_t ss_pack_align64(size_t x) { return (x + 63) / 64 * 64; }
static inline size_t ss_pack_q8_0_dofs(int64_t K) { return ss_pack_align64((size_t)K); }
static inline size_t ss_pack_q8_0_sofs(int64_t K) { return ss_pack_align64(ss_pack_q8_0_dofs(K) + 4 * (size_t)((K / 32 + 7) / 8 * 8)); }
static inline size_t ss_pack_q8_K_dofs(int64_t K) { return ss_pack_align64((size_t)K); }
static inline size_t ss_pack_q8_K_bofs(int64_t K) { return ss_pack_align64(ss_pack_q8_K_dofs(K) + 4 * (size_t)(K / 256)); }
int    ss_gemm_layout(uint32_t wtype, int64_t K, int64_t T);
size_t ss_pack_row_bytes(uint32_t wtype, int layout, int64_t K);   // K: a multiple of the weight's block

// ---- block layouts (identical to ggml's; ggml_half = IEEE fp16 bits) ----
#define SS_QK   32     // block size of Q4_0 .. Q8_1
#define SS_QK_K 256    // super-block size of the K-quants
typedef struct { uint16_t d; uint8_t qs[16]; } ss_block_q4_0;                        // 18 B
typedef struct { uint16_t d, m; uint8_t qs[16]; } ss_block_q4_1;                     // 20 B
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } ss_block_q5_0;         // 22 B
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } ss_block_q5_1;      // 24 B
typedef struct { uint16_t d; int8_t qs[32]; } ss_block_q8_0;                         // 34 B
typedef struct { uint16_t d, s; int8_t qs[32]; } ss_block_q8_1;                      // 36 B, s = d*sum(qs)
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } ss_block_q4_K;          // 144 B
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } ss_block_q5_K; // 176 B
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } ss_block_q6_K; // 210 B
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } ss_block_q8_K;       // 292 B, bsums = sums of 16

// 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block
static inline void ss_get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m  = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
