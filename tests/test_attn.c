// test_attn.c — the attention block kernels (both tables) against float64 attention on paged K/V of
// several lengths (1..9 blocks), head dims and group sizes; rows sharing a tile against rows alone
// (bit for bit); AVX2 against the scalar reference; the F16 conversions of the forward pass (both
// kernel tables) against ss_fp32_to_fp16. Builds without the AVX2 leaves (NO_AVX2=1, not x86) skip
// the AVX2 comparison.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include "ss_kernels.h"
#include "ss_attn.h"
#include "ss_quant.h"
#ifdef SS_HAVE_AVX2
#include "x86/ss_avx2.h"
#include "x86/ss_avx512.h"
#endif

static float frand(void) { return (float)((double)rand() / RAND_MAX * 2 - 1); }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

// A paged K/V of T keys for one head as the cache holds it: block j = K and V rows [32] of vs values
// (vs > hd: the other heads' columns) of type `type` (F32, F16, Q8_0); values in [-a, a]
typedef struct { int T, hd, vs, nb; uint32_t type; size_t rb; char *kt, *v; float *kf, *vf; } kvpages;

static kvpages kv_make(int T, int hd, uint32_t type, float a) {
    kvpages p = { T, hd, hd + 32, (T + SS_ATTN_BLOCK - 1) / SS_ATTN_BLOCK, type, 0, NULL, NULL, NULL, NULL };
    p.rb = type == SS_TYPE_F32 ? 4 * (size_t)p.vs : type == SS_TYPE_F16 ? 2 * (size_t)p.vs : (size_t)p.vs / 32 * sizeof(ss_block_q8_0);
    const size_t rows = (size_t)p.nb * SS_ATTN_BLOCK;
    p.kt = malloc(rows * p.rb); p.v = malloc(rows * p.rb);
    p.kf = malloc(sizeof(float) * rows * p.vs); p.vf = malloc(sizeof(float) * rows * p.vs);   // the stored values
    float *x = malloc(sizeof(float) * p.vs);
    for (int w = 0; w < 2; w++)
        for (size_t r = 0; r < rows; r++) {
            char *dst = (w ? p.v : p.kt) + r * p.rb;
            for (int i = 0; i < p.vs; i++) x[i] = a * frand();
            if (type == SS_TYPE_F32) memcpy(dst, x, sizeof(float) * p.vs);
            else if (type == SS_TYPE_F16) ss_f32_to_f16_ref(x, (uint16_t *)dst, p.vs);
            else ss_quant_act_ref(SS_TYPE_Q8_0, x, dst, p.vs);
            ss_dequant_row(type, dst, (w ? p.vf : p.kf) + r * p.vs, p.vs);
        }
    free(x);
    return p;
}
static void kv_free(kvpages *p) { free(p->kt); free(p->v); free(p->kf); free(p->vf); }
static double kv_k(const kvpages *p, int i, int t) { return p->kf[(size_t)t * p->vs + i]; }   // K[t][i]
static double kv_v(const kvpages *p, int t, int i) { return p->vf[(size_t)t * p->vs + i]; }   // V[t][i]
static const void *kv_kt(const kvpages *p, int j) { return p->kt + (size_t)j * SS_ATTN_BLOCK * p->rb; }
static const void *kv_vb(const kvpages *p, int j) { return p->v + (size_t)j * SS_ATTN_BLOCK * p->rb; }

