// ss_kernels.h — the one dispatch point of the kernels: a table of the operations that have a SIMD
// version, chosen once by the caller and passed down (a context keeps its table in c->kern).
//
// Layers of src/kernels, each using only the ones below it:
//   1. formats and scalar references: quant.c (ss_quant.h: block layouts, fp16/bf16, dequantize,
//      quantize, scalar dot products), attn.c (ss_attn.h), slotk.c (ss_slotk.h: SLOT's kernels);
//   2. SIMD leaves: x86/*_avx2.c (x86/ss_avx2.h) and x86/*_avx512.c (x86/ss_avx512.h), built only
//      on x86 without NO_AVX2 (the Makefile then defines SS_HAVE_AVX2); they use layer 1's headers
//      only (gemm_avx2.c also uses quant_avx2.c's row helpers, never the other way round);
//   3. this dispatch (dispatch.c): the one CPU probe and the two tables;
//   4. the matrix products (matmul.c), which call the table they are given.
//
// Every table entry computes the same math as the scalar one; where the results are bit-identical
// to the scalar reference (dequant_row, quant_act and the packs, f32_to_f16, round_f16) the tests
// check that, elsewhere they check the documented bound (float summation order, SIMD exp).
#ifndef SS_KERNELS_H
#define SS_KERNELS_H
#include "ss_quant.h"
#include "ss_attn.h"

typedef struct ss_kernels {
    const char *name;     // "avx2" or "scalar"
    bool simd;            // false: every entry marked (SIMD) below is NULL

    // ---- quantized rows (ss_quant.h) ----
    // y[0..n) = dequant(x) (bit-identical to ss_dequant_row)
    void   (*dequant_row)(uint32_t type, const void *x, float *y, int64_t n);
    // s[j] = dot(w, xq + j*xq_stride bytes), j < nr <= SS_VEC_DOT_MAX_NR, xq rows of
    // ss_vec_dot_type(wtype) (= ss_vec_dot_scalar up to float summation order)
    void   (*vec_dot_n)(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq, size_t xq_stride, int nr);
    // xq = x converted to ss_vec_dot_type(wtype) (bit-identical to ss_quant_act_ref)
    void   (*quant_act)(uint32_t wtype, const float *x, void *xq, int64_t n);
    // y += a*x (SIMD: fused)
    void   (*axpy)(float a, const float *x, float *y, int64_t n);
    // g = silu(g) * u (SIMD exp within 2 ulp of expf)
    void   (*swiglu)(float *g, const float *u, int64_t n);

    // ---- matrix-matrix products on packed activations (ss_quant.h; SIMD) ----
    bool   (*gemm_has)(uint32_t wtype);   // (also false for F32: the row kernel agrees best with llama.cpp)
    void   (*pack_act)(uint32_t wtype, int layout, const float *x, int64_t K, void *dst);
    // one panel of nr <= SS_PANEL_ROWS rows (x_stride floats apart) in layout SS_PACK_PANEL
    void   (*pack_panel)(uint32_t wtype, const float *x, int64_t x_stride, int nr, int64_t K, void *dst);
    void   (*gemm)(uint32_t wtype, int layout, int64_t K, const void *w, size_t w_stride, int64_t m,
                   const void *xp, size_t xp_stride, int64_t n, float *out, int64_t ld_out);

    // ---- attention on the KV cache (ss_attn.h; both tables) ----
    // one pass over one key block for ne entries × G heads (ss_attn_block_ref; SIMD: SIMD exp, FMA
    // chains, within float rounding of the reference)
    void   (*attn_block)(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                         size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf);
    // F16 conversions (both tables; bit-identical to ss_fp32_to_fp16, round to nearest even)
    void   (*f32_to_f16)(const float *x, uint16_t *y, int n);         // y = f16(x)
    void   (*round_f16)(const float *x, float *y, int n);             // y = f32(f16(x)), x == y allowed

    // ---- SLOT (ss_slotk.h: the definitions, and what each computes) ----
    void   (*slot_dot_rows)(const float *x, const float *w, int64_t ldw, int nr, int64_t n, float *out);
    float  (*slot_add_max)(const float *z, const float *u, float *l, int64_t n);
    double (*slot_exp_sum)(float *e, float m, int64_t n);
    void   (*slot_axpy)(double *q, double a, const float *e, int64_t n);
    void   (*slot_gemm)(const float *hp, const float *w, int64_t ldw, int kc, float *z, int64_t ldz, int nt, int nv, int acc);
    double (*slot_dot_f64)(const float *x, const float *y, int64_t n);
    void   (*slot_exp_axpy)(double *q, double a, const float *z, const float *u, float m, int64_t n);
    void   (*slot_gacc)(double *g, const float *r, const float *w, int64_t ldw, int nr, int64_t n);
    double (*slot_lse_dot)(const float *z, const float *u, int64_t n, double *pu);
    // Q8_0 rows read without dequantizing (SIMD)
    void   (*slot_dot_q8_0)(const float *x, const void *w, size_t ldw, int nr, int64_t n, float *out);
    void   (*slot_gacc_q8_0)(double *g, const float *r, const void *w, size_t ldw, int nr, int64_t n);
} ss_kernels;

// The CPU probe: true when the AVX2 kernels are built in (SS_HAVE_AVX2) and the CPU runs them
// (cpuid: AVX2, FMA, F16C; the OS saves the YMM registers: XCR0 bits 1 and 2). Checked once.
bool ss_cpu_has_avx2(void);
// ... and the CPU also has AVX-VNNI (cpuid 7.1: EAX bit 4): the integer panel kernel then uses
// vpdpbusd (same results, faster). Checked once.
bool ss_cpu_has_avxvnni(void);
// ... and the CPU also has AVX-512 F, BW, DQ and VL (cpuid 7.0: EBX bits 16, 17, 30, 31; the OS
// saves the opmask and ZMM registers: XCR0 bits 5, 6, 7): the F16/BF16 register tiles then use
// 512-bit registers (same results, faster). Checked once.
bool ss_cpu_has_avx512(void);
// ... and AVX-512 VNNI besides (cpuid 7.0: ECX bit 11): the
// single-row (decode) Q4_K / Q6_K products then use 512-bit tiles (same results, faster). Checked once.
bool ss_cpu_has_avx512vnni(void);

// The kernels to use: the AVX2 table when ss_cpu_has_avx2() and not force_scalar, else the scalar
// table (the references; tests compare the two). Both tables are constant.
const ss_kernels *ss_kernels_get(bool force_scalar);

#endif
