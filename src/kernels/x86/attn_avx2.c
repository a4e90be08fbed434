// attn_avx2.c — attention on the KV cache one key block at a time (AVX2 + FMA + F16C), and the F16
// conversions of the forward pass (round-to-nearest-even, identical to ss_fp32_to_fp16).
#include "attn_x86.h"
#include <string.h>

// y[0..hd) = a K/V row of `type` (F32, F16, Q8_0) in F32
static inline void row_f32(const void *row, uint32_t type, float *y, int hd) {
    if (type == SS_TYPE_F16)
        for (int i = 0; i < hd; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i))));
    else if (type == SS_TYPE_F32) memcpy(y, row, sizeof(float) * hd);
    else ss_dequant_row_avx2(type, row, y, hd);
}

// d[0..8) = q · kb[k*hd ..] for 8 key rows, each summed as hsum256(Σ_i fma(q[i:i+8], k[i:i+8])) sums
// it (8 lane chains in i order, then ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))), the 8 sums reduced
// side by side
static inline __m256 dots8(const float *q, const float *kb, int hd) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int i = 0; i < hd; i += 8) {
        const __m256 x = _mm256_loadu_ps(q + i);
        const float *k = kb + i;
        a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k), a0);          a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + hd), a1);
        a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 2 * hd), a2); a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 3 * hd), a3);
        a4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 4 * hd), a4); a5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 5 * hd), a5);
        a6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 6 * hd), a6); a7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k + 7 * hd), a7);
    }
    return sums8(a0, a1, a2, a3, a4, a5, a6, a7);
}

// pass 2 of one row: o[hd] += Σ_{t<nk} f16?(exp(s_t - m)·inv) · VB[t][·] (VB rows hd apart), one
// FMA chain per element in t order
static inline void row_pass2(const __m256 d[4], int nk, float scale, float m, float inv, bool f16, float *o, const float *VB, int hd) {
    float p[SS_ATTN_BLOCK];
    row_weights(d, nk, scale, m, inv, f16, p);
    // 64 output elements at a time: 8 independent FMA chains cover the FMA latency (with 4, the loop
    // ran at one FMA per cycle); each element is still one chain in t order
    int i = 0;
    for (; i + 64 <= hd; i += 64) {
        __m256 o0 = _mm256_loadu_ps(o + i), o1 = _mm256_loadu_ps(o + i + 8), o2 = _mm256_loadu_ps(o + i + 16), o3 = _mm256_loadu_ps(o + i + 24);
        __m256 o4 = _mm256_loadu_ps(o + i + 32), o5 = _mm256_loadu_ps(o + i + 40), o6 = _mm256_loadu_ps(o + i + 48), o7 = _mm256_loadu_ps(o + i + 56);
        for (int t = 0; t < nk; t++) {
            const __m256 pt = _mm256_broadcast_ss(p + t);
            const float *vr = VB + (size_t)t * hd + i;
            o0 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr), o0); o1 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 8), o1);
            o2 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 16), o2); o3 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 24), o3);
            o4 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 32), o4); o5 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 40), o5);
            o6 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 48), o6); o7 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 56), o7);
        }
        _mm256_storeu_ps(o + i, o0); _mm256_storeu_ps(o + i + 8, o1); _mm256_storeu_ps(o + i + 16, o2); _mm256_storeu_ps(o + i + 24, o3);
        _mm256_storeu_ps(o + i + 32, o4); _mm256_storeu_ps(o + i + 40, o5); _mm256_storeu_ps(o + i + 48, o6); _mm256_storeu_ps(o + i + 56, o7);
    }
    for (; i + 32 <= hd; i += 32) {
        __m256 o0 = _mm256_loadu_ps(o + i), o1 = _mm256_loadu_ps(o + i + 8), o2 = _mm256_loadu_ps(o + i + 16), o3 = _mm256_loadu_ps(o + i + 24);
        for (int t = 0; t < nk; t++) {
            const __m256 pt = _mm256_broadcast_ss(p + t);
            const float *vr = VB + (size_t)t * hd + i;
            o0 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr), o0); o1 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 8), o1);
            o2 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 16), o2); o3 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 24), o3);
        }
        _mm256_storeu_ps(o + i, o0); _mm256_storeu_ps(o + i + 8, o1); _mm256_storeu_ps(o + i + 16, o2); _mm256_storeu_ps(o + i + 24, o3);
    }
    for (; i < hd; i += 8) {
        __m256 o0 = _mm256_loadu_ps(o + i);
        for (int t = 0; t < nk; t++) o0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + t), _mm256_loadu_ps(VB + (size_t)t * hd + i), o0);
        _mm256_storeu_ps(o + i, o0);
    }
}

// ---- F16 K and V read in place: the G heads of a row in tiles of up to GT heads, each K/V chunk
// loaded and converted (exact) once per tile instead of into a buffer; every sum keeps the order of
// dots8 / row_pass2, so the bits are those of the F32-buffer path

