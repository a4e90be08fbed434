// ss_matmul.h — matrix products with quantized weights, threaded.
#ifndef SS_MATMUL_H
#define SS_MATMUL_H
#include "ss_pool.h"
#include "ss_kernels.h"

// A weight matrix W[rows, cols] of any supported type, row-major, rows of ss_row_size(type, cols) bytes.
typedef struct ss_weight {
    uint32_t type;
    int64_t rows, cols;
    const void *data;
    size_t row_bytes;
} ss_weight;

// Every product takes the kernel table k (ss_kernels_get; a context passes its own, c->kern).
// Every product returns 0, or -1 when the scratch for the converted activations cannot be allocated
// (out of memory; nothing is computed). With a pool, the scratch is the pool's grow-only slot 0: a
// caller that reserved it beforehand (ss_pool_scratch(pool, 0, ss_matmul_scratch_bound(...)), as a
// context does for its forward pass) gets no allocation and no failure from the products it covers.

// out[T, rows] = x[T, cols] · W[rows, cols]^T   (activations rounded to ss_vec_dot_type first)
// `out` rows are ld_out floats apart (ld_out >= W->rows; pass W->rows for dense).
// Uses a scratch buffer kept in the pool's thread-local arena: no allocation per call after warm-up.
int ss_matmul(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T, const ss_weight *W);

// out[T, r1-r0] for a subset of W's rows [r0, r1) — used for chunked LM-head passes:
// out[t*ld_out + (r - r0)] = x[t] · W[r]  (ld_out >= r1 - r0).
int ss_matmul_rows(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, const float *x, int64_t T,
                    const ss_weight *W, int64_t r0, int64_t r1);

// Several products sharing the input (e.g. Q, K, V or gate, up), in one pass over the pool with
// the activations converted once per distinct vec-dot type:
//   out[i][T, W[i]->rows] = x[T, cols] · W[i]^T   (rows ld_out[i] floats apart; same cols for all)
// Results are identical to n separate ss_matmul calls.
#define SS_MATMUL_MAX 8     // matrices per pass (more are done in several passes)
int ss_matmul_multi(const ss_kernels *k, ss_pool *pool, int n, float *const out[], const int64_t ld_out[], const float *x,
                     int64_t T, const ss_weight *const W[]);

// Gate and up projections of a SwiGLU feed-forward in one pass, the activation applied per chunk
// of rows while it is in cache (Wgate and Wup: same shape):
//   out[T, rows] = silu(x · Wgate^T) * (x · Wup^T),  up[T, rows] = x · Wup^T  (scratch, ld_up apart)
// silu(g) = g / (1 + exp(-g)) (the table's swiglu). The products are the same as ss_matmul's.
int ss_matmul_swiglu(const ss_kernels *k, ss_pool *pool, float *out, int64_t ld_out, float *up, int64_t ld_up, const float *x,
                      int64_t T, const ss_weight *Wgate, const ss_weight *Wup);

// The same with the kernels chosen by what the T rows are, not by T (batch invariance):
//   SS_MM_PROMPT: prompt tokens, the prefill kernels (SS_PACK_PANEL for the quantized types);
//   SS_MM_GEN: generated tokens, the decode kernels (SS_PACK_INT); SS_MM_AUTO: by T, as above.
// Each output then has the same bits at any T (and as the AUTO call with T rows of that kernel).
enum { SS_MM_AUTO = 0, SS_MM_PROMPT = 1, SS_MM_GEN = 2 };
int ss_matmul_multi_k(const ss_kernels *k, ss_pool *pool, int kind, int n, float *const out[], const int64_t ld_out[], const float *x,
                       int64_t T, const ss_weight *const W[]);
int ss_matmul_swiglu_k(const ss_kernels *k, ss_pool *pool, int kind, float *out, int64_t ld_out, float *up, int64_t ld_up, const float *x,
                        int64_t T, const ss_weight *Wgate, const ss_weight *Wup);

// Scratch bytes of the activations of ss_matmul_multi_k(kind, T rows, W[0..n)) (n <= SS_MATMUL_MAX;
// a swiglu pair is n = 2: gate, up), and an upper bound of them for every call with at most T rows,
// any kind, any subset of W[0..n) with equal cols as its matrices (what a caller reserves once).
size_t ss_matmul_scratch_bytes(const ss_kernels *k, int kind, int64_t T, int n, const ss_weight *const W[]);
size_t ss_matmul_scratch_bound(const ss_kernels *k, int64_t T, int n, const ss_weight *const W[]);

// y[cols] = W[rows, cols]^T · g[rows]  (transposed mat-vec, f32 accumulation; dequantizes rows)
// used by SLOT's gradient and by backprop through the LM head.
void ss_matvec_t(const ss_kernels *k, ss_pool *pool, float *y, const float *g, const ss_weight *W);

// dequantize a single row (e.g. the embedding of one token)
void ss_weight_row(const ss_kernels *k, const ss_weight *W, int64_t r, float *y);

#endif