// attention of query entries (G heads each) seeing keys [0, len_e) of the pages: the two passes
// block after block, every entry of a block in one tile, with pass 1's scores kept for pass 2 if
// `cache`; out[e][g][hd]
static void attend(const ss_kernels *K, const kvpages *p, int ne, int G, const float *q, const int *len, float *out, bool cache) {
    const int hd = p->hd;
    float *m = malloc(sizeof(float) * ne * G), *l = malloc(sizeof(float) * ne * G), *buf = malloc(sizeof(float) * 2 * SS_ATTN_BLOCK * hd);
    float *sc = malloc(sizeof(float) * ne * p->nb * G * SS_ATTN_BLOCK);
    ss_attn_rows rows[16];
    for (int e = 0; e < ne * G; e++) { m[e] = -INFINITY; l[e] = 0; }
    memset(out, 0, sizeof(float) * ne * G * hd);
    for (int pass = 1; pass <= 2; pass++)
    for (int j = 0; j < p->nb; j++) {
        if (pass == 2 && j == 0) for (int e = 0; e < ne * G; e++) l[e] = 1 / l[e];
        int nt = 0;
        for (int e = 0; e < ne; e++) {
            if (len[e] <= j * SS_ATTN_BLOCK) continue;
            const int nk = len[e] - j * SS_ATTN_BLOCK;
            rows[nt++] = (ss_attn_rows){ q + (size_t)e * G * hd, out + (size_t)e * G * hd, m + e * G, l + e * G, nk < SS_ATTN_BLOCK ? nk : SS_ATTN_BLOCK,
                                         cache ? sc + ((size_t)e * p->nb + j) * G * SS_ATTN_BLOCK : NULL };
        }
        if (nt) K->attn_block(rows, nt, G, hd, 1.0f / sqrtf((float)hd), kv_kt(p, j), kv_vb(p, j), p->rb, p->rb, p->type, p->type, pass, buf);
    }
    free(m); free(l); free(buf); free(sc);
}

#ifdef SS_HAVE_AVX2
// attend() on one kernel function instead of a table: the AVX2 kernel, or the AVX-512 F16 one
typedef void (*block_fn)(const ss_attn_rows *, int, int, int, float, const void *, const void *, size_t, size_t, uint32_t, uint32_t, int, float *);
static void block_avx512(const ss_attn_rows *rows, int ne, int G, int hd, float scale, const void *k, const void *v,
                         size_t ks, size_t vs, uint32_t tk, uint32_t tv, int pass, float *buf) {
    assert_true(ss_attn_block_f16_avx512(rows, ne, G, hd, scale, k, v, ks, vs, pass, buf));
}
static void attend_fn(block_fn f, const kvpages *p, int ne, int G, const float *q, const int *len, float *out, bool cache) {
    ss_kernels K = *ss_kernels_get(false);
    K.attn_block = f;
    attend(&K, p, ne, G, q, len, out, cache);
}
#endif

// softmax(q·K^T/sqrt(hd)) V over keys [0, len) in float64
static void attend_f64(const kvpages *p, const float *q, int len, double *out) {
    const int hd = p->hd;
    double *s = malloc(sizeof(double) * len), mx = -INFINITY, sum = 0;
    for (int t = 0; t < len; t++) {
        double d = 0;
        for (int i = 0; i < hd; i++) d += (double)q[i] * kv_k(p, i, t);
        s[t] = d / sqrt((double)hd);
        if (s[t] > mx) mx = s[t];
    }
    for (int t = 0; t < len; t++) { s[t] = exp(s[t] - mx); sum += s[t]; }
    for (int i = 0; i < hd; i++) {
        double o = 0;
        for (int t = 0; t < len; t++) o += s[t] * kv_v(p, t, i);
        out[i] = o / sum;
    }
    free(s);
}

