// test_quant.c — tensor types and kernels (src/kernels/quant.c, the dispatch table's SIMD kernels) against independent
// references:
//  - the type table against ggml's ids / block sizes (literals from ggml's block structs);
//  - fp16 / bf16 conversions: exhaustive round trips, the CPU's F16C instructions, literal ties;
//  - dequantization of random blocks against per-element formulas written independently here
//    (element index -> bits), for every format;
//  - the quantized model files of ../shared/models (written by llama.cpp's tools) dequantized
//    against the BF16 file of the same random weights;
//  - quantize -> dequantize error within each format's stated bound;
//  - integer dot products (ss_vec_dot_scalar) against float64 dots of dequantized values;
//  - AVX2 kernels against the scalar ones (dot products within float reordering, activation
//    conversion bit-identical);
//  - the F16/BF16 register tiles (AVX2 and AVX-512) bit for bit against the scalar statement of
//    their summation order.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ss_kernels.h"
#include "ss_attn.h"
#include "ss_slotk.h"
#include "ss_gguf.h"
#ifdef SS_HAVE_AVX2
#include "x86/ss_avx2.h"
#include "x86/ss_avx512.h"
#endif

// ------------------------------------------------------------------------------------ helpers

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd_u64(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static double rnd_uniform(void) { return (double)(rnd_u64() >> 11) / (double)(1ull << 53); }   // [0,1)
static double rnd_normal(void) {
    double u = rnd_uniform(), v = rnd_uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

// test vector: gaussian with a per-block scale, a few outliers, an all-zero block, a constant block
static void fill_data(float *x, int64_t n, int blk, double scale) {
    for (int64_t b = 0; b < n; b += blk) {
        int kind = (int)((b / blk) % 7);
        double s = scale * (0.05 + 2.0 * rnd_uniform());
        for (int64_t i = b; i < b + blk && i < n; i++) {
            double v = s * rnd_normal();
            if (kind == 3 && rnd_uniform() < 0.05) v *= 8;   // outliers
            if (kind == 5) v = 0;                            // all-zero block
            if (kind == 6) v = s;                            // constant block
            if (kind == 4) v = fabs(v);                      // all positive
            x[i] = (float)v;
        }
    }
}

static const uint32_t weight_types[] = {
    SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_BF16, SS_TYPE_Q4_0, SS_TYPE_Q4_1, SS_TYPE_Q5_0,
    SS_TYPE_Q5_1, SS_TYPE_Q8_0, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K,
};
#define N_WTYPES (int)(sizeof weight_types / sizeof weight_types[0])

static uint16_t rnd_half(double lo, double hi) {   // fp16 of a random magnitude in [lo, hi)
    return ss_fp32_to_fp16((float)(lo + (hi - lo) * rnd_uniform()));
}

// random bytes for a row of `type`, with the fp16/f32 scale fields set to sane values
static void random_row(uint32_t type, void *row, int64_t n) {
    const ss_type_info_t *t = ss_type_info(type);
    size_t bytes = ss_row_size(type, n);
    uint8_t *p = row;
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd_u64();
    int64_t nb = n / t->blck;
    switch (type) {
    case SS_TYPE_F32: { float *f = row; for (int64_t i = 0; i < n; i++) f[i] = (float)rnd_normal(); } break;
    case SS_TYPE_F16: { uint16_t *h = row; for (int64_t i = 0; i < n; i++) h[i] = ss_fp32_to_fp16((float)rnd_normal()); } break;
    case SS_TYPE_BF16: { uint16_t *h = row; for (int64_t i = 0; i < n; i++) h[i] = ss_fp32_to_bf16((float)rnd_normal()); } break;
    case SS_TYPE_Q4_0: for (int64_t i = 0; i < nb; i++) ((ss_block_q4_0 *)row)[i].d = rnd_half(-0.1, 0.1); break;
    case SS_TYPE_Q5_0: for (int64_t i = 0; i < nb; i++) ((ss_block_q5_0 *)row)[i].d = rnd_half(-0.1, 0.1); break;
    case SS_TYPE_Q8_0: for (int64_t i = 0; i < nb; i++) ((ss_block_q8_0 *)row)[i].d = rnd_half(-0.01, 0.01); break;
    case SS_TYPE_Q4_1: for (int64_t i = 0; i < nb; i++) { ((ss_block_q4_1 *)row)[i].d = rnd_half(0, 0.1); ((ss_block_q4_1 *)row)[i].m = rnd_half(-1, 0.2); } break;
    case SS_TYPE_Q5_1: for (int64_t i = 0; i < nb; i++) { ((ss_block_q5_1 *)row)[i].d = rnd_half(0, 0.05); ((ss_block_q5_1 *)row)[i].m = rnd_half(-1, 0.2); } break;
    case SS_TYPE_Q4_K: for (int64_t i = 0; i < nb; i++) { ((ss_block_q4_K *)row)[i].d = rnd_half(0, 0.01); ((ss_block_q4_K *)row)[i].dmin = rnd_half(0, 0.01); } break;
    case SS_TYPE_Q5_K: for (int64_t i = 0; i < nb; i++) { ((ss_block_q5_K *)row)[i].d = rnd_half(0, 0.005); ((ss_block_q5_K *)row)[i].dmin = rnd_half(0, 0.01); } break;
    case SS_TYPE_Q6_K: for (int64_t i = 0; i < nb; i++) ((ss_block_q6_K *)row)[i].d = rnd_half(-0.001, 0.001); break;
    case SS_TYPE_Q8_K: for (int64_t i = 0; i < nb; i++) ((ss_block_q8_K *)row)[i].d = (float)(0.01 * rnd_normal()); break;
    default: break;
    }
}

static bool have_simd(void) {
    if (!ss_cpu_has_avx2()) {
        fprintf(stderr, "note: CPU without AVX2/FMA/F16C, SIMD comparisons skipped\n");
        return false;
    }
    return true;
}

// ------------------------------------------------------------------------------------ type table

static void test_type_table(void **state) {
    (void)state;
    // id, name, block, bytes: ggml's ggml_type enum and sizeof(block_*)
    static const struct { uint32_t id; const char *name; int blck; size_t size; bool sup; } ex[] = {
        {0, "f32", 1, 4, true}, {1, "f16", 1, 2, true}, {2, "q4_0", 32, 18, true},
        {3, "q4_1", 32, 20, true}, {6, "q5_0", 32, 22, true}, {7, "q5_1", 32, 24, true},
        {8, "q8_0", 32, 34, true}, {9, "q8_1", 32, 36, false}, {10, "q2_K", 256, 84, false},
        {11, "q3_K", 256, 110, false}, {12, "q4_K", 256, 144, true}, {13, "q5_K", 256, 176, true},
        {14, "q6_K", 256, 210, true}, {15, "q8_K", 256, 292, false}, {30, "bf16", 1, 2, true},
        {20, "iq4_nl", 32, 18, false}, {23, "iq4_xs", 256, 136, false},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        const ss_type_info_t *t = ss_type_info(ex[i].id);
        assert_non_null(t);
        assert_string_equal(t->name, ex[i].name);
        assert_string_equal(ss_type_name(ex[i].id), ex[i].name);
        assert_int_equal(t->blck, ex[i].blck);
        assert_int_equal(t->type_size, ex[i].size);
        assert_int_equal(ss_type_supported(ex[i].id), ex[i].sup);
    }
    // struct layouts match the table
    assert_int_equal(sizeof(ss_block_q4_0), 18);
    assert_int_equal(sizeof(ss_block_q4_1), 20);
    assert_int_equal(sizeof(ss_block_q5_0), 22);
    assert_int_equal(sizeof(ss_block_q5_1), 24);
    assert_int_equal(sizeof(ss_block_q8_0), 34);
    assert_int_equal(sizeof(ss_block_q8_1), 36);
    assert_int_equal(sizeof(ss_block_q4_K), 144);
    assert_int_equal(sizeof(ss_block_q5_K), 176);
    assert_int_equal(sizeof(ss_block_q6_K), 210);
    assert_int_equal(sizeof(ss_block_q8_K), 292);
    // unknown / removed ids
    static const uint32_t bad[] = {4, 5, 31, 32, 33, 36, 40, 41, 1000, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(ss_type_info(bad[i]));
        assert_false(ss_type_supported(bad[i]));
        assert_string_equal(ss_type_name(bad[i]), "?");
        assert_int_equal(ss_row_size(bad[i], 256), 0);
    }
    assert_int_equal(ss_row_size(SS_TYPE_Q4_K, 4096), 16 * 144);
    assert_int_equal(ss_row_size(SS_TYPE_Q8_0, 896), 28 * 34);
    assert_int_equal(ss_row_size(SS_TYPE_F32, 7), 28);
    assert_int_equal(ss_row_size(SS_TYPE_BF16, 3), 6);
    // vec-dot types: ggml's type_traits_cpu[].vec_dot_type
    assert_int_equal(ss_vec_dot_type(SS_TYPE_F32), SS_TYPE_F32);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_F16), SS_TYPE_F16);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_BF16), SS_TYPE_BF16);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q4_0), SS_TYPE_Q8_0);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q5_0), SS_TYPE_Q8_0);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q8_0), SS_TYPE_Q8_0);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q4_1), SS_TYPE_Q8_1);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q5_1), SS_TYPE_Q8_1);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q4_K), SS_TYPE_Q8_K);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q5_K), SS_TYPE_Q8_K);
    assert_int_equal(ss_vec_dot_type(SS_TYPE_Q6_K), SS_TYPE_Q8_K);
}

// ------------------------------------------------------------------------------------ fp16 / bf16

