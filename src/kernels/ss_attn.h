// ss_attn.h — attention inner loops on the KV cache: AVX2/F16C kernels (attn_avx2.c, called only
// after a runtime CPU check) and their scalar references (forward.c), which the tests compare.
#ifndef SS_ATTN_H
#define SS_ATTN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

float ss_attn_dot_ref(const float *q, const void *k, bool f16, int n);
void  ss_attn_axpy_ref(float *o, float p, const void *v, bool f16, int n);
float ss_attn_dot_f16_avx2(const float *q, const uint16_t *k, int n);
float ss_attn_dot_f32_avx2(const float *q, const float *k, int n);
void  ss_attn_axpy_f16_avx2(float *o, float p, const uint16_t *v, int n);
void  ss_attn_axpy_f32_avx2(float *o, float p, const float *v, int n);
void  ss_attn_dots_avx2(const float *q, int G, const void *k, int f16, int n, float *s);
void  ss_attn_axpys_avx2(float *o, int G, const float *p, size_t p_stride, const void *v, int f16, int n);
void  ss_f32_to_f16_avx2(const float *x, uint16_t *y, int n);
void  ss_round_f16_avx2(const float *x, float *y, int n);

#endif