// both tables against float64 attention on the stored (dequantized) K/V values, sequence lengths
// across 1..9 blocks and head dims with and without a 32-wide tail: within float rounding (F32 and
// Q8_0 K/V) or the F16 rounding of the softmax weights (F16: ≤ 2^-11 relative per weight, so
// ≤ 2^-11 · max|v| on the output)
static void test_block_vs_f64(void **st) {
    (void)st;
    srand(3);
    const int Ts[] = { 1, 5, 31, 32, 33, 64, 100, 257 }, hds[] = { 8, 64, 72, 128 };
    const uint32_t types[3] = { SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_Q8_0 };
    for (int scalar = 0; scalar < 2; scalar++) {
        const ss_kernels *K = ss_kernels_get(scalar);
        for (int ty = 0; ty < 3; ty++)
        for (int ti = 0; ti < 8; ti++)
        for (int hi = 0; hi < 4; hi++) {
            const uint32_t type = types[ty];
            const int T = Ts[ti], hd = hds[hi], G = ti % 2 ? 7 : 2, f16 = type == SS_TYPE_F16;
            if (type == SS_TYPE_Q8_0 && hd % 32) continue;
            kvpages p = kv_make(T, hd, type, 2.0f);
            float *q = malloc(sizeof(float) * G * hd), *o = malloc(sizeof(float) * G * hd);
            double *r = malloc(sizeof(double) * hd), worst = 0;
            for (int i = 0; i < G * hd; i++) q[i] = 2 * frand();
            if (f16) ss_round_f16_ref(q, q, G * hd);
            attend(K, &p, 1, G, q, &T, o, ti % 2);
            for (int g = 0; g < G; g++) {
                attend_f64(&p, q + g * hd, T, r);
                for (int i = 0; i < hd; i++) if (fabs(o[g * hd + i] - r[i]) > worst) worst = fabs(o[g * hd + i] - r[i]);
            }
            const double tol = f16 ? 2.0 / 2048 : 2e-6 * 2.0;
            if (worst > tol) fail_msg("%s type %u T %d hd %d G %d: max error %.3g > %.3g", K->name, type, T, hd, G, worst, tol);
            free(q); free(o); free(r); kv_free(&p);
        }
    }
}

// a row's result does not depend on the rows it shares a tile with, nor on whether pass 2 recomputes
// its scores or reads them from pass 1: entries of different lengths attended together == each
// alone, with and without the score cache, bit for bit (both tables)
static void test_block_rows_independent(void **st) {
    (void)st;
    srand(4);
    const int T = 100, hd = 64, G = 3, ne = 5, len[5] = { 100, 1, 33, 64, 70 };
    const uint32_t types[3] = { SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_Q8_0 };
    for (int scalar = 0; scalar < 2; scalar++)
    for (int ty = 0; ty < 3; ty++) {
        const ss_kernels *K = ss_kernels_get(scalar);
        kvpages p = kv_make(T, hd, types[ty], 1.0f);
        float q[5 * 3 * 64], all[5 * 3 * 64], one[3 * 64];
        for (int i = 0; i < ne * G * hd; i++) q[i] = frand();
        attend(K, &p, ne, G, q, len, all, false);
        for (int e = 0; e < ne; e++)
            for (int cache = 0; cache < 2; cache++) {
                attend(K, &p, 1, G, q + e * G * hd, len + e, one, cache);
                for (int i = 0; i < G * hd; i++) assert_int_equal(fbits(one[i]), fbits(all[e * G * hd + i]));
            }
        kv_free(&p);
    }
}

// the AVX2 kernel against the scalar reference on the same blocks: F32, Q8_0 and F16 (read in place,
// heads in tiles of 2: G = 1..8 covers full and partial tiles) within float rounding
static void test_block_avx2_vs_ref(void **st) {
    (void)st;
    if (!ss_kernels_get(false)->simd) skip();
    srand(5);
    for (int T = 1; T <= 200; T += 13)
    for (int f16 = 0; f16 < 2; f16++) {
        const int hd = T % 2 ? 64 + 32 * (T % 3) : 64 + 8 * (T % 3), G = 1 + (T + f16) % 8;
        kvpages p = kv_make(T, hd, f16 ? SS_TYPE_F16 : T % 2 ? SS_TYPE_Q8_0 : SS_TYPE_F32, 1.5f);
        float *q = malloc(sizeof(float) * G * hd), *a = malloc(sizeof(float) * G * hd), *b = malloc(sizeof(float) * G * hd);
        for (int i = 0; i < G * hd; i++) q[i] = frand();
        if (f16) ss_round_f16_ref(q, q, G * hd);
        attend(ss_kernels_get(false), &p, 1, G, q, &T, a, T % 3 == 0);
        attend(ss_kernels_get(true), &p, 1, G, q, &T, b, T % 3 == 1);
        for (int i = 0; i < G * hd; i++) assert_true(fabs(a[i] - b[i]) <= 2e-6);
        free(q); free(a); free(b); kv_free(&p);
    }
}