// whether the kernel lists `flag` for the CPU (/proc/cpuinfo; an independent view of cpuid): 1, 0,
// or -1 when the file cannot be read (not Linux)
static int cpuinfo_has_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return -1;
    char line[8192];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            found = 0;
            for (char *t = strtok(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \t\n"); t; t = strtok(NULL, " \t\n"))
                if (!strcmp(t, flag)) found = 1;
        }
    fclose(f);
    return found;
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <cpuid.h>
// the CPU's F16C instructions, an independent fp16 implementation (whatever kernels this build has):
// cpuid leaf 1 ECX bit 29, with the AVX state enabled by the OS (the compiler's builtin checks that)
static bool have_f16c(void) {
    unsigned a, b, c, d;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}
__attribute__((target("f16c"))) static uint16_t hw_f2h(float f) {
    return (uint16_t)_cvtss_sh(f, 0);   // 0 = _MM_FROUND_TO_NEAREST_INT
}
__attribute__((target("f16c"))) static float hw_h2f(uint16_t h) { return _cvtsh_ss(h); }
#else
static bool have_f16c(void) { return false; }   // (the hw_ functions are then never called)
static uint16_t hw_f2h(float f) { (void)f; abort(); }
static float hw_h2f(uint16_t h) { (void)h; abort(); }
#endif

static void test_fp16(void **state) {
    (void)state;
    // exhaustive: every half converts to float and back to itself (NaNs stay NaN)
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ss_fp16_to_fp32((uint16_t)h);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            assert_true(isnan(f));
            assert_true(isnan(ss_fp16_to_fp32(ss_fp32_to_fp16(f))));
            continue;
        }
        assert_int_equal(ss_fp32_to_fp16(f), h);
    }
    // literals: value, bits (round to nearest even at ties)
    static const struct { float f; uint16_t h; } lit[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {65504.0f, 0x7bff},
        {65519.99f, 0x7bff}, {65520.0f, 0x7c00}, {1e10f, 0x7c00}, {-INFINITY, 0xfc00},
        {1.0f + 0x1p-11f, 0x3c00},            // tie -> even (down)
        {1.0f + 3 * 0x1p-11f, 0x3c02},        // tie -> even (up)
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01}, // above the tie
        {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000}, {0x1.8p-25f, 0x0001}, {3 * 0x1p-25f, 0x0002},
        {0x1p-14f, 0x0400}, {0x1.ffcp-15f, 0x0400},
    };
    for (size_t i = 0; i < sizeof lit / sizeof lit[0]; i++) assert_int_equal(ss_fp32_to_fp16(lit[i].f), lit[i].h);
    assert_true(ss_fp16_to_fp32(0x7bff) == 65504.0f);
    assert_true(ss_fp16_to_fp32(0x0001) == 0x1p-24f);
    assert_true(isinf(ss_fp16_to_fp32(0x7c00)));
    // against the CPU's F16C conversion (an independent implementation)
    if (have_f16c()) {
        for (uint32_t h = 0; h < 65536; h++) {
            float a = ss_fp16_to_fp32((uint16_t)h), b = hw_h2f((uint16_t)h);
            if (isnan(b)) assert_true(isnan(a));
            else assert_int_equal(fbits(a), fbits(b));
        }
        for (int i = 0; i < 2000000; i++) {
            uint32_t u = (uint32_t)rnd_u64();
            if (i & 1) u = (u & 0x8fffffffu) | 0x30000000u;        // dense near the half range
            float f = bitsf(u);
            if (isnan(f)) continue;
            assert_int_equal(ss_fp32_to_fp16(f), hw_f2h(f));
        }
    }
}

static void test_bf16(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ss_bf16_to_fp32((uint16_t)h);
        assert_int_equal(fbits(f), h << 16);                       // exact widening
        if (isnan(f)) { assert_true(isnan(ss_bf16_to_fp32(ss_fp32_to_bf16(f)))); continue; }
        assert_int_equal(ss_fp32_to_bf16(f), h);
    }
    assert_int_equal(ss_fp32_to_bf16(bitsf(0x3f808000u)), 0x3f80);   // tie -> even (down)
    assert_int_equal(ss_fp32_to_bf16(bitsf(0x3f818000u)), 0x3f82);   // tie -> even (up)
    assert_int_equal(ss_fp32_to_bf16(bitsf(0x3f808001u)), 0x3f81);
    assert_int_equal(ss_fp32_to_bf16(bitsf(0x3f807fffu)), 0x3f80);
    assert_int_equal(ss_fp32_to_bf16(bitsf(0x7f7fffffu)), 0x7f80);   // max float rounds to inf
    assert_true(isnan(ss_bf16_to_fp32(ss_fp32_to_bf16(NAN))));
    // random: |bf16(x) - x| <= 2^-8 |x| (half an ulp of an 8-bit significand)
    for (int i = 0; i < 100000; i++) {
        float x = (float)(rnd_normal() * exp(10 * rnd_normal()));
        float y = ss_bf16_to_fp32(ss_fp32_to_bf16(x));
        assert_true(fabsf(y - x) <= ldexpf(fabsf(x), -8));
    }
}

// ------------------------------------------------------------------------------------ dequant vs per-element formulas

// value k of a row, from the format description (element index -> bits), in double
static double elem(uint32_t type, const void *row, int64_t k) {
    const uint8_t *p = row;
    switch (type) {
    case SS_TYPE_F32: { float f; memcpy(&f, p + 4 * k, 4); return f; }
    case SS_TYPE_F16: { uint16_t h; memcpy(&h, p + 2 * k, 2); return hw_h2f(h); }
    case SS_TYPE_BF16: { uint16_t h; memcpy(&h, p + 2 * k, 2); return bitsf((uint32_t)h << 16); }
    case SS_TYPE_Q4_0: case SS_TYPE_Q4_1: case SS_TYPE_Q5_0: case SS_TYPE_Q5_1: {
        const ss_type_info_t *t = ss_type_info(type);
        const uint8_t *b = p + (k / 32) * t->type_size;
        int i = (int)(k % 32);
        bool has_m = type == SS_TYPE_Q4_1 || type == SS_TYPE_Q5_1;
        bool five = type == SS_TYPE_Q5_0 || type == SS_TYPE_Q5_1;
        uint16_t dh, mh = 0; memcpy(&dh, b, 2);
        if (has_m) memcpy(&mh, b + 2, 2);
        const uint8_t *qh = b + (has_m ? 4 : 2), *qs = qh + (five ? 4 : 0);
        int q = i < 16 ? qs[i] & 15 : qs[i - 16] >> 4;
        if (five) q |= ((qh[i / 8] >> (i % 8)) & 1) << 4;
        double d = hw_h2f(dh);
        if (has_m) return d * q + hw_h2f(mh);
        return d * (q - (five ? 16 : 8));
    }
    case SS_TYPE_Q8_0: { const uint8_t *b = p + (k / 32) * 34; uint16_t dh; memcpy(&dh, b, 2); return hw_h2f(dh) * (int8_t)b[2 + k % 32]; }
    case SS_TYPE_Q8_1: { const uint8_t *b = p + (k / 32) * 36; uint16_t dh; memcpy(&dh, b, 2); return hw_h2f(dh) * (int8_t)b[4 + k % 32]; }
    case SS_TYPE_Q8_K: { const uint8_t *b = p + (k / 256) * 292; float d; memcpy(&d, b, 4); return (double)d * (int8_t)b[4 + k % 256]; }
    case SS_TYPE_Q4_K: case SS_TYPE_Q5_K: {
        // sub-block j = i/32 has 6-bit scale/min: j<4: low 6 bits of bytes j / j+4;
        // j>=4: low nibbles / high nibbles of byte j+4, top 2 bits from the top bits of bytes j-4 / j
        const size_t bs = type == SS_TYPE_Q4_K ? 144 : 176;
        const uint8_t *b = p + (k / 256) * bs, *sc = b + 4;
        int i = (int)(k % 256), j = i / 32, l = i % 32;
        int s, m;
        if (j < 4) { s = sc[j] & 63; m = sc[j + 4] & 63; }
        else { s = (sc[j + 4] & 15) | (sc[j - 4] >> 6) << 4; m = (sc[j + 4] >> 4) | (sc[j] >> 6) << 4; }
        const uint8_t *qs = b + 16 + (type == SS_TYPE_Q5_K ? 32 : 0);
        int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
        if (type == SS_TYPE_Q5_K) q |= ((b[16 + l] >> j) & 1) << 4;
        uint16_t dh, mh; memcpy(&dh, b, 2); memcpy(&mh, b + 2, 2);
        return (double)(hw_h2f(dh) * s) * q - (double)(hw_h2f(mh) * m);
    }
    case SS_TYPE_Q6_K: {
        // value i: half h = i/128, r = i%128, quarter c = r/32, l = r%32: low nibble of
        // ql[64h + l + 32(c&1)] (nibble c>>1), 2 high bits (2c) of qh[32h + l]; scale i/16
        const uint8_t *b = p + (k / 256) * 210;
        int i = (int)(k % 256), h = i / 128, r = i % 128, c = r / 32, l = r % 32;
        int lo = (b[64 * h + l + 32 * (c & 1)] >> (4 * (c >> 1))) & 15;
        int hi = (b[128 + 32 * h + l] >> (2 * c)) & 3;
        uint16_t dh; memcpy(&dh, b + 208, 2);
        return (double)(hw_h2f(dh) * (int8_t)b[192 + i / 16]) * ((lo | hi << 4) - 32);
    }
    default: return NAN;
    }
}

