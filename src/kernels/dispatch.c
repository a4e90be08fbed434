// dispatch.c — the one CPU probe and the two kernel tables (ss_kernels.h). Compiled without SIMD
// flags; the AVX2 table exists only when the Makefile builds the x86 leaves (SS_HAVE_AVX2).
#include "ss_kernels.h"
#include "ss_attn.h"
#include "ss_slotk.h"
#ifdef SS_HAVE_AVX2
#include "x86/ss_avx2.h"
#include "x86/ss_avx512.h"
#endif

static const ss_kernels kernels_scalar = {
    .name = "scalar", .simd = false,
    .dequant_row = ss_dequant_row, .vec_dot_n = ss_vec_dot_n_ref, .quant_act = ss_quant_act_ref,
    .axpy = ss_axpy_ref, .swiglu = ss_swiglu_ref,
    .attn_block = ss_attn_block_ref, .f32_to_f16 = ss_f32_to_f16_ref, .round_f16 = ss_round_f16_ref,
    .slot_dot_rows = ss_slot_dot_rows_ref, .slot_add_max = ss_slot_add_max_ref,
    .slot_exp_sum = ss_slot_exp_sum_ref, .slot_axpy = ss_slot_axpy_ref, .slot_gemm = ss_slot_gemm_ref,
    .slot_dot_f64 = ss_slot_dot_f64_ref, .slot_exp_axpy = ss_slot_exp_axpy_ref, .slot_gacc = ss_slot_gacc_ref,
    .slot_lse_dot = ss_slot_lse_dot_ref,
};

#ifdef SS_HAVE_AVX2
#include <cpuid.h>

// the low half of XCR0: the register states the OS saves (call only when cpuid says OSXSAVE)
static unsigned xcr0(void) {
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    return xlo;
}

// AVX2 + FMA + F16C, and the OS saves the YMM registers (XCR0 bits 1, 2)
static int cpu_check_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return 0;
    if ((xcr0() & 6) != 6) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) ? 1 : 0;
}

// the leaves that handle only some types fall back to the scalar reference for the others
static void dequant_row_avx2(uint32_t type, const void *x, float *y, int64_t n) {
    if (!ss_dequant_row_avx2(type, x, y, n)) ss_dequant_row(type, x, y, n);
}
static void vec_dot_n_avx2(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq, size_t xq_stride, int nr) {
    if (!ss_vec_dot_avx2(wtype, n, s, w, xq, xq_stride, nr)) ss_vec_dot_n_ref(wtype, n, s, w, xq, xq_stride, nr);
}
static void quant_act_avx2(uint32_t wtype, const float *x, void *xq, int64_t n) {
    if (!ss_quant_act_avx2(ss_vec_dot_type(wtype), x, xq, n)) ss_quant_act_ref(wtype, x, xq, n);
}
// F32 weights keep the row kernel (vec_dot_n): its summation order (two 8-wide accumulators) is
// the one that agrees best with llama.cpp's F32 results (F32 models are test models anyway)
static bool gemm_has_avx2(uint32_t wtype) { return wtype != SS_TYPE_F32 && ss_gemm_has_avx2(wtype); }
static void pack_act_avx2(uint32_t wtype, int layout, const float *x, int64_t K, void *dst) {
    ss_pack_act_avx2(wtype, layout, x, K, dst);
}
static void pack_panel_avx2(uint32_t wtype, const float *x, int64_t x_stride, int nr, int64_t K, void *dst) {
    ss_pack_panel_avx2(wtype, x, x_stride, nr, K, dst);
}
// the panel layout (prefill) goes to gemm_avx512.c's 512-bit panel tiles when the CPU has AVX-512
// VNNI, else to gemm_avx2.c's (with vpdpbusd when the CPU has AVX-VNNI): the same bits; F16/BF16
// weights with several activation rows to gemm_avx512.c's tiles when the CPU has AVX-512 (the same
// bits as the AVX2 tiles; one row, decode, stays on the AVX2 tiles, which prefetch the streamed
// rows); one row of Q4_K / Q6_K (decode) to quant_avx2.c's 512-bit tiles when
// the CPU has AVX-512 VNNI (the same bits again); the others to quant_avx2.c's register tiles
static void gemm_avx2(uint32_t wtype, int layout, int64_t K, const void *w, size_t w_stride, int64_t m,
                      const void *xp, size_t xp_stride, int64_t n, float *out, int64_t ld_out) {
    if (layout == SS_PACK_PANEL) {
        if (!(ss_cpu_has_avx512vnni() && ss_gemm_panel_avx512(wtype, K, w, w_stride, m, xp, xp_stride, n, out, ld_out)))
            ss_gemm_panel_avx2(wtype, ss_cpu_has_avxvnni(), K, w, w_stride, m, xp, xp_stride, n, out, ld_out);
        return;
    }
    if (layout == SS_PACK_F32 && n > 1 && ss_cpu_has_avx512() && ss_gemm_f_avx512(wtype, K, w, w_stride, m, xp, xp_stride, n, out, ld_out))
        return;
    if (layout == SS_PACK_INT && n == 1 && ss_cpu_has_avx512vnni() && ss_gemv_kq_avx512(wtype, K, w, w_stride, m, xp, out))
        return;
    ss_gemm_avx2(wtype, layout, K, w, w_stride, m, xp, xp_stride, n, out, ld_out);
}

