// quant_avx2.c — AVX2/FMA/F16C kernels (compiled with -mavx2 -mfma -mf16c; called only after
// ss_cpu_has_avx2()). Each returns false for types it does not handle (scalar path is used).
#include "ss_quant.h"
#include <immintrin.h>

bool ss_vec_dot_avx2(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq,
                     size_t xq_stride, int nr) {
    return false;
}

bool ss_quant_act_avx2(uint32_t vtype, const float *x, void *xq, int64_t n) {
    return false;
}

void ss_fp16_to_fp32_row_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = _cvtsh_ss(x[i]);
}