static void test_dequant_formulas(void **state) {
    (void)state;
    if (!have_f16c()) { fprintf(stderr, "note: no F16C, skipped\n"); return; }
    const ss_kernels *kv = ss_kernels_get(false);   // (the SIMD path where there is one; == the scalar one, test below)
    static const uint32_t types[] = {
        SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_BF16, SS_TYPE_Q4_0, SS_TYPE_Q4_1, SS_TYPE_Q5_0, SS_TYPE_Q5_1,
        SS_TYPE_Q8_0, SS_TYPE_Q8_1, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K, SS_TYPE_Q8_K,
    };
    const int64_t n = 1024;
    uint8_t *row = malloc(ss_row_size(SS_TYPE_F32, n));
    float *y = malloc(n * sizeof(float));
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        for (int rep = 0; rep < 20; rep++) {
            random_row(types[ti], row, n);
            if (types[ti] == SS_TYPE_Q8_1)   // random_row has no Q8_1 case: set sane d
                for (int b = 0; b < n / 32; b++) ((ss_block_q8_1 *)row)[b].d = rnd_half(-0.01, 0.01);
            kv->dequant_row(types[ti], row, y, n);
            for (int64_t k = 0; k < n; k++) {
                double e = elem(types[ti], row, k);
                if (fabs(y[k] - e) > 1e-6 * fabs(e) + 1e-30)
                    fail_msg("%s: element %lld: dequant %.9g, formula %.9g", ss_type_name(types[ti]), (long long)k, y[k], e);
            }
        }
    }
    free(row);
    free(y);
}

// the AVX2 dequantization is bit-identical to the scalar loops (including the sign of zeros)
static void test_dequant_simd_exact(void **state) {
    (void)state;
    if (!have_simd()) return;
    const ss_kernels *kv = ss_kernels_get(false), *ks = ss_kernels_get(true);
    const int64_t n = 2048;
    uint8_t *row = malloc(ss_row_size(SS_TYPE_F32, n));
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    for (int wi = 0; wi < N_WTYPES; wi++) {
        for (int rep = 0; rep < 20; rep++) {
            random_row(weight_types[wi], row, n);
            if (rep == 0 && weight_types[wi] != SS_TYPE_F32)   // zero scales: -0.0 * q etc.
                for (size_t i = 0; i < ss_row_size(weight_types[wi], n); i += 2) if (rnd_uniform() < 0.3) row[i] = row[i + 1] = 0;
            kv->dequant_row(weight_types[wi], row, a, n);
            ks->dequant_row(weight_types[wi], row, b, n);
            for (int64_t k = 0; k < n; k++)
                if (fbits(a[k]) != fbits(b[k]) && !(isnan(a[k]) && isnan(b[k])))
                    fail_msg("%s: element %lld: SIMD %a, scalar %a", ss_type_name(weight_types[wi]), (long long)k, a[k], b[k]);
        }
    }
    // odd lengths for the float types
    for (int64_t m = 1; m < 40; m++) {
        random_row(SS_TYPE_BF16, row, m);
        kv->dequant_row(SS_TYPE_BF16, row, a, m);
        kv->dequant_row(SS_TYPE_F16, row, b, m);
        for (int64_t k = 0; k < m; k++) {
            uint16_t h; memcpy(&h, row + 2 * k, 2);
            assert_int_equal(fbits(a[k]), (uint32_t)h << 16);
            assert_int_equal(fbits(b[k]), fbits(hw_h2f(h)));
        }
    }
    // axpy: y += a*x, SIMD (fused) vs scalar within one rounding
    for (int64_t m = 1; m < 70; m += 7) {
        float y1[70], y2[70], xx[70];
        for (int k = 0; k < m; k++) { xx[k] = (float)rnd_normal(); y1[k] = y2[k] = (float)rnd_normal(); }
        kv->axpy(0.37f, xx, y1, m);
        ks->axpy(0.37f, xx, y2, m);
        for (int k = 0; k < m; k++) assert_true(fabsf(y1[k] - y2[k]) <= 1e-6f * (fabsf(y2[k]) + fabsf(0.37f * xx[k])));
    }
    free(row); free(a); free(b);
}

// ------------------------------------------------------------------------------------ model files written by llama.cpp

// every 2-D weight of a quantized llama-synth-mini file, dequantized, is the BF16 file's tensor
// up to the format's error (relative RMS error per tensor below `bound`; a wrong layout
// gives ~1.4, i.e. uncorrelated).
static void check_model_vs_bf16(const char *path, const ss_gguf *ref) {
    char err[SS_ERRLEN];
    ss_gguf *g = NULL;
    if (ss_gguf_open(&g, path, err, sizeof err) != 0) { fprintf(stderr, "note: %s\n", err); return; }
    int checked = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ss_gguf_tensor *t = &g->tensors[i];
        const ss_gguf_tensor *r = ss_gguf_find_tensor(ref, t->name);
        if (!r || t->n_dims != 2 || r->type != SS_TYPE_BF16 || !ss_type_supported(t->type)) continue;
        assert_int_equal(t->ne[0], r->ne[0]);
        assert_int_equal(t->ne[1], r->ne[1]);
        const int64_t cols = t->ne[0], rows = t->ne[1] < 64 ? t->ne[1] : 64;   // first 64 rows
        float *a = malloc(cols * sizeof(float)), *b = malloc(cols * sizeof(float));
        double se = 0, ss = 0;
        for (int64_t rr = 0; rr < rows; rr++) {
            ss_dequant_row(t->type, (const uint8_t *)t->data + rr * ss_row_size(t->type, cols), a, cols);
            ss_dequant_row(SS_TYPE_BF16, (const uint8_t *)r->data + rr * ss_row_size(SS_TYPE_BF16, cols), b, cols);
            for (int64_t c = 0; c < cols; c++) { se += (a[c] - b[c]) * (double)(a[c] - b[c]); ss += (double)b[c] * b[c]; }
        }
        double rel = sqrt(se / (ss + 1e-300));
        // bounds: 4-bit formats ~0.1, 5-bit ~0.05, 6-bit ~0.025, 8-bit ~0.005 on gaussian-like data
        double bound = t->type == SS_TYPE_Q4_0 || t->type == SS_TYPE_Q4_K ? 0.15 :
                       t->type == SS_TYPE_Q5_0 || t->type == SS_TYPE_Q5_1 || t->type == SS_TYPE_Q5_K ? 0.08 :
                       t->type == SS_TYPE_Q6_K ? 0.04 : 0.01;
        if (!(rel < bound)) fail_msg("%s: %s (%s): relative rms error %.4f vs bf16 (bound %.3f)", path, t->name, ss_type_name(t->type), rel, bound);
        checked++;
        free(a); free(b);
    }
    assert_true(checked > 0);
    ss_gguf_close(g);
}

static void test_model_files(void **state) {
    (void)state;
    char err[SS_ERRLEN];
    ss_gguf *ref = NULL;
    if (ss_gguf_open(&ref, "../shared/models/llama-synth-mini-bf16.gguf", err, sizeof err) != 0) {
        fprintf(stderr, "note: %s (skipped)\n", err);
        return;
    }
    check_model_vs_bf16("../shared/models/llama-synth-mini-q4_0.gguf", ref);
    check_model_vs_bf16("../shared/models/llama-synth-mini-q4_k_m.gguf", ref);
    check_model_vs_bf16("../shared/models/llama-synth-mini-q5_k_m.gguf", ref);
    ss_gguf_close(ref);
}

// ------------------------------------------------------------------------------------ quantize -> dequantize bounds

// Per-block error bound of the round trip (derivation in the comments; u = 2^-11 is the fp16
// relative rounding of stored scales):
static double block_bound(uint32_t type, const float *x, int blk) {
    double amax = 0, mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < blk; i++) { amax = fmax(amax, fabs(x[i])); mn = fmin(mn, x[i]); mx = fmax(mx, x[i]); }
    const double u = 1.0 / 2048;
    switch (type) {
    case SS_TYPE_Q8_0: case SS_TYPE_Q8_1:          // |q| <= 127, rounding 1/2 step + 127 steps of fp16(d) error
        return amax / 127 * (0.5 + 127 * u) + 1e-7 * amax;
    case SS_TYPE_Q8_K:                             // f32 d, rounding only
        return amax / 127 * 0.5 * (1 + 1e-5);
    case SS_TYPE_Q4_0:                             // d = amax/8, q-8 in -8..7: clamping at +8 costs 1 step
        return amax / 8 * (1 + 8 * u) + 1e-6 * amax;
    case SS_TYPE_Q5_0:
        return amax / 16 * (1 + 16 * u) + 1e-6 * amax;
    case SS_TYPE_Q4_1:                             // d = range/15, half a step + fp16 errors of d and m
        return (mx - mn) / 15 * (0.5 + 15 * u) + fabs(mn) * u + 1e-6 * (mx - mn + fabs(mn));
    case SS_TYPE_Q5_1:
        return (mx - mn) / 31 * (0.5 + 31 * u) + fabs(mn) * u + 1e-6 * (mx - mn + fabs(mn));
    // K-quants: scales are fitted (least squares) and stored in 6/8 bits, so the bound is stated
    // relative to the super-block's largest magnitude: a 4/5/6-bit grid over [-amax, amax]
    // has step amax*2/15, /31, /63; the fitted scales may clip the extremes by about a step.
    case SS_TYPE_Q4_K: return amax * 2.0 / 15 * 1.5;
    case SS_TYPE_Q5_K: return amax * 2.0 / 31 * 1.5;
    case SS_TYPE_Q6_K: return amax * 2.0 / 63 * 1.5;
    case SS_TYPE_F16:  return amax * u;            // + subnormal absolute error below
    case SS_TYPE_BF16: return amax / 256;
    default: return 0;
    }
}