// head dims that are not a multiple of 8 take the scalar reference; an F16 cache goes to
// attn_avx512.c's tiles when the CPU has AVX-512 (the same bits as attn_avx2.c's)
static void attn_block_avx2(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                            size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf) {
    if (hd % 8) ss_attn_block_ref(rows, ne, G, hd, scale, k, v, k_stride, v_stride, type_k, type_v, pass, buf);
    else if (type_k == SS_TYPE_F16 && type_v == SS_TYPE_F16 && ss_cpu_has_avx512() &&
             ss_attn_block_f16_avx512(rows, ne, G, hd, scale, k, v, k_stride, v_stride, pass, buf)) return;
    else ss_attn_block_avx2(rows, ne, G, hd, scale, k, v, k_stride, v_stride, type_k, type_v, pass, buf);
}

static const ss_kernels kernels_avx2 = {
    .name = "avx2", .simd = true,
    .dequant_row = dequant_row_avx2, .vec_dot_n = vec_dot_n_avx2, .quant_act = quant_act_avx2,
    .axpy = ss_axpy_avx2, .swiglu = ss_swiglu_avx2,
    .gemm_has = gemm_has_avx2, .pack_act = pack_act_avx2, .pack_panel = pack_panel_avx2, .gemm = gemm_avx2,
    .attn_block = attn_block_avx2,
    .f32_to_f16 = ss_f32_to_f16_avx2, .round_f16 = ss_round_f16_avx2,
    .slot_dot_rows = ss_slot_dot_rows_avx2, .slot_add_max = ss_slot_add_max_avx2,
    .slot_exp_sum = ss_slot_exp_sum_avx2, .slot_axpy = ss_slot_axpy_avx2, .slot_gemm = ss_slot_gemm_avx2,
    .slot_dot_f64 = ss_slot_dot_f64_avx2, .slot_exp_axpy = ss_slot_exp_axpy_avx2, .slot_gacc = ss_slot_gacc_avx2,
    .slot_lse_dot = ss_slot_lse_dot_ref,   // scalar in both tables (only on z: chunked or huge delta)
    .slot_dot_q8_0 = ss_slot_dot_q8_0_avx2, .slot_gacc_q8_0 = ss_slot_gacc_q8_0_avx2,
};

// AVX-VNNI: cpuid leaf 7 sub-leaf 1, EAX bit 4 (VEX-encoded vpdpbusd on YMM registers)
static int cpu_check_avxvnni(void) {
    unsigned a, b, c, d;
    if (!cpu_check_avx2() || __get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a & (1u << 4)) ? 1 : 0;
}

// AVX-512 F, DQ, BW, VL (cpuid leaf 7 sub-leaf 0, EBX bits 16, 17, 30, 31), and the OS saves the
// opmask and ZMM registers too (XCR0 bits 5, 6, 7 besides 1, 2)
static int cpu_check_avx512(void) {
    unsigned a, b, c, d;
    if (!cpu_check_avx2()) return 0;
    if ((xcr0() & 0xE6) != 0xE6) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    return (b & need) == need ? 1 : 0;
}

// ... and AVX-512 VNNI (cpuid leaf 7 sub-leaf 0, ECX bit 11): the 512-bit decode tiles of Q4_K / Q6_K
static int cpu_check_avx512vnni(void) {
    unsigned a, b, c, d;
    if (!cpu_check_avx512()) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (c & (1u << 11)) ? 1 : 0;
}

// the probes' results, computed once (facts about the machine, not settings): -1 = not yet
static int cpu_avx2 = -1, cpu_avxvnni = -1, cpu_avx512 = -1, cpu_avx512vnni = -1;

static bool cpu_probe(int *cache, int (*check)(void)) {
    int s = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (s < 0) {
        s = check();
        __atomic_store_n(cache, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}

bool ss_cpu_has_avx2(void) { return cpu_probe(&cpu_avx2, cpu_check_avx2); }
bool ss_cpu_has_avxvnni(void) { return cpu_probe(&cpu_avxvnni, cpu_check_avxvnni); }
bool ss_cpu_has_avx512(void) { return cpu_probe(&cpu_avx512, cpu_check_avx512); }
bool ss_cpu_has_avx512vnni(void) { return cpu_probe(&cpu_avx512vnni, cpu_check_avx512vnni); }

const ss_kernels *ss_kernels_get(bool force_scalar) {
    return !force_scalar && ss_cpu_has_avx2() ? &kernels_avx2 : &kernels_scalar;
}

#else   // no SIMD leaves in this build (make NO_AVX2=1, or not x86)

bool ss_cpu_has_avx2(void) { return false; }
bool ss_cpu_has_avxvnni(void) { return false; }
bool ss_cpu_has_avx512(void) { return false; }
bool ss_cpu_has_avx512vnni(void) { return false; }

const ss_kernels *ss_kernels_get(bool force_scalar) {
    (void)force_scalar;
    return &kernels_scalar;
}

#endif
