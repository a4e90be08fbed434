// test_attn.c — the attention kernels (AVX2) against their scalar references on random data; the
// group kernels against the single-head ones (bit for bit); the F16 conversions of the forward pass
// (both kernel tables) against ss_fp32_to_fp16. Builds without the AVX2 leaves (NO_AVX2=1, not
// x86) skip the AVX2 tests.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include "ss_kernels.h"
#include "ss_attn.h"
#ifdef SS_HAVE_AVX2
#include "x86/ss_avx2.h"
#endif

#ifdef SS_HAVE_AVX2
static float frand(void) { return (float)((double)rand() / RAND_MAX * 2 - 1); }
#endif

static void test_kernels(void **st) {
    (void)st;
#ifndef SS_HAVE_AVX2
    skip();
#else
    if (!ss_cpu_has_avx2()) skip();
    srand(3);
    for (int n = 8; n <= 256; n += 8) {
        float q[256], kf[256], o1[256], o2[256];
        uint16_t kh[256];
        double mag = 0;
        for (int i = 0; i < n; i++) { q[i] = frand(); kf[i] = frand(); kh[i] = ss_fp32_to_fp16(frand()); mag += fabs(q[i]); }
        // dot: summation order differs only: bound by n·eps·Σ|q·k|
        assert_true(fabs(ss_attn_dot_f32_avx2(q, kf, n) - ss_attn_dot_ref(q, kf, false, n)) <= 1e-6 * mag + 1e-7);
        assert_true(fabs(ss_attn_dot_f16_avx2(q, kh, n) - ss_attn_dot_ref(q, kh, true, n)) <= 1e-6 * mag + 1e-7);
        float p = frand();
        for (int i = 0; i < n; i++) o1[i] = o2[i] = frand();
        ss_attn_axpy_f32_avx2(o1, p, kf, n); ss_attn_axpy_ref(o2, p, kf, false, n);
        for (int i = 0; i < n; i++) assert_true(fabs(o1[i] - o2[i]) <= 1e-6);   // one fma vs mul+add
        ss_attn_axpy_f16_avx2(o1, p, kh, n); ss_attn_axpy_ref(o2, p, kh, true, n);
        for (int i = 0; i < n; i++) assert_true(fabs(o1[i] - o2[i]) <= 2e-6);
    }
#endif
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

// the group kernels (one K/V row for G query heads) == G single-head kernel calls, bit for bit
static void test_group_kernels(void **st) {
    (void)st;
#ifndef SS_HAVE_AVX2
    skip();
#else
    if (!ss_cpu_has_avx2()) skip();
    srand(5);
    for (int n = 8; n <= 256; n += 24) {
        for (int G = 1; G <= 8; G++) {
            float q[8 * 256], kf[256], s[8], o1[8 * 256], o2[8 * 256], p[8 * 3];
            uint16_t kh[256];
            for (int i = 0; i < G * n; i++) q[i] = frand();
            for (int i = 0; i < n; i++) { kf[i] = frand(); kh[i] = ss_fp32_to_fp16(frand()); }
            for (int f16 = 0; f16 < 2; f16++) {
                ss_attn_dots_avx2(q, G, f16 ? (const void *)kh : (const void *)kf, f16, n, s);
                for (int g = 0; g < G; g++) {
                    float r = f16 ? ss_attn_dot_f16_avx2(q + g * n, kh, n) : ss_attn_dot_f32_avx2(q + g * n, kf, n);
                    assert_int_equal(fbits(s[g]), fbits(r));
                }
                for (int i = 0; i < G * 3; i++) p[i] = frand();
                for (int i = 0; i < G * n; i++) o1[i] = o2[i] = frand();
                ss_attn_axpys_avx2(o1, G, p, 3, f16 ? (const void *)kh : (const void *)kf, f16, n);
                for (int g = 0; g < G; g++) {
                    if (f16) ss_attn_axpy_f16_avx2(o2 + g * n, p[g * 3], kh, n);
                    else ss_attn_axpy_f32_avx2(o2 + g * n, p[g * 3], kf, n);
                }
                assert_memory_equal(o1, o2, sizeof(float) * G * n);
            }
        }
    }
#endif
}

// F16 conversions of both kernel tables (SIMD where there is, scalar) == ss_fp32_to_fp16 (round
// to nearest even) on every non-NaN class: normals, ties, subnormals, overflow to inf, zeros of
// both signs; lengths with tails
static void test_f16_conversions(void **st) {
    (void)st;
    enum { n = 4099 };
    static float x[n], r[n];
    static uint16_t h[n];
    uint32_t u = 0x12345678u;
    for (int i = 0; i < n; i++) {
        u = u * 1664525u + 1013904223u;
        uint32_t bits = u;
        if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffff)) bits &= ~0x7fffffu;   // no NaN
        memcpy(&x[i], &bits, 4);
        if (i % 5 == 1) x[i] = ldexpf((float)(int)(u % 2048) + 0.5f, -24 - (int)(u % 3));  // subnormal f16 ties
        if (i % 5 == 2) x[i] = (float)((int)(u % 4001) - 2000) * 0.03125f;                  // exact / ties
        if (i == 3) x[i] = 65519.0f;
        if (i == 4) x[i] = 65520.0f;
        if (i == 5) x[i] = -0.0f;
        if (i == 6) x[i] = INFINITY;
    }
    for (int scalar = 0; scalar < 2; scalar++)
    for (int len = 1; len <= n; len = len * 3 + 1) {
        const ss_kernels *k = ss_kernels_get(scalar);
        k->f32_to_f16(x, h, len);
        k->round_f16(x, r, len);
        for (int i = 0; i < len; i++) {
            uint16_t e = ss_fp32_to_fp16(x[i]);
            if (h[i] != e) fail_msg("f16(%.9g) = 0x%04x, expected 0x%04x", x[i], h[i], e);
            assert_int_equal(fbits(r[i]), fbits(ss_fp16_to_fp32(e)));
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_kernels), cmocka_unit_test(test_group_kernels),
                                        cmocka_unit_test(test_f16_conversions) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
