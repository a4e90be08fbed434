// ss_attn.h — attention inner loops on the KV cache and the F16 conversions of the forward pass:
// the scalar references (attn.c). The AVX2 kernels (x86/attn_avx2.c) are reached through the
// dispatch table (ss_kernels.h); tests/test_attn.c compares the two.
#ifndef SS_ATTN_H
#define SS_ATTN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Σ_z q[z] · k[z] (k in F16 if f16, else f32; float sum in z order)
float ss_attn_dot_ref(const float *q, const void *k, bool f16, int n);
// o[z] += p · v[z]
void  ss_attn_axpy_ref(float *o, float p, const void *v, bool f16, int n);
// y[i] = f16(x[i]); y[i] = f32(f16(x[i])) (round to nearest even, as ss_fp32_to_fp16; x == y allowed)
void  ss_f32_to_f16_ref(const float *x, uint16_t *y, int n);
void  ss_round_f16_ref(const float *x, float *y, int n);

#endif
