// qgemm.c — the integer form of quantized weight rows, and the scalar definition of the integer
// panel product (SS_PACK_PANEL: prefill of the quantized types; the SIMD kernel is
// x86/gemm_avx2.c's, bit for bit the same; the tests compare the two).
//
// Integer form: every quantized weight row is, per sub-block b of S = ss_ipanel_sub(type) values,
//   W[k] = sc[b] · q[k] + mn[b]      q int8, sc and mn floats (both exact products of the format's
//                                    fp16 scales and small integers; mn = 0 but for Q4_K / Q5_K)
// and every activation row, rounded to the weight's vec-dot type (Q8_0 or Q8_K), is per block of 32
//   X[k] = dx[k/32] · qx[k]          (Q8_K: the super-block's d for each of its 8 blocks of 32)
// The product of row i and activation row j is then one chain over the sub-blocks in k order:
//   s = 0; for each b: s = fma((float) Σ_{k in b} q[k] qx[k], sc[b] · dx[b],     s)
//                      s = fma((float) Σ_{k in b} qx[k],      mn[b] · dx[b],     s)   (Q4_K, Q5_K)
// where the integer sums are exact (|Σ| < 2^24, so exact as floats too) and sc[b] · dx[b] is one
// rounded float product: the result depends only on (i, j), never on tiles, batch or threads.
#include "ss_quant.h"
#include <math.h>
#include <stdlib.h>

#define H2F ss_fp16_to_fp32

int ss_ipanel_sub(uint32_t wtype) {
    switch (wtype) {
    case SS_TYPE_Q4_0: case SS_TYPE_Q5_0: case SS_TYPE_Q8_0: case SS_TYPE_Q4_K: case SS_TYPE_Q5_K: return 32;
    case SS_TYPE_Q6_K: return 16;
    default: return 0;
    }
}

bool ss_ipanel_has_min(uint32_t wtype) { return wtype == SS_TYPE_Q4_K || wtype == SS_TYPE_Q5_K; }

