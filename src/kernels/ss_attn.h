// ss_attn.h — attention on the KV cache, one key block at a time with an online softmax, and the
// F16 conversions of the forward pass: the scalar references (attn.c). The AVX2 kernels
// (x86/attn_avx2.c, and x86/attn_avx512.c for F16 K/V) are reached through the dispatch table (ss_kernels.h); tests/test_attn.c
// compares the two.
#ifndef SS_ATTN_H
#define SS_ATTN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// keys per block: a block is the part of one KV page (SS_KV_PAGE tokens) that belongs to one head
#define SS_ATTN_BLOCK 32

// One query entry's G heads (sharing one K/V head, GQA) and their softmax state.
//   q[G][hd]   queries (rounded to F16 by the caller when K is F16)
//   o[G][hd]   output accumulator (pass 2)
//   m[G], l[G] pass 1: running max of the scores and Σ_t exp(s_t - m); pass 2: the final max and
//              1/Σ (set by the caller between the passes)
//   nk         keys of this block the entry sees (1..SS_ATTN_BLOCK; the causal limit)
//   sc         NULL, or [G][SS_ATTN_BLOCK] floats for this block's q · k_t: written by pass 1, read
//              by pass 2 instead of computing them again (the same values; K is then read once)
typedef struct { const float *q; float *o; float *m, *l; int nk; float *sc; } ss_attn_rows;

// Attention of every row (entry e, head g) over one key block, keys t < rows[e].nk, in two passes
// over a query's blocks (no score matrix is kept; pass 2 recomputes the scores):
//   s_t = (q · k_t) · scale
//   pass 1 (online softmax normalizer): m' = max(m, max_t s_t), l = l·exp(m - m') + Σ_t exp(s_t - m'), m = m'
//   pass 2 (weighted sum):              p_t = f16?(exp(s_t - m) · l),  o += Σ_t p_t · v_t
// With F16 V the normalized weights p_t are rounded to F16 before the product, as ggml rounds the
// softmax output before its F16 product with V (so the result agrees with llama.cpp's to
// float rounding, which one online pass over unnormalized weights cannot).
// K and V rows of the block: key t's row at k + t*k_stride bytes (v + t*v_stride), of type type_k
// (type_v): SS_TYPE_F32, SS_TYPE_F16 or SS_TYPE_Q8_0 (hd a multiple of 32; the row starts at a block).
// With type_k F16 the caller rounds q to F16; with type_v F16 the weights are rounded. buf: 2*SS_ATTN_BLOCK*hd floats of scratch. Every row's result depends only on its own
// q, state, nk and the block, never on the other rows (the AVX2 kernel: bit for bit), so that a
// query's attention is the same whichever queries share its tiles.
void ss_attn_block_ref(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                       size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf);
// y[i] = f16(x[i]); y[i] = f32(f16(x[i])) (round to nearest even, as ss_fp32_to_fp16; x == y allowed)
void  ss_f32_to_f16_ref(const float *x, uint16_t *y, int n);
void  ss_round_f16_ref(const float *x, float *y, int n);

#endif
