// ss_avx512.h — the x86 AVX-512 leaves (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
// -mf16c -mfma, built whenever the AVX2 leaves are: SS_HAVE_AVX2). Call them only through the
// dispatch table (ss_kernels.h), or in tests after ss_cpu_has_avx512(). They depend on the formats
// and scalar references (ss_quant.h) only.
#ifndef SS_AVX512_H
#define SS_AVX512_H
#include "ss_quant.h"
#include "ss_attn.h"

// ---- gemm_avx512.c: F16 / BF16 weights × f32 activations (layout SS_PACK_F32; false for other
// types): out[j*ldo + i] = W_i · X_j for m weight rows (ws bytes apart) and n activation rows (xs
// bytes apart), bit-identical to ss_gemm_avx2 with the same arguments (same FMA chains per output)
bool ss_gemm_f_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                      const void *xp, size_t xs, int64_t n, float *out, int64_t ldo);
// ---- gemm_avx512.c: the panel kernel (layout SS_PACK_PANEL; false for types without an integer
// form) on 512-bit tiles, through gemm_avx2.c's driver; only when the CPU has AVX-512 VNNI
// (ss_cpu_has_avx512vnni). Bit-identical to ss_gemm_panel_avx2 and ss_gemm_ipanel_ref.
bool ss_gemm_panel_avx512(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                          const void *xp, size_t xs, int64_t n, float *out, int64_t ldo);

// ---- attn_avx512.c: ss_attn_block_avx2 with F16 K and V (type_k = type_v = SS_TYPE_F16), the same
// bits; false (nothing done) when hd is not a multiple of 32
bool ss_attn_block_f16_avx512(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                              size_t k_stride, size_t v_stride, int pass, float *buf);

#endif