static void test_quant_roundtrip(void **state) {
    (void)state;
    static const uint32_t types[] = {
        SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_BF16, SS_TYPE_Q4_0, SS_TYPE_Q4_1, SS_TYPE_Q5_0, SS_TYPE_Q5_1,
        SS_TYPE_Q8_0, SS_TYPE_Q8_1, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K, SS_TYPE_Q8_K,
    };
    // typical relative RMS error on gaussian data (the K-quants' fits must do at least this well)
    const int64_t n = 256 * 64;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    void *q = malloc(ss_row_size(SS_TYPE_F32, n));
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t type = types[ti];
        int blk = ss_type_info(type)->blck;
        int bblk = blk == 1 ? 32 : blk;
        fill_data(x, n, bblk, 1.0);
        ss_quant_row(type, x, q, n);
        ss_dequant_row(type, q, y, n);
        double se = 0, sx = 0;
        for (int64_t b = 0; b < n; b += bblk) {
            double bound = block_bound(type, x + b, bblk);
            for (int64_t i = b; i < b + bblk; i++) {
                double e = fabs((double)y[i] - x[i]);
                if (type == SS_TYPE_F16) bound += 0x1p-25;   // absolute error of fp16 subnormals
                if (e > bound) fail_msg("%s: element %lld: x %.8g -> %.8g, error %.3g > bound %.3g",
                                        ss_type_name(type), (long long)i, x[i], y[i], e, bound);
                se += e * e; sx += (double)x[i] * x[i];
            }
        }
        double rel = sqrt(se / sx);
        // stated RMS bounds (relative to the data's RMS)
        double rb = type == SS_TYPE_F32 ? 0 : type == SS_TYPE_F16 ? 3e-4 : type == SS_TYPE_BF16 ? 3e-3 :
                    type == SS_TYPE_Q4_0 ? 0.12 : type == SS_TYPE_Q4_1 ? 0.10 : type == SS_TYPE_Q5_0 ? 0.06 :
                    type == SS_TYPE_Q5_1 ? 0.05 : type == SS_TYPE_Q4_K ? 0.10 : type == SS_TYPE_Q5_K ? 0.05 :
                    type == SS_TYPE_Q6_K ? 0.025 : type == SS_TYPE_Q8_K ? 0.02 : 0.01;
        if (rel > rb) fail_msg("%s: relative rms error %.4g > %.4g", ss_type_name(type), rel, rb);
        // all-zero input quantizes to exact zeros
        memset(x, 0, 256 * sizeof(float));
        ss_quant_row(type, x, q, 256);
        ss_dequant_row(type, q, y, 256);
        for (int i = 0; i < 256; i++) assert_true(y[i] == 0.0f);
    }
    free(x); free(y); free(q);
}

// ------------------------------------------------------------------------------------ dot products

// float64 dot of the dequantized rows. Q8_1 activations carry s = fp16(d*sum(q)), which the
// Q4_1/Q5_1 kernels use for the m term (as ggml does): sum_i m*x_i is taken as m*s.
static double dot_deq(uint32_t wt, const void *w, uint32_t vt, const void *xq, int64_t n, double *abs_sum) {
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    ss_dequant_row(wt, w, a, n);
    ss_dequant_row(vt, xq, b, n);
    double s = 0, as = 0;
    for (int64_t i = 0; i < n; i++) { s += (double)a[i] * b[i]; as += fabs((double)a[i] * b[i]); }
    if (vt == SS_TYPE_Q8_1) {
        const ss_block_q8_1 *y = xq;
        for (int64_t bi = 0; bi < n / 32; bi++) {
            uint16_t mh;   // m of the Q4_1 / Q5_1 block: second fp16 of the block
            memcpy(&mh, (const uint8_t *)w + bi * ss_type_info(wt)->type_size + 2, 2);
            int sq = 0;
            for (int j = 0; j < 32; j++) sq += y[bi].qs[j];
            s += (double)ss_fp16_to_fp32(mh) * ((double)ss_fp16_to_fp32(y[bi].s) - (double)ss_fp16_to_fp32(y[bi].d) * sq);
        }
    }
    free(a); free(b);
    if (abs_sum) *abs_sum = as;
    return s;
}

static int64_t test_len(uint32_t type, int k) {
    int blk = ss_type_info(type)->blck;
    static const int64_t flen[] = {1, 7, 8, 33, 64, 1000, 4096};
    // 32-blocks: fewer than 8 blocks (the gemm kernels' block-scale groups of 8 only partial),
    // 896 = Qwen2.5-0.5B's width (3 full groups + 4), whole groups only, 5 groups + 1
    static const int64_t qlen[] = {32, 64, 896, 224, 1024, 4096, 32 * 41};
    static const int64_t klen[] = {256, 512, 768, 2048, 4096, 256 * 11, 256 * 3};
    return blk == 1 ? flen[k] : blk == 32 ? qlen[k] : klen[k];
}

// scalar integer kernels == float64 dot of the dequantized operands (float reordering only),
// and within the activation rounding bound of the unrounded f32 dot (ss_dot_ref)
static void test_vec_dot_scalar(void **state) {
    (void)state;
    const int64_t nmax = 4096;
    float *x = malloc(nmax * sizeof(float));
    void *w = malloc(ss_row_size(SS_TYPE_F32, nmax)), *xq = malloc(ss_row_size(SS_TYPE_F32, nmax) + 64);
    for (int wi = 0; wi < N_WTYPES; wi++) {
        uint32_t wt = weight_types[wi], vt = ss_vec_dot_type(wt);
        for (int k = 0; k < 7; k++) {
            int64_t n = test_len(wt, k);
            for (int rep = 0; rep < 4; rep++) {
                if (rep & 1) random_row(wt, w, n);
                else { fill_data(x, n, 32, 1.0); ss_quant_row(wt, x, w, n); }
                fill_data(x, n, 32, 0.5 + rep);
                ss_quant_act_ref(wt, x, xq, n);
                float s;
                ss_vec_dot_scalar(wt, n, &s, w, xq);
                double abs_sum, ref = dot_deq(wt, w, vt, xq, n, &abs_sum);
                if (fabs(s - ref) > 2e-6 * abs_sum + 1e-30)
                    fail_msg("%s n=%lld: vec_dot_scalar %.9g, float64 %.9g (sum|wx| %.3g)", ss_type_name(wt), (long long)n, s, ref, abs_sum);
                // activation rounding: |sum w (x - xq)| <= sum |w| * bound(block of x)
                float *wd = malloc(n * sizeof(float));
                ss_dequant_row(wt, w, wd, n);
                double bnd = 0;
                int vblk = ss_type_info(vt)->blck == 1 ? 1 : ss_type_info(vt)->blck;
                for (int64_t b = 0; b < n; b += vblk) {
                    double eb = vt == SS_TYPE_F32 ? 0 : vt == SS_TYPE_F16 || vt == SS_TYPE_BF16 ?
                                fabs(x[b]) * (vt == SS_TYPE_F16 ? 1.0 / 2048 : 1.0 / 256) + 0x1p-25 :
                                block_bound(vt, x + b, vblk);
                    for (int64_t i = b; i < b + vblk; i++) bnd += fabs(wd[i]) * eb;
                }
                float r = ss_dot_ref(wt, w, x, n);
                if (fabs(s - r) > bnd * 1.0001 + 2e-6 * abs_sum + 1e-30)
                    fail_msg("%s n=%lld: vec_dot_scalar %.9g vs dot_ref %.9g: beyond the activation rounding bound %.3g",
                             ss_type_name(wt), (long long)n, s, r, bnd);
                free(wd);
            }
        }
    }
    free(x); free(w); free(xq);
}

// SIMD kernels == scalar kernels: dot products within float reordering (relative 1e-5 of
// sum |w_i x_i|), activation conversion bit-identical
static void test_simd_vs_scalar(void **state) {
    (void)state;
    if (!have_simd()) return;
    const ss_kernels *kv = ss_kernels_get(false), *ks = ss_kernels_get(true);
    const int64_t nmax = 4096;
    float *x = malloc(4 * nmax * sizeof(float));
    void *w = malloc(ss_row_size(SS_TYPE_F32, nmax));
    size_t xq_stride = ss_row_size(SS_TYPE_F32, nmax) + 64;
    uint8_t *xq = malloc(4 * xq_stride), *xq2 = malloc(xq_stride);
    for (int wi = 0; wi < N_WTYPES; wi++) {
        uint32_t wt = weight_types[wi], vt = ss_vec_dot_type(wt);
        for (int k = 0; k < 7; k++) {
            int64_t n = test_len(wt, k);
            for (int rep = 0; rep < 6; rep++) {
                if (rep & 1) random_row(wt, w, n);
                else { fill_data(x, n, 32, 1.0); ss_quant_row(wt, x, w, n); }
                for (int j = 0; j < 4; j++) {
                    fill_data(x + j * n, n, 32, 0.3 + rep);
                    if (rep == 5 && j == 0)        // exact rounding ties: amax 127 -> id = 1
                        for (int64_t i = 0; i < n; i++) x[i] = (i % 32 == 0) ? 127.0f : (float)((int64_t)(i % 200) - 100) + 0.5f;
                    kv->quant_act(wt, x + j * n, xq + j * xq_stride, n);          // SIMD
                    ks->quant_act(wt, x + j * n, xq2, n);                         // scalar
                    size_t bytes = ss_row_size(vt, n);
                    if (memcmp(xq + j * xq_stride, xq2, bytes) != 0)
                        fail_msg("%s: SIMD activation conversion differs from scalar (n=%lld)", ss_type_name(vt), (long long)n);
                }
                float s_simd, s_ref, s_n[SS_VEC_DOT_MAX_NR];
                double abs_sum;
                kv->vec_dot_n(wt, n, &s_simd, w, xq, 0, 1);
                ss_vec_dot_scalar(wt, n, &s_ref, w, xq);
                dot_deq(wt, w, vt, xq, n, &abs_sum);
                if (fabs(s_simd - s_ref) > 1e-5 * abs_sum + 1e-30)
                    fail_msg("%s n=%lld: SIMD %.9g, scalar %.9g (sum|wx| %.3g)", ss_type_name(wt), (long long)n, s_simd, s_ref, abs_sum);
                for (int nr = 1; nr <= SS_VEC_DOT_MAX_NR; nr++) {
                    kv->vec_dot_n(wt, n, s_n, w, xq, xq_stride, nr);
                    for (int j = 0; j < nr; j++) {
                        ss_vec_dot_scalar(wt, n, &s_ref, w, xq + j * xq_stride);
                        dot_deq(wt, w, vt, xq + j * xq_stride, n, &abs_sum);
                        if (fabs(s_n[j] - s_ref) > 1e-5 * abs_sum + 1e-30)
                            fail_msg("%s n=%lld nr=%d row %d: SIMD %.9g, scalar %.9g", ss_type_name(wt), (long long)n, nr, j, s_n[j], s_ref);
                    }
                }
            }
        }
    }
    // the forced-scalar table really routes to the scalar kernel: identical bits
    random_row(SS_TYPE_Q4_K, w, 1024);
    fill_data(x, 1024, 32, 1.0);
    kv->quant_act(SS_TYPE_Q4_K, x, xq, 1024);
    float a, b;
    ks->vec_dot_n(SS_TYPE_Q4_K, 1024, &a, w, xq, 0, 1);
    ss_vec_dot_scalar(SS_TYPE_Q4_K, 1024, &b, w, xq);
    assert_int_equal(fbits(a), fbits(b));
    free(x); free(w); free(xq); free(xq2);
}

