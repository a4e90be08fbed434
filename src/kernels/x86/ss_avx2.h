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

#endif