// one block of each format: values of block `blk` into q (its ti->blck values), scales per sub-block
static void unpack_block(uint32_t wtype, const uint8_t *blk, int8_t *q, float *sc, float *mn) {
    switch (wtype) {
    case SS_TYPE_Q8_0: {
        const ss_block_q8_0 *x = (const ss_block_q8_0 *)blk;
        for (int k = 0; k < 32; k++) q[k] = x->qs[k];
        sc[0] = H2F(x->d);
        break;
    }
    case SS_TYPE_Q4_0: {
        const ss_block_q4_0 *x = (const ss_block_q4_0 *)blk;
        for (int k = 0; k < 16; k++) { q[k] = (int8_t)((x->qs[k] & 0xF) - 8); q[k + 16] = (int8_t)((x->qs[k] >> 4) - 8); }
        sc[0] = H2F(x->d);
        break;
    }
    case SS_TYPE_Q5_0: {
        const ss_block_q5_0 *x = (const ss_block_q5_0 *)blk;
        const uint32_t qh = (uint32_t)x->qh[0] | (uint32_t)x->qh[1] << 8 | (uint32_t)x->qh[2] << 16 | (uint32_t)x->qh[3] << 24;
        for (int k = 0; k < 16; k++) {
            q[k]      = (int8_t)(((x->qs[k] & 0xF) | ((qh >> k) & 1) << 4) - 16);
            q[k + 16] = (int8_t)(((x->qs[k] >> 4) | ((qh >> (k + 16)) & 1) << 4) - 16);
        }
        sc[0] = H2F(x->d);
        break;
    }
    case SS_TYPE_Q4_K: case SS_TYPE_Q5_K: {   // 4 groups of 64: low nibbles = sub-block 2g, high = 2g+1
        const bool q5 = wtype == SS_TYPE_Q5_K;
        const ss_block_q4_K *x4 = (const ss_block_q4_K *)blk;
        const ss_block_q5_K *x5 = (const ss_block_q5_K *)blk;
        const uint16_t dh = q5 ? x5->d : x4->d, mh = q5 ? x5->dmin : x4->dmin;
        const uint8_t *scales = q5 ? x5->scales : x4->scales, *ql = q5 ? x5->qs : x4->qs, *qh = q5 ? x5->qh : NULL;
        const float d = H2F(dh), dmin = H2F(mh);
        for (int b = 0; b < 8; b++) {
            uint8_t s, m;
            ss_get_scale_min_k4(b, scales, &s, &m);
            sc[b] = d * s;
            mn[b] = -(dmin * m);
            const int g = b / 2, hi = b % 2;
            for (int l = 0; l < 32; l++) {
                int v = hi ? ql[32 * g + l] >> 4 : ql[32 * g + l] & 0xF;
                if (q5 && (qh[l] >> b) & 1) v += 16;
                q[32 * b + l] = (int8_t)v;
            }
        }
        break;
    }
    case SS_TYPE_Q6_K: {   // halves of 128; in a half, l < 32 gives values l, l+32, l+64, l+96
        const ss_block_q6_K *x = (const ss_block_q6_K *)blk;
        const float d = H2F(x->d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                q[128 * h + l]      = (int8_t)(((ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4) - 32);
                q[128 * h + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
                q[128 * h + l + 64] = (int8_t)(((ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4) - 32);
                q[128 * h + l + 96] = (int8_t)(((ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        for (int b = 0; b < 16; b++) sc[b] = d * x->scales[b];
        break;
    }
    default: break;
    }
}

void ss_ipanel_unpack_ref(uint32_t wtype, const void *row, int64_t k0, int64_t kc, int8_t *q, float *sc, float *mn) {
    const ss_type_info_t *ti = ss_type_info(wtype);
    const int S = ss_ipanel_sub(wtype), spb = ti->blck / S;   // sub-blocks per block
    const uint8_t *blk = (const uint8_t *)row + (size_t)(k0 / ti->blck) * ti->type_size;
    float mn_blk[16];
    for (int64_t k = 0; k < kc; k += ti->blck, blk += ti->type_size) {
        const int64_t b = k / S;
        unpack_block(wtype, blk, q + k, sc + b, mn_blk);
        for (int s = 0; s < spb; s++) mn[b + s] = ss_ipanel_has_min(wtype) ? mn_blk[s] : 0.0f;
    }
}

// activation row (vec-dot blocks) -> qx[K], dx[K/32]
static void act_int(uint32_t vt, const uint8_t *xq, int64_t K, int8_t *qx, float *dx) {
    for (int64_t b = 0; b < K / 32; b++) {
        if (vt == SS_TYPE_Q8_0) {
            const ss_block_q8_0 *x = (const ss_block_q8_0 *)xq + b;
            for (int k = 0; k < 32; k++) qx[32 * b + k] = x->qs[k];
            dx[b] = H2F(x->d);
        } else {
            const ss_block_q8_K *x = (const ss_block_q8_K *)xq + b / 8;
            for (int k = 0; k < 32; k++) qx[32 * b + k] = x->qs[32 * (b % 8) + k];
            dx[b] = x->d;
        }
    }
}

void ss_gemm_ipanel_ref(uint32_t wtype, int64_t K, const void *w, size_t ws, int64_t m,
                        const void *xq, size_t xqs, int64_t n, float *out, int64_t ldo) {
    const int S = ss_ipanel_sub(wtype);
    const uint32_t vt = ss_vec_dot_type(wtype);
    const bool has_min = ss_ipanel_has_min(wtype);
    int8_t *q = malloc((size_t)K), *qx = malloc((size_t)K);
    float *sc = malloc(sizeof(float) * (size_t)(K / S)), *mn = malloc(sizeof(float) * (size_t)(K / S)), *dx = malloc(sizeof(float) * (size_t)(K / 32));
    if (q && qx && sc && mn && dx)
        for (int64_t i = 0; i < m; i++) {
            ss_ipanel_unpack_ref(wtype, (const uint8_t *)w + (size_t)i * ws, 0, K, q, sc, mn);
            for (int64_t j = 0; j < n; j++) {
                act_int(vt, (const uint8_t *)xq + (size_t)j * xqs, K, qx, dx);
                float s = 0.0f;
                for (int64_t b = 0; b < K / S; b++) {
                    int32_t isum = 0, xsum = 0;
                    for (int64_t k = b * S; k < (b + 1) * S; k++) { isum += q[k] * qx[k]; xsum += qx[k]; }
                    const float d = dx[b * S / 32];
                    s = fmaf((float)isum, sc[b] * d, s);
                    if (has_min) s = fmaf((float)xsum, mn[b] * d, s);
                }
                out[j * ldo + i] = s;
            }
        }
    free(q); free(qx); free(sc); free(mn); free(dx);
}