// matrix-matrix kernels (ss_gemm on packed activations), for each type and both layouts it uses
// (ss_gemm_layout for 1 and for many activation rows):
//  - packing == quant_act (same int8 values, scales, sums of 16 / of pairs; f32 rows and
//    panels = the rounded values exactly, panel lanes past the rows 0);
//  - every out[j][i] within float reordering (1e-5 of sum |w x|) of ss_vec_dot_scalar on the
//    standard activation blocks, for 9 weight rows (random bytes incl. -128, and quantized data)
//    × 9 activation rows;
//  - bit-identical results for every sub-shape m × n (1..9) at every offset (so a matmul's
//    result does not depend on how it is tiled or split between threads).
static void test_gemm(void **state) {
    (void)state;
    if (!have_simd()) return;
    const ss_kernels *kv = ss_kernels_get(false);
    enum { M = 9, N = 9 };
    const int64_t kmax = 4096;
    float *x = malloc(N * kmax * sizeof(float)), *wf = malloc(kmax * sizeof(float));
    size_t wrow = ss_row_size(SS_TYPE_F32, kmax);
    uint8_t *w = malloc(M * wrow);
    uint8_t *xq = malloc(N * wrow);
    uint8_t *xp = aligned_alloc(64, SS_PANEL_ROWS * ss_pack_row_bytes(SS_TYPE_F32, SS_PACK_F32, kmax));
    uint8_t *xsub = aligned_alloc(64, SS_PANEL_ROWS * ss_pack_row_bytes(SS_TYPE_F32, SS_PACK_F32, kmax));
    float *deq = malloc(kmax * sizeof(float));
    float out[N][M], sub[N][M];
    int n_types = 0, n_panel = 0;
    for (int wi = 0; wi < N_WTYPES; wi++) {
        uint32_t wt = weight_types[wi], vt = ss_vec_dot_type(wt);
        if (!kv->gemm_has(wt)) continue;
        n_types++;
        for (int k = 0; k < 7; k++) {
            int64_t K = test_len(wt, k);
            const int layouts[2] = { ss_gemm_layout(wt, K, 1), ss_gemm_layout(wt, K, 1000) };
            for (int li = 0; li < 2; li++) {
                const int layout = layouts[li];
                if (li == 1 && layout == layouts[0]) break;
                const bool panel = layout == SS_PACK_PANEL;
                n_panel += panel;
                size_t rb = ss_row_size(wt, K), xb = ss_row_size(vt, K), pb = ss_pack_row_bytes(wt, layout, K);
                assert_int_equal(pb % 64, 0);
                for (int i = 0; i < M; i++) {
                    if (i % 2) random_row(wt, w + i * rb, K);
                    else { fill_data(wf, K, 32, 1.0); ss_quant_row(wt, wf, w + i * rb, K); }
                }
                for (int j = 0; j < N; j++) fill_data(x + j * K, K, 32, 0.2 + j);
                for (int j = 0; j < N; j++) {
                    kv->quant_act(wt, x + j * K, xq + j * xb, K);
                    if (!panel) kv->pack_act(wt, layout, x + j * K, K, xp + j * pb);
                    else if (j == 0) kv->pack_panel(wt, x, K, N, K, xp);
                    // the packed row holds exactly the standard activation's values
                    const uint8_t *p = xp + j * pb, *q = xq + j * xb;
                    if (panel) {   // qx + 128 in groups of 4, block scales and sums
                        const float *dx = (const float *)(xp + 16 * K), *xs = (const float *)(xp + 18 * K);
                        for (int64_t b = 0; b < K / 32; b++) {
                            const int8_t *qs = vt == SS_TYPE_Q8_0 ? ((const ss_block_q8_0 *)q)[b].qs : ((const ss_block_q8_K *)q)[b / 8].qs + 32 * (b % 8);
                            const float d = vt == SS_TYPE_Q8_0 ? ss_fp16_to_fp32(((const ss_block_q8_0 *)q)[b].d) : ((const ss_block_q8_K *)q)[b / 8].d;
                            int sum = 0;
                            for (int k2 = 0; k2 < 32; k2++) {
                                sum += qs[k2];
                                assert_int_equal(xp[(32 * b + k2) / 4 * 64 + 4 * j + k2 % 4], (uint8_t)(qs[k2] + 128));
                            }
                            assert_int_equal(fbits(dx[b * SS_PANEL_ROWS + j]), fbits(d));
                            assert_true(xs[b * SS_PANEL_ROWS + j] == (float)sum);
                            if (j == N - 1)
                                for (int l = N; l < SS_PANEL_ROWS; l++) assert_true(dx[b * SS_PANEL_ROWS + l] == 0.0f);
                        }
                    } else if (layout == SS_PACK_F32) {
                        ss_dequant_row(vt, q, deq, K);
                        assert_memory_equal(p, deq, sizeof(float) * K);
                    } else if (vt == SS_TYPE_Q8_0) {
                        const float *d = (const float *)(p + (K + 63) / 64 * 64);
                        for (int64_t b = 0; b < K / 32; b++) {
                            const ss_block_q8_0 *blk = (const ss_block_q8_0 *)q + b;
                            assert_memory_equal(p + 32 * b, blk->qs, 32);
                            assert_int_equal(fbits(d[b]), fbits(ss_fp16_to_fp32(blk->d)));
                            const float *sy = (const float *)(p + ss_pack_q8_0_sofs(K));
                            int sum = 0;
                            for (int k2 = 0; k2 < 32; k2++) sum += blk->qs[k2];
                            assert_int_equal(fbits(sy[b]), fbits((float)((double)ss_fp16_to_fp32(blk->d) * sum)));   // exact
                        }
                        for (int64_t b = K / 32; b < (K / 32 + 7) / 8 * 8; b++) assert_true(d[b] == 0.0f && ((const float *)(p + ss_pack_q8_0_sofs(K)))[b] == 0.0f);   // padding
                    } else {
                        assert_int_equal(vt, SS_TYPE_Q8_K);
                        size_t dofs = (K + 63) / 64 * 64, bofs = (dofs + 4 * (K / 256) + 63) / 64 * 64;
                        const float *d = (const float *)(p + dofs);
                        const int16_t *bs = (const int16_t *)(p + bofs);
                        for (int64_t b = 0; b < K / 256; b++) {
                            const ss_block_q8_K *blk = (const ss_block_q8_K *)q + b;
                            assert_memory_equal(p + 256 * b, blk->qs, 256);
                            assert_int_equal(fbits(d[b]), fbits(blk->d));
                            assert_memory_equal(bs + 16 * b, blk->bsums, 32);
                        }
                    }
                }
                kv->gemm(wt, layout, K, w, rb, M, xp, pb, N, &out[0][0], M);
                for (int j = 0; j < N; j++)
                    for (int i = 0; i < M; i++) {
                        float ref;
                        double abs_sum;
                        ss_vec_dot_scalar(wt, K, &ref, w + i * rb, xq + j * xb);
                        dot_deq(wt, w + i * rb, vt, xq + j * xb, K, &abs_sum);
                        if (fabs(out[j][i] - ref) > 1e-5 * abs_sum + 1e-30)
                            fail_msg("%s layout %d K=%lld (%d,%d): gemm %.9g, scalar %.9g (sum|wx| %.3g)", ss_type_name(wt), layout,
                                     (long long)K, i, j, out[j][i], ref, abs_sum);
                    }
                // sub-shapes at offsets: bit-identical
                for (int mm = 1; mm <= M; mm++)
                    for (int nn = 1; nn <= N; nn++) {
                        int i0 = (mm * 7 + nn) % (M - mm + 1), j0 = (nn * 5 + mm) % (N - nn + 1);
                        if (panel) kv->pack_panel(wt, x + j0 * K, K, nn, K, xsub);   // panels start at a row
                        kv->gemm(wt, layout, K, w + i0 * rb, rb, mm, panel ? xsub : xp + j0 * pb, pb, nn, &sub[0][0], M);
                        for (int j = 0; j < nn; j++)
                            for (int i = 0; i < mm; i++)
                                if (fbits(sub[j][i]) != fbits(out[j0 + j][i0 + i]))
                                    fail_msg("%s layout %d K=%lld: %dx%d tile at (%d,%d) differs at (%d,%d)", ss_type_name(wt), layout,
                                             (long long)K, mm, nn, i0, j0, i, j);
                    }
            }
        }
    }
    assert_int_equal(n_types, 8);                   // all but F32 (kept on the row kernel)
    assert_false(kv->gemm_has(SS_TYPE_F32));
    assert_true(n_panel > 0);
    assert_int_equal(ss_gemm_layout(SS_TYPE_Q8_0, 4096, SS_GEMM_PANEL_MIN_T - 1), SS_PACK_INT);
    assert_int_equal(ss_gemm_layout(SS_TYPE_F16, 4096, SS_GEMM_PANEL_MIN_T - 1), SS_PACK_F32);
    assert_int_equal(ss_gemm_layout(SS_TYPE_F16, 4096, 1000), SS_PACK_F32);
    assert_int_equal(ss_gemm_layout(SS_TYPE_Q5_0, 4096, SS_GEMM_PANEL_MIN_T), SS_PACK_PANEL);
    free(x); free(wf); free(w); free(xq); free(xp); free(xsub); free(deq);
}

