// test_attn.c — the attention kernels (AVX2) against their scalar references on random data.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>
#include "ss_quant.h"

float ss_attn_dot_ref(const float *q, const void *k, bool f16, int n);
void  ss_attn_axpy_ref(float *o, float p, const void *v, bool f16, int n);
float ss_attn_dot_f16_avx2(const float *q, const uint16_t *k, int n);
float ss_attn_dot_f32_avx2(const float *q, const float *k, int n);
void  ss_attn_axpy_f16_avx2(float *o, float p, const uint16_t *v, int n);
void  ss_attn_axpy_f32_avx2(float *o, float p, const float *v, int n);

static float frand(void) { return (float)rand() / RAND_MAX * 2 - 1; }

static void test_kernels(void **st) {
    (void)st;
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
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_kernels) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