enum { GT = 2 };   // heads per register tile: 2 heads × 4 keys (or 4 × 8 outputs) = 8 accumulators (3
                   // heads spilled registers and ran slower)

// 8 F16 values at h as f32 (exact)
static inline __m256 load_h8(const uint16_t *h) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h)); }

// d[g][c] = the 8 scores q_g · k_{8c+j} (j < 8) of heads g < gh (q_g = q + g·hd) against the block's
// 32 F16 K rows (ks bytes apart), 4 keys at a time; per (g, t) 8 lane chains in i order, then sums8
static inline __attribute__((always_inline)) void dots_f16(const float *q, int gh, int hd, const char *k, size_t ks, __m256 d[GT][4]) {
    for (int c = 0; c < 4; c++) {
        __m256 A[GT][8];
        for (int h = 0; h < 8; h += 4) {
            const uint16_t *k0 = (const uint16_t *)(k + (size_t)(8 * c + h) * ks), *k1 = (const uint16_t *)((const char *)k0 + ks);
            const uint16_t *k2 = (const uint16_t *)((const char *)k1 + ks), *k3 = (const uint16_t *)((const char *)k2 + ks);
            __m256 a[GT][4];
#pragma GCC unroll 2
            for (int g = 0; g < gh; g++) a[g][0] = a[g][1] = a[g][2] = a[g][3] = _mm256_setzero_ps();
            for (int i = 0; i < hd; i += 8) {
                const __m256 x0 = load_h8(k0 + i), x1 = load_h8(k1 + i), x2 = load_h8(k2 + i), x3 = load_h8(k3 + i);
#pragma GCC unroll 2
                for (int g = 0; g < gh; g++) {
                    const __m256 qg = _mm256_loadu_ps(q + (size_t)g * hd + i);
                    a[g][0] = _mm256_fmadd_ps(qg, x0, a[g][0]); a[g][1] = _mm256_fmadd_ps(qg, x1, a[g][1]);
                    a[g][2] = _mm256_fmadd_ps(qg, x2, a[g][2]); a[g][3] = _mm256_fmadd_ps(qg, x3, a[g][3]);
                }
            }
#pragma GCC unroll 2
            for (int g = 0; g < gh; g++) for (int j = 0; j < 4; j++) A[g][h + j] = a[g][j];
        }
#pragma GCC unroll 2
        for (int g = 0; g < gh; g++) d[g][c] = sums8(A[g][0], A[g][1], A[g][2], A[g][3], A[g][4], A[g][5], A[g][6], A[g][7]);
    }
}

// o_g[hd] += Σ_{t<nk} p_g[t] · v_t for heads g < gh (p_g = p + g·SS_ATTN_BLOCK, o_g = o + g·hd), V rows
// F16 (vs bytes apart) converted once per tile; one FMA chain per element in t order (as row_pass2)
static inline __attribute__((always_inline)) void acc_f16(const float *p, int gh, int nk, const char *v, size_t vs, float *o, int hd) {
    int i = 0;
    for (; i + 32 <= hd; i += 32) {
        __m256 a[GT][4];
#pragma GCC unroll 2
        for (int g = 0; g < gh; g++) for (int j = 0; j < 4; j++) a[g][j] = _mm256_loadu_ps(o + (size_t)g * hd + i + 8 * j);
        for (int t = 0; t < nk; t++) {
            const uint16_t *vr = (const uint16_t *)(v + (size_t)t * vs) + i;
            const __m256 x0 = load_h8(vr), x1 = load_h8(vr + 8), x2 = load_h8(vr + 16), x3 = load_h8(vr + 24);
#pragma GCC unroll 2
            for (int g = 0; g < gh; g++) {
                const __m256 pt = _mm256_broadcast_ss(p + g * SS_ATTN_BLOCK + t);
                a[g][0] = _mm256_fmadd_ps(pt, x0, a[g][0]); a[g][1] = _mm256_fmadd_ps(pt, x1, a[g][1]);
                a[g][2] = _mm256_fmadd_ps(pt, x2, a[g][2]); a[g][3] = _mm256_fmadd_ps(pt, x3, a[g][3]);
            }
        }
#pragma GCC unroll 2
        for (int g = 0; g < gh; g++) for (int j = 0; j < 4; j++) _mm256_storeu_ps(o + (size_t)g * hd + i + 8 * j, a[g][j]);
    }
    for (; i < hd; i += 8) {
        __m256 a[GT];
#pragma GCC unroll 2
        for (int g = 0; g < gh; g++) a[g] = _mm256_loadu_ps(o + (size_t)g * hd + i);
        for (int t = 0; t < nk; t++) {
            const __m256 x0 = load_h8((const uint16_t *)(v + (size_t)t * vs) + i);
#pragma GCC unroll 2
            for (int g = 0; g < gh; g++) a[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + g * SS_ATTN_BLOCK + t), x0, a[g]);
        }
#pragma GCC unroll 2
        for (int g = 0; g < gh; g++) _mm256_storeu_ps(o + (size_t)g * hd + i, a[g]);
    }
}