// the panel kernel (SS_PACK_PANEL) bit for bit against its scalar definition
// (ss_gemm_ipanel_ref), with and without VNNI, 256- and 512-bit, and that definition against
// independent math:
//  - the integer form of each weight row (ss_ipanel_unpack_ref) gives the dequantized row
//    exactly: sc[b] q[k] + mn[b] == ss_dequant_row's value, in double then rounded once;
//  - every result within 2e-6 of sum |w x| of the double-precision dot product of the
//    dequantized rows (the float chain rounds once per sub-block);
//  - shapes: several weight-row groups (48) with a partial one, partial activation panels, one
//    pass of more than 256 activation rows, K-blocks (256) with a partial last one, and the
//    through-the-table product (ss_matmul's path) equal to the direct kernel;
//  - the largest integer sums: Q8_0 rows of all -128 and all 127 against constant activation rows
//    (every qx = 127 or -127);
//  - the scalar definition also in builds / on CPUs without the SIMD kernel; the VNNI variant
//    says when the CPU cannot run it.
static void test_gemm_panel(void **state) {
    (void)state;
    const bool simd = have_simd();
    const ss_kernels *kv = ss_kernels_get(false);
    if (simd && !ss_cpu_has_avxvnni()) fprintf(stderr, "note: CPU without AVX-VNNI, the panel kernel's VNNI variant not run\n");
    if (simd && !ss_cpu_has_avx512vnni()) fprintf(stderr, "note: CPU without AVX-512 VNNI, the panel kernel's 512-bit tiles not run\n");
    static const uint32_t pt[] = {SS_TYPE_Q8_0, SS_TYPE_Q4_0, SS_TYPE_Q5_0, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K};
    for (int ti = 0; ti < (int)(sizeof pt / sizeof pt[0]); ti++) {
        const uint32_t wt = pt[ti], vt = ss_vec_dot_type(wt);
        const int S = ss_ipanel_sub(wt);
        assert_true(S == 16 || S == 32);
        const int64_t M = 101, N = ti == 0 ? 300 : 37;
        const int64_t K = ss_type_info(wt)->blck == 256 ? 256 * 3 : 32 * 27;
        const size_t rb = ss_row_size(wt, K), xb = ss_row_size(vt, K), pb = ss_pack_row_bytes(wt, SS_PACK_PANEL, K);
        const int64_t npan = (N + SS_PANEL_ROWS - 1) / SS_PANEL_ROWS;
        uint8_t *w = malloc(M * rb), *xq = malloc(N * xb), *xp = aligned_alloc(64, npan * SS_PANEL_ROWS * pb);
        float *x = malloc(sizeof(float) * N * K), *wd = malloc(sizeof(float) * K), *xd = malloc(sizeof(float) * K);
        float *out = malloc(sizeof(float) * N * M), *ref = malloc(sizeof(float) * N * M), *sc = malloc(sizeof(float) * K), *mn = malloc(sizeof(float) * K);
        int8_t *q = malloc(K);
        for (int64_t i = 0; i < M; i++) {
            fill_data(wd, K, 32, 1.0);
            if (i % 3) ss_quant_row(wt, wd, w + i * rb, K);
            else random_row(wt, w + i * rb, K);
            if (wt == SS_TYPE_Q8_0 && (i == 1 || i == 2))   // extreme rows: every q = -128 / 127
                for (int64_t b = 0; b < K / 32; b++) memset(((ss_block_q8_0 *)(w + i * rb))[b].qs, i == 1 ? 0x80 : 0x7f, 32);
            // the integer form is the dequantized row
            ss_dequant_row(wt, w + i * rb, wd, K);
            ss_ipanel_unpack_ref(wt, w + i * rb, 0, K, q, sc, mn);
            for (int64_t k = 0; k < K; k++)
                if ((float)((double)sc[k / S] * q[k] + mn[k / S]) != wd[k])   // (== : -0 and 0 alike)
                    fail_msg("%s row %lld value %lld: integer form %g * %d + %g, dequantized %.9g", ss_type_name(wt), (long long)i,
                             (long long)k, sc[k / S], q[k], mn[k / S], wd[k]);
        }
        fill_data(x, N * K, 32, 0.7);
        for (int64_t k = 0; k < K; k++) { x[k] = 0.5f; x[K + k] = -0.25f; }   // constant rows: qx = ±127
        for (int64_t j = 0; j < N; j++) ss_quant_act_ref(wt, x + j * K, xq + j * xb, K);
        ss_gemm_ipanel_ref(wt, K, w, rb, M, xq, xb, N, ref, M);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double as;
                const double d = dot_deq(wt, w + i * rb, vt, xq + j * xb, K, &as);
                if (fabs(ref[j * M + i] - d) > 2e-6 * as + 1e-30)
                    fail_msg("%s (%lld,%lld): integer definition %.9g, double %.9g (sum |wx| %.3g)", ss_type_name(wt), (long long)i,
                             (long long)j, ref[j * M + i], d, as);
            }
        for (int64_t j = 0; simd && j < N; j += SS_PANEL_ROWS)
            kv->pack_panel(wt, x + j * K, K, N - j < SS_PANEL_ROWS ? (int)(N - j) : SS_PANEL_ROWS, K, xp + j * pb);
        // plain AVX2, AVX-VNNI, AVX-512 VNNI (when the CPU has them), the table's choice
        for (int v = 0; simd && v < 4; v++) {
            if ((v == 1 && !ss_cpu_has_avxvnni()) || (v == 2 && !ss_cpu_has_avx512vnni())) continue;
            memset(out, 0xff, sizeof(float) * N * M);
#ifdef SS_HAVE_AVX2
            if (v < 2) assert_true(ss_gemm_panel_avx2(wt, v == 1, K, w, rb, M, xp, pb, N, out, M));
            else if (v == 2) assert_true(ss_gemm_panel_avx512(wt, K, w, rb, M, xp, pb, N, out, M));
            else
#endif
            kv->gemm(wt, SS_PACK_PANEL, K, w, rb, M, xp, pb, N, out, M);
            for (int64_t j = 0; j < N; j++)
                for (int64_t i = 0; i < M; i++)
                    if (fbits(out[j * M + i]) != fbits(ref[j * M + i]))
                        fail_msg("%s panel (variant %d) K=%lld (%lld,%lld): %.9g, definition %.9g", ss_type_name(wt), v,
                                 (long long)K, (long long)i, (long long)j, out[j * M + i], ref[j * M + i]);
        }
        free(w); free(xq); free(xp); free(x); free(wd); free(xd); free(out); free(ref); free(sc); free(mn); free(q);
    }
}

