// attn_avx512.c — attention over one key block with F16 K and V read in place, on 512-bit registers
// (decoding at depth spends its attention time here). Compiled with -mavx512f -mavx512bw -mavx512dq
// -mavx512vl -mf16c -mfma; reached through the dispatch (dispatch.c, when ss_cpu_has_avx512()).
//
// The same bits as attn_avx2.c's F16 kernel, whose operations it repeats in the same order:
//   scores   s_gt = sums8 of the 8 lane chains c_l = Σ_i fma(q_g[i+l], k_t[i+l], c_l), i = 0, 8, ..
//   softmax  row_pass1 / row_weights of attn_x86.h (shared with attn_avx2.c)
//   output   o_g[i] = fma(p_gt, v_t[i], o_g[i]) for t = 0, 1, .. (one chain per element)
// Scores: a 512-bit register holds the chains of two heads (g, g+1 in lanes 0-7, 8-15) for one key,
// the key's 8 values converted once and broadcast to both halves; a tile is up to 4 head pairs × 4
// keys (16 accumulators), so each K chunk is converted once for up to 8 heads (AVX2: once per 2).
// Output: 32 elements (2 registers) × up to 8 heads, each V chunk converted once for all of them,
// the weight broadcast from memory into the FMA.
#include "attn_x86.h"
#include "ss_avx512.h"
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))
enum { GMAX = 8,   // heads per call of the tiles (more: groups of 8)
       KT = 4 };   // keys per score tile

// qq[p][i/8][16] = [q_{2p}[i..i+8) | q_{2p+1}[i..i+8)] for the gh heads of q (rows hd apart); a
// missing head 2p+1 (gh odd) is 0
static void pack_pairs(const float *q, int gh, int hd, float *qq) {
    for (int p = 0; p < (gh + 1) / 2; p++)
        for (int i = 0; i < hd; i += 8) {
            float *d = qq + ((size_t)p * hd + i) * 2;
            memcpy(d, q + (size_t)2 * p * hd + i, 8 * sizeof(float));
            if (2 * p + 1 < gh) memcpy(d + 8, q + (size_t)(2 * p + 1) * hd + i, 8 * sizeof(float));
            else memset(d + 8, 0, 8 * sizeof(float));
        }
}

// ch[p·32 + t] = the chains of heads 2p (lanes 0-7) and 2p+1 (8-15) against key t, for the block's 32
// F16 K rows (ks bytes apart) and np head pairs
static ALWAYS_INLINE void chains_f16(const float *qq, const int np, int hd, const char *k, size_t ks, __m512 *ch) {
    for (int t0 = 0; t0 < SS_ATTN_BLOCK; t0 += KT) {
        __m512 a[GMAX / 2][KT];
        const uint16_t *kr[KT];
        #pragma GCC unroll 8
        for (int j = 0; j < KT; j++) kr[j] = (const uint16_t *)(k + (size_t)(t0 + j) * ks);
        #pragma GCC unroll 8
        for (int p = 0; p < np; p++)
            #pragma GCC unroll 8
            for (int j = 0; j < KT; j++) a[p][j] = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += 8) {
            __m512 x[KT];
            #pragma GCC unroll 8
            for (int j = 0; j < KT; j++) x[j] = _mm512_cvtph_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(kr[j] + i))));
            #pragma GCC unroll 8
            for (int p = 0; p < np; p++) {
                const __m512 qp = _mm512_loadu_ps(qq + ((size_t)p * hd + i) * 2);
                #pragma GCC unroll 8
                for (int j = 0; j < KT; j++) a[p][j] = _mm512_fmadd_ps(qp, x[j], a[p][j]);
            }
        }
        #pragma GCC unroll 8
        for (int p = 0; p < np; p++)
            #pragma GCC unroll 8
            for (int j = 0; j < KT; j++) ch[p * SS_ATTN_BLOCK + t0 + j] = a[p][j];
    }
}

// o_g[hd] += Σ_{t<nk} p_g[t] · v_t for heads g < gh (p_g = p + g·SS_ATTN_BLOCK, o_g = o + g·hd), V rows
// F16 (vs bytes apart), hd a multiple of 32
static ALWAYS_INLINE void acc_f16(const float *p, const int gh, int nk, const char *v, size_t vs, float *o, int hd) {
    for (int i = 0; i < hd; i += 32) {
        __m512 a[GMAX][2];
        #pragma GCC unroll 8
        for (int g = 0; g < gh; g++) {
            a[g][0] = _mm512_loadu_ps(o + (size_t)g * hd + i);
            a[g][1] = _mm512_loadu_ps(o + (size_t)g * hd + i + 16);
        }
        for (int t = 0; t < nk; t++) {
            const uint16_t *vr = (const uint16_t *)(v + (size_t)t * vs) + i;
            const __m512 x0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)vr));
            const __m512 x1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vr + 16)));
            #pragma GCC unroll 8
            for (int g = 0; g < gh; g++) {
                const __m512 pt = _mm512_set1_ps(p[g * SS_ATTN_BLOCK + t]);
                a[g][0] = _mm512_fmadd_ps(pt, x0, a[g][0]);
                a[g][1] = _mm512_fmadd_ps(pt, x1, a[g][1]);
            }
        }
        #pragma GCC unroll 8
        for (int g = 0; g < gh; g++) {
            _mm512_storeu_ps(o + (size_t)g * hd + i, a[g][0]);
            _mm512_storeu_ps(o + (size_t)g * hd + i + 16, a[g][1]);
        }
    }
}