// ss_attn_block_avx2 with F16 K and V: per row, heads g0 .. g0+gh-1 (gh ≤ GT) share each K/V chunk
static void attn_block_f16(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const char *k, const char *v,
                           size_t k_stride, size_t v_stride, int pass) {
    for (int e = 0; e < ne; e++) {
        const ss_attn_rows *x = &rows[e];
        for (int g0 = 0; g0 < G; g0 += GT) {
            const int gh = G - g0 < GT ? G - g0 : GT;
            const float *q = x->q + (size_t)g0 * hd;
            float *sc = x->sc ? x->sc + g0 * SS_ATTN_BLOCK : NULL;
            __m256 d[GT][4];
            if (sc && pass == 2)
                for (int g = 0; g < gh; g++) for (int c = 0; c < 4; c++) d[g][c] = _mm256_loadu_ps(sc + g * SS_ATTN_BLOCK + 8 * c);
            else if (gh == 2) dots_f16(q, 2, hd, k, k_stride, d);
            else dots_f16(q, 1, hd, k, k_stride, d);
            if (sc && pass == 1)
                for (int g = 0; g < gh; g++) for (int c = 0; c < 4; c++) _mm256_storeu_ps(sc + g * SS_ATTN_BLOCK + 8 * c, d[g][c]);
            if (pass == 1) {
                for (int g = 0; g < gh; g++) row_pass1(d[g], x->nk, scale, x->m + g0 + g, x->l + g0 + g);
                continue;
            }
            float p[GT * SS_ATTN_BLOCK];
            for (int g = 0; g < gh; g++) row_weights(d[g], x->nk, scale, x->m[g0 + g], x->l[g0 + g], true, p + g * SS_ATTN_BLOCK);
            float *o = x->o + (size_t)g0 * hd;
            if (gh == 2) acc_f16(p, 2, x->nk, v, v_stride, o, hd);
            else acc_f16(p, 1, x->nk, v, v_stride, o, hd);
        }
    }
}

// ss_attn_block_ref with hd a multiple of 8: F16 K and V are read in place (attn_block_f16); other
// types: the block is converted to F32 once for all rows (K rows
// of all 32 keys unless pass 2 has every row's scores; in pass 2 V rows of the keys any row sees);
// per row, 32 scores in 4 × dots8
void ss_attn_block_avx2(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                        size_t k_stride, size_t v_stride, uint32_t type_k, uint32_t type_v, int pass, float *buf) {
    if (type_k == SS_TYPE_F16 && type_v == SS_TYPE_F16) {
        attn_block_f16(rows, ne, G, hd, scale, k, v, k_stride, v_stride, pass);
        return;
    }
    float *KB = buf, *VB = buf + (size_t)SS_ATTN_BLOCK * hd;
    // all 32 K rows (scores past a row's nk are computed, then masked out, never used), unless every
    // row has its scores from pass 1
    bool need_k = pass == 1;
    for (int e = 0; e < ne; e++) need_k |= !rows[e].sc;
    if (need_k)
        for (int t = 0; t < SS_ATTN_BLOCK; t++) row_f32((const char *)k + t * k_stride, type_k, KB + (size_t)t * hd, hd);
    if (pass == 2) {
        int nkmax = 0;
        for (int e = 0; e < ne; e++) if (rows[e].nk > nkmax) nkmax = rows[e].nk;
        for (int t = 0; t < nkmax; t++) row_f32((const char *)v + t * v_stride, type_v, VB + (size_t)t * hd, hd);
    }
    for (int e = 0; e < ne; e++)
        for (int g = 0; g < G; g++) {
            const ss_attn_rows *x = &rows[e];
            const float *q = x->q + (size_t)g * hd;
            float *sc = x->sc ? x->sc + g * SS_ATTN_BLOCK : NULL;
            __m256 d[4];
            for (int c = 0; c < 4; c++) {
                if (sc && pass == 2) d[c] = _mm256_loadu_ps(sc + 8 * c);
                else d[c] = dots8(q, KB + (size_t)8 * c * hd, hd);
                if (sc && pass == 1) _mm256_storeu_ps(sc + 8 * c, d[c]);
            }
            if (pass == 1) row_pass1(d, x->nk, scale, x->m + g, x->l + g);
            else row_pass2(d, x->nk, scale, x->m[g], x->l[g], type_v == SS_TYPE_F16, x->o + (size_t)g * hd, VB, hd);
        }
}

// ---- F16 conversions (round to nearest even; NaN stays NaN)

// y[i] = f16(x[i])
void ss_f32_to_f16_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = (uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

// y[i] = f32(f16(x[i])) (x == y allowed)
void ss_round_f16_avx2(const float *x, float *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = _cvtsh_ss((uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}
