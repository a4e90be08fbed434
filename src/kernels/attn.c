// attn.c — scalar references of the attention kernels (ss_attn.h).
#include "ss_attn.h"
#include "ss_quant.h"
#include <math.h>

// element i of a K/V row of `type`
static inline float kv_at(const void *row, uint32_t type, int i) {
    if (type == SS_TYPE_F16) return ss_fp16_to_fp32(((const uint16_t *)row)[i]);
    if (type == SS_TYPE_Q8_0) {
        const ss_block_q8_0 *b = (const ss_block_q8_0 *)row + i / 32;
        return ss_fp16_to_fp32(b->d) * b->qs[i % 32];
    }
    return ((const float *)row)[i];
}

void ss_attn_block_ref(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                       size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf) {
    (void)buf;
    for (int e = 0; e < ne; e++) {
        const int nk = rows[e].nk;
        for (int g = 0; g < G; g++) {
            const float *q = rows[e].q + (size_t)g * hd;
            float s[SS_ATTN_BLOCK], mb = -INFINITY, *sc = rows[e].sc ? rows[e].sc + g * SS_ATTN_BLOCK : NULL;
            for (int t = 0; t < nk; t++) {         // s_t = (q · k_t) · scale
                float d = 0;
                if (sc && pass == 2) d = sc[t];
                else for (int i = 0; i < hd; i++) d += q[i] * kv_at((const char *)k + t * k_stride, type_k, i);
                if (sc) sc[t] = d;
                s[t] = d * scale;
                if (s[t] > mb) mb = s[t];
            }
            float *m = rows[e].m + g, *l = rows[e].l + g;
            if (pass == 1) {
                const float m1 = *m > mb ? *m : mb;
                float sum = 0;
                for (int t = 0; t < nk; t++) sum += expf(s[t] - m1);
                *l = *l * expf(*m - m1) + sum;     // exp(-inf) = 0 on the first block
                *m = m1;
                continue;
            }
            for (int t = 0; t < nk; t++) s[t] = expf(s[t] - *m) * *l;
            if (type_v == SS_TYPE_F16) ss_round_f16_ref(s, s, nk);
            float *o = rows[e].o + (size_t)g * hd;
            for (int i = 0; i < hd; i++) {
                float acc = o[i];
                for (int t = 0; t < nk; t++) acc += s[t] * kv_at((const char *)v + t * v_stride, type_v, i);
                o[i] = acc;
            }
        }
    }
}

void ss_f32_to_f16_ref(const float *x, uint16_t *y, int n) {
    for (int i = 0; i < n; i++) y[i] = ss_fp32_to_fp16(x[i]);
}

void ss_round_f16_ref(const float *x, float *y, int n) {
    for (int i = 0; i < n; i++) y[i] = ss_fp16_to_fp32(ss_fp32_to_fp16(x[i]));
}