// the tiles with the head count a constant (registers, unrolled loops)
static void chains_np(int np, const float *qq, int hd, const char *k, size_t ks, __m512 *ch) {
    switch (np) {
    case 1: chains_f16(qq, 1, hd, k, ks, ch); break;
    case 2: chains_f16(qq, 2, hd, k, ks, ch); break;
    case 3: chains_f16(qq, 3, hd, k, ks, ch); break;
    default: chains_f16(qq, 4, hd, k, ks, ch); break;
    }
}
static void acc_gh(int gh, const float *p, int nk, const char *v, size_t vs, float *o, int hd) {
    switch (gh) {
    case 1: acc_f16(p, 1, nk, v, vs, o, hd); break;
    case 2: acc_f16(p, 2, nk, v, vs, o, hd); break;
    case 3: acc_f16(p, 3, nk, v, vs, o, hd); break;
    case 4: acc_f16(p, 4, nk, v, vs, o, hd); break;
    case 5: acc_f16(p, 5, nk, v, vs, o, hd); break;
    case 6: acc_f16(p, 6, nk, v, vs, o, hd); break;
    case 7: acc_f16(p, 7, nk, v, vs, o, hd); break;
    default: acc_f16(p, 8, nk, v, vs, o, hd); break;
    }
}

bool ss_attn_block_f16_avx512(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                              size_t k_stride, size_t v_stride, int pass, float *buf) {
    if (hd % 32) return false;
    float *qq = buf;   // packed head pairs: 8·hd floats of the 2·SS_ATTN_BLOCK·hd
    for (int e = 0; e < ne; e++) {
        const ss_attn_rows *x = &rows[e];
        for (int g0 = 0; g0 < G; g0 += GMAX) {
            const int gh = G - g0 < GMAX ? G - g0 : GMAX;
            float *sc = x->sc ? x->sc + g0 * SS_ATTN_BLOCK : NULL;
            __m256 d[GMAX][4];
            if (sc && pass == 2)
                for (int g = 0; g < gh; g++) for (int c = 0; c < 4; c++) d[g][c] = _mm256_loadu_ps(sc + g * SS_ATTN_BLOCK + 8 * c);
            else {
                _Alignas(64) __m512 ch[GMAX / 2 * SS_ATTN_BLOCK];
                pack_pairs(x->q + (size_t)g0 * hd, gh, hd, qq);
                chains_np((gh + 1) / 2, qq, hd, (const char *)k, k_stride, ch);
                // head g's chains are the half g % 2 of its pair's registers
                for (int g = 0; g < gh; g++) {
                    const float *cg = (const float *)&ch[(g / 2) * SS_ATTN_BLOCK] + 8 * (g % 2);
                    for (int c = 0; c < 4; c++) {
                        const float *c8 = cg + 16 * 8 * c;
                        d[g][c] = sums8(_mm256_load_ps(c8), _mm256_load_ps(c8 + 16), _mm256_load_ps(c8 + 32), _mm256_load_ps(c8 + 48),
                                        _mm256_load_ps(c8 + 64), _mm256_load_ps(c8 + 80), _mm256_load_ps(c8 + 96), _mm256_load_ps(c8 + 112));
                    }
                }
                if (sc && pass == 1)
                    for (int g = 0; g < gh; g++) for (int c = 0; c < 4; c++) _mm256_storeu_ps(sc + g * SS_ATTN_BLOCK + 8 * c, d[g][c]);
            }
            if (pass == 1) {
                for (int g = 0; g < gh; g++) row_pass1(d[g], x->nk, scale, x->m + g0 + g, x->l + g0 + g);
                continue;
            }
            _Alignas(64) float p[GMAX * SS_ATTN_BLOCK];
            for (int g = 0; g < gh; g++) row_weights(d[g], x->nk, scale, x->m[g0 + g], x->l[g0 + g], true, p + g * SS_ATTN_BLOCK);
            acc_gh(gh, p, x->nk, (const char *)v, v_stride, x->o + (size_t)g0 * hd, hd);
        }
    }
    return true;
}
