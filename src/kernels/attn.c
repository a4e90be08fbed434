// attn.c — scalar references of the attention kernels (ss_attn.h).
#include "ss_attn.h"
#include "ss_quant.h"

float ss_attn_dot_ref(const float *q, const void *k, bool f16, int n) {
    float d = 0;
    for (int z = 0; z < n; z++) d += q[z] * (f16 ? ss_fp16_to_fp32(((const uint16_t *)k)[z]) : ((const float *)k)[z]);
    return d;
}

void ss_attn_axpy_ref(float *o, float p, const void *v, bool f16, int n) {
    for (int z = 0; z < n; z++) o[z] += p * (f16 ? ss_fp16_to_fp32(((const uint16_t *)v)[z]) : ((const float *)v)[z]);
}

void ss_f32_to_f16_ref(const float *x, uint16_t *y, int n) {
    for (int i = 0; i < n; i++) y[i] = ss_fp32_to_fp16(x[i]);
}

void ss_round_f16_ref(const float *x, float *y, int n) {
    for (int i = 0; i < n; i++) y[i] = ss_fp16_to_fp32(ss_fp32_to_fp16(x[i]));
}