// the panel kernel's 512-bit tiles (ss_gemm_panel_avx512, when the CPU has AVX-512 VNNI) bit for bit
// against the scalar definition (ss_gemm_ipanel_ref) and the AVX2 tiles, for every type with an
// integer form and shapes around the blocking: 1..49 weight rows (tiles of 6, groups of 48, partial
// ones), 1..290 activation rows (panels of 16, tiles of 2 panels, an odd last panel, a pass of 256
// plus a partial one), K of one block to several K-blocks of 256 with a partial last; outputs
// outside [n, m] of ldo untouched; rows of extreme values (every byte 0xff / 0x80: the largest
// K-quant scales, Q8_0 q = -1 / -128) among random and quantized rows
static void test_gemm_panel_avx512(void **state) {
    (void)state;
    if (!have_simd()) return;
#ifdef SS_HAVE_AVX2
    if (!ss_cpu_has_avx512vnni()) {
        fprintf(stderr, "note: CPU without AVX-512 VNNI, the panel kernel's 512-bit tiles are not compared\n");
        return;
    }
    static const uint32_t pt[] = {SS_TYPE_Q8_0, SS_TYPE_Q4_0, SS_TYPE_Q5_0, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K};
    static const struct { int64_t m, n, kb; } sh[] = {   // kb: K in blocks of the type
        {1, 1, 1}, {6, 16, 2}, {7, 33, 3}, {12, 32, 9}, {49, 17, 1}, {48, 48, 10}, {5, 290, 2},
    };
    const ss_kernels *kv = ss_kernels_get(false);
    for (int ti = 0; ti < (int)(sizeof pt / sizeof pt[0]); ti++)
        for (size_t si = 0; si < sizeof sh / sizeof sh[0]; si++) {
            const uint32_t wt = pt[ti], vt = ss_vec_dot_type(wt);
            const int64_t m = sh[si].m, n = sh[si].n, K = sh[si].kb * ss_type_info(wt)->blck, ldo = m + 3;
            const size_t rb = ss_row_size(wt, K), xb = ss_row_size(vt, K), pb = ss_pack_row_bytes(wt, SS_PACK_PANEL, K);
            const int64_t npan = (n + SS_PANEL_ROWS - 1) / SS_PANEL_ROWS;
            uint8_t *w = malloc(m * rb), *xq = malloc(n * xb), *xp = aligned_alloc(64, npan * SS_PANEL_ROWS * pb);
            float *x = malloc(sizeof(float) * n * K), *wf = malloc(sizeof(float) * K);
            float *ref = malloc(sizeof(float) * n * m), *o2 = malloc(sizeof(float) * n * ldo), *o5 = malloc(sizeof(float) * n * ldo);
            for (int64_t i = 0; i < m; i++) {
                if (i % 5 == 3) memset(w + i * rb, i % 2 ? 0xff : 0x80, rb);   // (fp16 scales 0xffff / 0x8080: NaN / -6e-5 ..)
                else if (i % 2) random_row(wt, w + i * rb, K);
                else { fill_data(wf, K, 32, 1.0); ss_quant_row(wt, wf, w + i * rb, K); }
                if (i % 5 == 3)   // finite scales: d = dmin = 0.01 at the start of each block
                    for (int64_t b = 0; b < K / ss_type_info(wt)->blck; b++) {
                        uint8_t *blk = w + i * rb + b * ss_type_info(wt)->type_size;
                        const uint16_t h = ss_fp32_to_fp16(0.01f);
                        const size_t at = wt == SS_TYPE_Q6_K ? offsetof(ss_block_q6_K, d) : 0;
                        memcpy(blk + at, &h, 2);
                        if (wt == SS_TYPE_Q4_K || wt == SS_TYPE_Q5_K) memcpy(blk + 2, &h, 2);
                    }
            }
            fill_data(x, n * K, 32, 0.7);
            for (int64_t j = 0; j < n; j++) ss_quant_act_ref(wt, x + j * K, xq + j * xb, K);
            for (int64_t j = 0; j < n; j += SS_PANEL_ROWS)
                kv->pack_panel(wt, x + j * K, K, n - j < SS_PANEL_ROWS ? (int)(n - j) : SS_PANEL_ROWS, K, xp + j * pb);
            ss_gemm_ipanel_ref(wt, K, w, rb, m, xq, xb, n, ref, m);
            memset(o2, 0x7f, sizeof(float) * n * ldo); memset(o5, 0x7f, sizeof(float) * n * ldo);
            assert_true(ss_gemm_panel_avx2(wt, false, K, w, rb, m, xp, pb, n, o2, ldo));
            assert_true(ss_gemm_panel_avx512(wt, K, w, rb, m, xp, pb, n, o5, ldo));
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < ldo; i++) {
                    const uint32_t want = i < m ? fbits(ref[j * m + i]) : 0x7f7f7f7fu;
                    if (fbits(o5[j * ldo + i]) != want || fbits(o2[j * ldo + i]) != want)
                        fail_msg("%s m=%lld n=%lld K=%lld (%lld,%lld): AVX-512 %.9g, AVX2 %.9g, definition %.9g", ss_type_name(wt),
                                 (long long)m, (long long)n, (long long)K, (long long)i, (long long)j, o5[j * ldo + i], o2[j * ldo + i],
                                 i < m ? ref[j * m + i] : bitsf(want));
                }
            free(w); free(xq); free(xp); free(x); free(wf); free(ref); free(o2); free(o5);
        }
    assert_false(ss_gemm_panel_avx512(SS_TYPE_F16, 32, NULL, 0, 0, NULL, 0, 0, NULL, 0));   // no integer form
    assert_false(ss_gemm_panel_avx512(SS_TYPE_Q4_1, 32, NULL, 0, 0, NULL, 0, 0, NULL, 0));
#endif
}

// the summation order of the F16/BF16 register tiles (quant_avx2.c's tile_f, gemm_avx512.c), in
// scalar code: eight lane chains c[l] = fma(w[k + l], x[k + l], c[l]) over the whole steps of 8,
// the tree ((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7)), then the tail as scalar fmas
static float f_tile_order_ref(uint32_t wt, const uint16_t *w, const float *x, int64_t K) {
    float c[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; l++) {
            const float wv = wt == SS_TYPE_F16 ? ss_fp16_to_fp32(w[k + l]) : ss_bf16_to_fp32(w[k + l]);
            c[l] = fmaf(wv, x[k + l], c[l]);
        }
    float s = ((c[0] + c[4]) + (c[2] + c[6])) + ((c[1] + c[5]) + (c[3] + c[7]));
    for (; k < K; k++) s = fmaf(wt == SS_TYPE_F16 ? ss_fp16_to_fp32(w[k]) : ss_bf16_to_fp32(w[k]), x[k], s);
    return s;
}

// F16 / BF16 weights (layout SS_PACK_F32): the AVX2 tiles (ss_gemm_avx2), the AVX-512 tiles
// (ss_gemm_f_avx512, when the CPU has AVX-512) and the table's gemm, bit for bit against
// f_tile_order_ref, which is itself within float reordering (1e-5 of sum |w x|) of the float64
// dot; shapes: row and activation counts around the tiles (AVX2 4 × 3, AVX-512 6 × 8) and K
// with and without a tail of fewer than 8 values; outputs outside [n, m] of ldo untouched
static void test_gemm_f_tiles(void **state) {
    (void)state;
    if (!have_simd()) return;
#ifdef SS_HAVE_AVX2
    const bool avx512 = ss_cpu_has_avx512();
    if (!avx512) fprintf(stderr, "note: CPU without AVX-512 F/BW/DQ/VL, the AVX-512 F16/BF16 tiles not compared\n");
    const ss_kernels *kv = ss_kernels_get(false);
    static const struct { int64_t m, n, K; } sh[] = {
        {1, 2, 8}, {2, 1, 7}, {5, 3, 13}, {6, 8, 64}, {7, 9, 33}, {12, 16, 896}, {13, 17, 905}, {25, 11, 1000}, {3, 40, 4864 + 3},
    };
    static const uint32_t ft[] = {SS_TYPE_F16, SS_TYPE_BF16};
    int n_cmp = 0;
    for (int ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof sh / sizeof sh[0]; si++) {
            const uint32_t wt = ft[ti];
            const int64_t m = sh[si].m, n = sh[si].n, K = sh[si].K, ldo = m + 3;
            const size_t rb = ss_row_size(wt, K), pb = ss_pack_row_bytes(wt, SS_PACK_F32, K);
            uint8_t *w = malloc(m * rb), *xp = aligned_alloc(64, n * pb);
            float *x = malloc(sizeof(float) * K), *wf = malloc(sizeof(float) * K), *ref = malloc(sizeof(float) * n * m);
            float *out = malloc(sizeof(float) * n * ldo);
            for (int64_t i = 0; i < m; i++) {
                fill_data(wf, K, 32, i % 4 == 3 ? 1e3 : 1.0);
                ss_quant_row(wt, wf, w + i * rb, K);
            }
            for (int64_t j = 0; j < n; j++) {
                fill_data(x, K, 32, 0.2 + j);
                kv->pack_act(wt, SS_PACK_F32, x, K, xp + j * pb);   // x rounded to the weight type, as f32
            }
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < m; i++) {
                    const float *xj = (const float *)(xp + j * pb);
                    ref[j * m + i] = f_tile_order_ref(wt, (const uint16_t *)(w + i * rb), xj, K);
                    float *wd = wf;
                    ss_dequant_row(wt, w + i * rb, wd, K);
                    double d = 0, as = 0;
                    for (int64_t k = 0; k < K; k++) { d += (double)wd[k] * xj[k]; as += fabs((double)wd[k] * xj[k]); }
                    if (fabs(ref[j * m + i] - d) > 1e-5 * as + 1e-30)
                        fail_msg("%s K=%lld (%lld,%lld): tile order %.9g, double %.9g", ss_type_name(wt), (long long)K,
                                 (long long)i, (long long)j, ref[j * m + i], d);
                }
            for (int v = 0; v < 3; v++) {   // AVX2 tiles, AVX-512 tiles, the table's choice
                if (v == 1 && !avx512) continue;
                for (int64_t i = 0; i < n * ldo; i++) out[i] = NAN;
                if (v == 0) assert_true(ss_gemm_avx2(wt, SS_PACK_F32, K, w, rb, m, xp, pb, n, out, ldo));
                else if (v == 1) assert_true(ss_gemm_f_avx512(wt, K, w, rb, m, xp, pb, n, out, ldo));
                else kv->gemm(wt, SS_PACK_F32, K, w, rb, m, xp, pb, n, out, ldo);
                for (int64_t j = 0; j < n; j++)
                    for (int64_t i = 0; i < ldo; i++) {
                        if (i >= m) { assert_true(isnan(out[j * ldo + i])); continue; }
                        if (fbits(out[j * ldo + i]) != fbits(ref[j * m + i]))
                            fail_msg("%s %s m=%lld n=%lld K=%lld (%lld,%lld): %.9g, order definition %.9g", ss_type_name(wt),
                                     v == 0 ? "avx2" : v == 1 ? "avx512" : "table", (long long)m, (long long)n, (long long)K,
                                     (long long)i, (long long)j, out[j * ldo + i], ref[j * m + i]);
                        n_cmp++;
                    }
            }
            free(w); free(xp); free(x); free(wf); free(ref); free(out);
        }
    assert_true(n_cmp > 0);
    assert_false(ss_gemm_f_avx512(SS_TYPE_F32, 8, NULL, 0, 0, NULL, 0, 0, NULL, 0));   // F16 / BF16 only
    assert_false(ss_gemm_f_avx512(SS_TYPE_Q8_0, 32, NULL, 0, 0, NULL, 0, 0, NULL, 0));
#endif
}