// the AVX-512 F16 kernel against the AVX2 one, bit for bit: group sizes 1..11 (full and partial head
// pairs, more than the 8 heads of one tile), head dims 32..256, several entries of different lengths
// in one tile, with and without the score cache; a head dim that is not a multiple of 32 is refused
static void test_block_avx512_vs_avx2(void **st) {
    (void)st;
#ifdef SS_HAVE_AVX2
    if (!ss_cpu_has_avx512()) skip();
    srand(6);
    for (int G = 1; G <= 11; G++)
    for (int hi = 0; hi < 4; hi++) {
        const int hd = (int[]){ 32, 64, 128, 256 }[hi], T = 1 + (G * 37 + hi * 53) % 150, ne = 1 + (G + hi) % 3;
        const int len[3] = { T, 1 + T / 3, T > 40 ? T - 40 : 1 };
        kvpages p = kv_make(T, hd, SS_TYPE_F16, 1.5f);
        float *q = malloc(sizeof(float) * ne * G * hd), *a = malloc(sizeof(float) * ne * G * hd), *b = malloc(sizeof(float) * ne * G * hd);
        for (int i = 0; i < ne * G * hd; i++) q[i] = 2 * frand();
        ss_round_f16_ref(q, q, ne * G * hd);
        for (int cache = 0; cache < 2; cache++) {
            attend_fn(ss_attn_block_avx2, &p, ne, G, q, len, a, cache);
            attend_fn(block_avx512, &p, ne, G, q, len, b, cache);
            for (int i = 0; i < ne * G * hd; i++)
                if (fbits(a[i]) != fbits(b[i])) fail_msg("G %d hd %d T %d cache %d: out[%d] %.9g != %.9g", G, hd, T, cache, i, b[i], a[i]);
        }
        free(q); free(a); free(b); kv_free(&p);
    }
    ss_attn_rows r = { 0 };
    float buf[2 * SS_ATTN_BLOCK * 40];
    assert_false(ss_attn_block_f16_avx512(&r, 1, 1, 40, 1.0f, buf, buf, 80, 80, 1, buf));
#else
    skip();
#endif
}

// F16 conversions of both kernel tables (SIMD where there is, scalar) == ss_fp32_to_fp16 (round
// to nearest even) on every non-NaN class: normals, ties, subnormals, overflow to inf, zeros of
// both signs; lengths with tails
static void test_f16_conversions(void **st) {
    (void)st;
    enum { n = 4099 };
    static float x[n], r[n];
    static uint16_t h[n];
    uint32_t u = 0x12345678u;
    for (int i = 0; i < n; i++) {
        u = u * 1664525u + 1013904223u;
        uint32_t bits = u;
        if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffff)) bits &= ~0x7fffffu;   // no NaN
        memcpy(&x[i], &bits, 4);
        if (i % 5 == 1) x[i] = ldexpf((float)(int)(u % 2048) + 0.5f, -24 - (int)(u % 3));  // subnormal f16 ties
        if (i % 5 == 2) x[i] = (float)((int)(u % 4001) - 2000) * 0.03125f;                  // exact / ties
        if (i == 3) x[i] = 65519.0f;
        if (i == 4) x[i] = 65520.0f;
        if (i == 5) x[i] = -0.0f;
        if (i == 6) x[i] = INFINITY;
    }
    for (int scalar = 0; scalar < 2; scalar++)
    for (int len = 1; len <= n; len = len * 3 + 1) {
        const ss_kernels *k = ss_kernels_get(scalar);
        k->f32_to_f16(x, h, len);
        k->round_f16(x, r, len);
        for (int i = 0; i < len; i++) {
            uint16_t e = ss_fp32_to_fp16(x[i]);
            if (h[i] != e) fail_msg("f16(%.9g) = 0x%04x, expected 0x%04x", x[i], h[i], e);
            assert_int_equal(fbits(r[i]), fbits(ss_fp16_to_fp32(e)));
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_block_vs_f64), cmocka_unit_test(test_block_rows_independent),
                                        cmocka_unit_test(test_block_avx2_vs_ref), cmocka_unit_test(test_block_avx512_vs_avx2),
                                        cmocka_unit_test(test_f16_conversions) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