// single-row (decode) products of Q4_K / Q6_K on the AVX-512 tiles (when the CPU has AVX-512
// F/BW/VL/VNNI): bit for bit the AVX2 tiles' results, for random bytes (every scale and quant
// pattern), quantized rows and rows of extreme values (all scales and quants at their maxima, the
// most negative Q6_K scales) against ordinary, constant and saturating (|x| max in every block)
// activations, an odd number of rows (a single-row tail) and several K; the AVX2 tiles themselves
// are checked against the scalar definition in test_gemm
static void test_gemv_avx512(void **state) {
    (void)state;
    if (!have_simd()) return;
#ifdef SS_HAVE_AVX2
    if (!ss_cpu_has_avx512vnni()) {
        fprintf(stderr, "note: CPU without AVX-512 VNNI, the 512-bit decode tiles are not compared\n");
        return;
    }
    enum { M = 7 };
    static const uint32_t wts[] = { SS_TYPE_Q4_K, SS_TYPE_Q6_K };
    static const int64_t Ks[] = { 256, 768, 256 * 35 };
    for (int ti = 0; ti < 2; ti++)
        for (int ki = 0; ki < 3; ki++) {
            const uint32_t wt = wts[ti];
            const int64_t K = Ks[ki];
            const size_t rb = ss_row_size(wt, K);
            const int layout = ss_gemm_layout(wt, K, 1);
            uint8_t *w = malloc(M * rb), *xp = aligned_alloc(64, ss_pack_row_bytes(wt, layout, K));
            float *x = malloc(sizeof(float) * K), *wf = malloc(sizeof(float) * K);
            for (int i = 0; i < M; i++) {
                uint8_t *row = w + i * rb;
                if (i == M - 1) {   // extremes: every quant and scale byte at its maximum
                    memset(row, 0xff, rb);
                    for (int64_t b = 0; b < K / 256; b++) {
                        if (wt == SS_TYPE_Q4_K) { ss_block_q4_K *q = (ss_block_q4_K *)row + b; q->d = q->dmin = ss_fp32_to_fp16(0.01f); }
                        else {
                            ss_block_q6_K *q = (ss_block_q6_K *)row + b;
                            for (int j = 0; j < 16; j++) q->scales[j] = (int8_t)(j % 2 ? -128 : 127);
                            q->d = ss_fp32_to_fp16(0.001f);
                        }
                    }
                } else if (i % 2) random_row(wt, row, K);
                else { fill_data(wf, K, 32, 1.0); ss_quant_row(wt, wf, row, K); }
            }
            for (int a = 0; a < 3; a++) {
                if (a == 0) fill_data(x, K, 32, 0.3);
                for (int64_t k = 0; k < K; k++) {
                    if (a == 1) x[k] = 0.5f;                          // constant: every qy = 127
                    if (a == 2) x[k] = k % 3 ? -1.0f : 0.25f;         // qy = -127 and 32
                }
                assert_true(ss_pack_act_avx2(wt, layout, x, K, xp));
                float o2[M], o5[M];
                memset(o2, 0xff, sizeof o2); memset(o5, 0, sizeof o5);
                assert_true(ss_gemm_avx2(wt, layout, K, w, rb, M, xp, 0, 1, o2, 1));
                assert_true(ss_gemv_kq_avx512(wt, K, w, rb, M, xp, o5));
                for (int i = 0; i < M; i++)
                    if (fbits(o2[i]) != fbits(o5[i]))
                        fail_msg("%s K=%lld activations %d row %d: AVX-512 %.9g, AVX2 %.9g", ss_type_name(wt), (long long)K, a, i, o5[i], o2[i]);
            }
            free(w); free(xp); free(x); free(wf);
        }
#endif
}

// swiglu: silu(g) * u against expf in double precision (SIMD exp within a few ulp)
static void test_swiglu(void **state) {
    (void)state;
    enum { n = 1003 };
    float g[n], u[n], r[n];
    for (int i = 0; i < n; i++) {
        g[i] = (float)(rnd_normal() * (i < 900 ? 4 : 60));
        u[i] = (float)rnd_normal();
        if (i == 0) g[i] = 0; else if (i == 1) g[i] = -0.0f; else if (i == 2) g[i] = 100; else if (i == 3) g[i] = -100;
        else if (i == 4) g[i] = 88.9f; else if (i == 5) g[i] = -88.9f; else if (i == 6) g[i] = -1e-30f; else if (i == 7) g[i] = 1e-30f;
        r[i] = g[i];
    }
    for (int simd = 0; simd < 2; simd++) {
        memcpy(g, r, sizeof g);
        ss_kernels_get(!simd)->swiglu(g, u, n);
        for (int i = 0; i < n; i++) {
            double e = (double)r[i] / (1.0 + exp(-(double)r[i])) * u[i];
            if (!(fabs(g[i] - e) <= 4e-7 * fabs(e) + 1e-30))   // (below 1e-30: exp overflow in the scalar path)
                fail_msg("swiglu(%s) g=%.9g u=%.9g: %.9g, expected %.9g", simd ? "simd" : "scalar", r[i], u[i], g[i], e);
        }
    }
}

// ss_dot_ref is the float64 dot of the dequantized row with x
static void test_dot_ref(void **state) {
    (void)state;
    const int64_t n = 768;
    float x[768], wd[768];
    uint8_t w[768 * 4];
    for (int wi = 0; wi < N_WTYPES; wi++) {
        uint32_t wt = weight_types[wi];
        random_row(wt, w, n);
        fill_data(x, n, 32, 1.0);
        ss_dequant_row(wt, w, wd, n);
        double s = 0, as = 0;
        for (int i = 0; i < n; i++) { s += (double)wd[i] * x[i]; as += fabs((double)wd[i] * x[i]); }
        float r = ss_dot_ref(wt, w, x, n);
        if (fabs(r - s) > 1e-7 * as + 1e-30) fail_msg("%s: dot_ref %.9g vs %.9g", ss_type_name(wt), r, s);
    }
}

// the dispatch: forced scalar gives exactly the scalar references; the default table is the AVX2
// one exactly when this build has the leaves and the CPU (checked here independently, by the
// compiler's cpuid builtins) has AVX2, FMA and F16C; every entry of a table is set, except the
// SIMD-only ones in the scalar table
static void test_dispatch(void **state) {
    (void)state;
    const ss_kernels *ks = ss_kernels_get(true), *kv = ss_kernels_get(false);
    assert_false(ks->simd);
    assert_string_equal(ks->name, "scalar");
    assert_ptr_equal(ks->dequant_row, ss_dequant_row);
    assert_ptr_equal(ks->vec_dot_n, ss_vec_dot_n_ref);
    assert_ptr_equal(ks->quant_act, ss_quant_act_ref);
    assert_ptr_equal(ks->axpy, ss_axpy_ref);
    assert_ptr_equal(ks->swiglu, ss_swiglu_ref);
    assert_ptr_equal(ks->f32_to_f16, ss_f32_to_f16_ref);
    assert_ptr_equal(ks->round_f16, ss_round_f16_ref);
    assert_ptr_equal(ks->slot_dot_rows, ss_slot_dot_rows_ref);
    assert_ptr_equal(ks->slot_add_max, ss_slot_add_max_ref);
    assert_ptr_equal(ks->slot_exp_sum, ss_slot_exp_sum_ref);
    assert_ptr_equal(ks->slot_axpy, ss_slot_axpy_ref);
    assert_ptr_equal(ks->slot_gemm, ss_slot_gemm_ref);
    assert_ptr_equal(ks->slot_dot_f64, ss_slot_dot_f64_ref);
    assert_ptr_equal(ks->slot_exp_axpy, ss_slot_exp_axpy_ref);
    assert_ptr_equal(ks->slot_gacc, ss_slot_gacc_ref);
    assert_null(ks->gemm_has); assert_null(ks->pack_act); assert_null(ks->pack_panel); assert_null(ks->gemm);
    assert_ptr_equal(ks->attn_block, ss_attn_block_ref);
    assert_null(ks->slot_dot_q8_0); assert_null(ks->slot_gacc_q8_0);
    assert_ptr_equal(ss_kernels_get(true), ks);            // constant tables
    assert_ptr_equal(ss_kernels_get(false), kv);
#if defined(SS_HAVE_AVX2)
    __builtin_cpu_init();
    const bool cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && have_f16c();
#else
    const bool cpu = false;                                  // no leaves built: scalar only
#endif
    assert_int_equal(ss_cpu_has_avx2(), cpu);
    if (!cpu) assert_false(ss_cpu_has_avxvnni());
    if (!cpu) assert_false(ss_cpu_has_avx512());
    assert_int_equal(kv->simd, cpu);
    if (!cpu) { assert_ptr_equal(kv, ks); return; }
    assert_string_equal(kv->name, "avx2");
    const int vnni = cpuinfo_has_flag("avx_vnni");
    if (vnni >= 0) assert_int_equal(ss_cpu_has_avxvnni(), vnni);
#if defined(SS_HAVE_AVX2)
    // AVX-512 F/BW/DQ/VL usable (the compiler's builtins also check that the OS saves the ZMM state)
    assert_int_equal(ss_cpu_has_avx512(), __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"));
#endif
    void (*const *e)(void) = (void (*const *)(void))&kv->dequant_row;   // every function pointer set
    for (; (const char *)e < (const char *)(kv + 1); e++) assert_non_null(*e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_fp16),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_dequant_formulas),
        cmocka_unit_test(test_dequant_simd_exact),
        cmocka_unit_test(test_model_files),
        cmocka_unit_test(test_quant_roundtrip),
        cmocka_unit_test(test_dot_ref),
        cmocka_unit_test(test_vec_dot_scalar),
        cmocka_unit_test(test_simd_vs_scalar),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_panel),
        cmocka_unit_test(test_gemm_panel_avx512),
        cmocka_unit_test(test_gemm_f_tiles),
        cmocka_unit_test(test_gemv_avx512),
        cmocka_unit_test(test_swiglu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
