// test_matmul.c — thread pool and threaded matrix products (src/pool.c, src/matmul.c):
//  - pool: every thread index runs exactly once per ss_pool_run, thousands of back-to-back runs,
//    sleeping workers wake up, NULL pool / 1 thread run inline;
//  - ss_matmul / ss_matmul_rows against a naive loop (float64 dot of the dequantized weight row
//    with the f32 activation: ss_dot_ref semantics) within the activation rounding bound, and
//    against per-row ss_vec_dot_scalar on the same rounded activations (float reordering only),
//    for every weight type, odd shapes, T = 1..9 and 1..4 threads, scalar and SIMD;
//  - ss_matmul_multi == separate ss_matmul calls;
//  - the activation scratch: its bound covers every product it is reserved for (no reallocation);
//  - ss_matmul_swiglu: the up product == ss_matmul, silu(gate)*up against float64;
//  - ss_matvec_t against a float64 loop; identical for every thread count;
//  - ss_weight_row == ss_dequant_row of the row;
//  - golden: logits = hidden · W_out^T of llama.cpp's reference outputs (../shared/golden).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <stdatomic.h>
#include <cjson/cJSON.h>
#include "ss_matmul.h"

#define KD ss_kernels_get(false)   // the kernels a context uses by default (SIMD where there is)
#include "ss_gguf.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd_u64(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static double rnd_uniform(void) { return (double)(rnd_u64() >> 11) / (double)(1ull << 53); }
static double rnd_normal(void) {
    double u = rnd_uniform(), v = rnd_uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

// ------------------------------------------------------------------------------------ pool

typedef struct {
    atomic_int count[16];
    atomic_int total;
    int nth_seen[16];     // per thread (no shared writes)
} pool_probe;

static void probe_fn(void *arg, int ith, int nth) {
    pool_probe *p = arg;
    atomic_fetch_add(&p->count[ith], 1);
    atomic_fetch_add(&p->total, 1);
    p->nth_seen[ith] = nth;
}

static void test_pool(void **state) {
    (void)state;
    for (int n = 1; n <= 4; n++) {
        ss_pool *pool = ss_pool_new(n);
        assert_int_equal(ss_pool_n_threads(pool), n);
        pool_probe p;
        memset(&p, 0, sizeof p);
        // back-to-back runs; fewer when threads outnumber cores (each run then waits for
        // descheduled workers)
        const int runs = n <= ss_n_cores() ? 2000 : 200;
        for (int r = 0; r < runs; r++) {
            ss_pool_run(pool, probe_fn, &p);
            // every thread finished before ss_pool_run returned
            assert_int_equal(atomic_load(&p.total), (r + 1) * n);
        }
        for (int i = 0; i < n; i++) assert_int_equal(atomic_load(&p.count[i]), runs);
        for (int i = 0; i < n; i++) assert_int_equal(p.nth_seen[i], n);
        // let the workers fall asleep (spin time is ~50 us), then they must wake up
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ss_pool_run(pool, probe_fn, &p);
        assert_int_equal(atomic_load(&p.total), (runs + 1) * n);
        // scratch: grow-only, aligned, keeps content when not grown
        uint8_t *s1 = ss_pool_scratch(pool, 0, 100);
        assert_non_null(s1);
        assert_int_equal((uintptr_t)s1 % 64, 0);
        s1[99] = 7;
        assert_ptr_equal(ss_pool_scratch(pool, 0, 50), s1);
        assert_int_equal(s1[99], 7);
        assert_non_null(ss_pool_scratch(pool, 3, 1 << 20));
        assert_null(ss_pool_scratch(pool, SS_POOL_SCRATCH_SLOTS, 10));
        ss_pool_free(pool);
    }
    // NULL pool: runs inline as thread 0 of 1
    pool_probe p;
    memset(&p, 0, sizeof p);
    ss_pool_run(NULL, probe_fn, &p);
    assert_int_equal(atomic_load(&p.count[0]), 1);
    assert_int_equal(p.nth_seen[0], 1);
    assert_int_equal(ss_pool_n_threads(NULL), 1);
    assert_null(ss_pool_scratch(NULL, 0, 10));
    // default size = cores
    ss_pool *pool = ss_pool_new(0);
    assert_int_equal(ss_pool_n_threads(pool), ss_n_cores());
    ss_pool_free(pool);
    ss_pool_free(NULL);
    // create / destroy immediately, repeatedly (no job ever run)
    for (int i = 0; i < 20; i++) ss_pool_free(ss_pool_new(3));
}

// ------------------------------------------------------------------------------------ matmul

static const uint32_t types[] = {
    SS_TYPE_F32, SS_TYPE_F16, SS_TYPE_BF16, SS_TYPE_Q4_0, SS_TYPE_Q4_1, SS_TYPE_Q5_0,
    SS_TYPE_Q5_1, SS_TYPE_Q8_0, SS_TYPE_Q4_K, SS_TYPE_Q5_K, SS_TYPE_Q6_K,
};
#define N_TYPES (int)(sizeof types / sizeof types[0])

typedef struct {
    ss_weight W;
    void *data;
    float *deq;     // [rows, cols] dequantized
} wmat;

static wmat make_weight(uint32_t type, int64_t rows, int64_t cols) {
    wmat m;
    size_t rb = ss_row_size(type, cols);
    m.data = malloc(rb * rows);
    m.deq = malloc(sizeof(float) * rows * cols);
    float *tmp = malloc(sizeof(float) * cols);
    for (int64_t r = 0; r < rows; r++) {
        double s = 0.02 + rnd_uniform();
        for (int64_t c = 0; c < cols; c++) tmp[c] = (float)(s * rnd_normal());
        ss_quant_row(type, tmp, (uint8_t *)m.data + r * rb, cols);
        ss_dequant_row(type, (uint8_t *)m.data + r * rb, m.deq + r * cols, cols);
    }
    free(tmp);
    m.W = (ss_weight){type, rows, cols, m.data, rb};
    return m;
}

static void free_weight(wmat *m) { free(m->data); free(m->deq); }

// activation rounding bound of one element of x rounded to the vec-dot type: half a step of
// the block's 8-bit grid (+ fp16 error of the scale), or the f16/bf16 half ulp
static void act_bounds(uint32_t vt, const float *x, int64_t n, double *eb) {
    int blk = vt == SS_TYPE_Q8_K ? 256 : vt == SS_TYPE_Q8_0 || vt == SS_TYPE_Q8_1 ? 32 : 1;
    for (int64_t b = 0; b < n; b += blk) {
        double amax = 0;
        for (int64_t i = b; i < b + blk; i++) amax = fmax(amax, fabs(x[i]));
        for (int64_t i = b; i < b + blk; i++)
            eb[i] = vt == SS_TYPE_F32 ? 0 : vt == SS_TYPE_F16 ? fabs(x[i]) / 2048 + 0x1p-25 :
                    vt == SS_TYPE_BF16 ? fabs(x[i]) / 256 : amax / 127 * (0.5 + 127.0 / 2048) + 1e-7 * amax;
    }
}

// out[t, r - r0] (ld_out) vs references, for rows [r0, r1)
static void check_out(const wmat *m, const float *x, int64_t T, const float *out, int64_t ld_out,
                      int64_t r0, int64_t r1, const char *what) {
    const ss_weight *W = &m->W;
    const int64_t cols = W->cols;
    uint32_t vt = ss_vec_dot_type(W->type);
    double *eb = malloc(sizeof(double) * cols);
    uint8_t *xq = malloc(ss_row_size(SS_TYPE_F32, cols) + 64);
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * cols;
        act_bounds(vt, xt, cols, eb);
        ss_quant_act_ref(W->type, xt, xq, cols);
        for (int64_t r = r0; r < r1; r++) {
            const float *wr = m->deq + r * cols;
            double ref = 0, bnd = 0, as = 0;
            for (int64_t c = 0; c < cols; c++) {
                ref += (double)wr[c] * xt[c];
                bnd += fabs(wr[c]) * eb[c];
                as += fabs((double)wr[c] * xt[c]);
            }
            float got = out[t * ld_out + (r - r0)];
            if (fabs(got - ref) > bnd * 1.001 + 1e-5 * as + 1e-30)
                fail_msg("%s %s [%lld x %lld] T=%lld: out[%lld,%lld] = %.9g, naive %.9g, bound %.3g",
                         what, ss_type_name(W->type), (long long)W->rows, (long long)cols, (long long)T,
                         (long long)t, (long long)r, got, ref, bnd);
            float sv;
            ss_vec_dot_scalar(W->type, cols, &sv, (const uint8_t *)W->data + r * W->row_bytes, xq);
            if (fabs(got - sv) > 1e-5 * as + 1e-30)
                fail_msg("%s %s: out[%lld,%lld] = %.9g, scalar vec_dot %.9g", what, ss_type_name(W->type),
                         (long long)t, (long long)r, got, sv);
        }
    }
    free(eb);
    free(xq);
}

static void test_matmul(void **state) {
    (void)state;
    ss_pool *pools[5] = {NULL, ss_pool_new(1), ss_pool_new(2), ss_pool_new(3), ss_pool_new(4)};
    static const int64_t Ts[] = {1, 2, 3, 5, 9};
    for (int ti = 0; ti < N_TYPES; ti++) {
        uint32_t type = types[ti];
        int blk = ss_type_info(type)->blck;
        int64_t cols = blk == 256 ? 512 : blk == 32 ? 96 : 75;   // odd block counts
        int64_t rows = 37 + ti * 13;
        if (ti % 3 == 0) { cols *= 3; rows += 100; }            // large enough to be threaded
        wmat m = make_weight(type, rows, cols);
        for (int k = 0; k < 5; k++) {
            int64_t T = Ts[k];
            float *x = malloc(sizeof(float) * T * cols);
            for (int64_t i = 0; i < T * cols; i++) x[i] = (float)rnd_normal();
            for (int simd = 0; simd < 2; simd++) {
                const ss_kernels *k = ss_kernels_get(!simd);
                for (int pi = 0; pi < 5; pi++) {
                    const int64_t ld = rows + 3;
                    float *out = malloc(sizeof(float) * T * ld);
                    for (int64_t i = 0; i < T * ld; i++) out[i] = NAN;
                    ss_matmul(k, pools[pi], out, ld, x, T, &m.W);
                    check_out(&m, x, T, out, ld, 0, rows, "matmul");
                    for (int64_t t = 0; t < T; t++)              // padding untouched
                        for (int64_t j = rows; j < ld; j++) assert_true(isnan(out[t * ld + j]));
                    // a sub-range of rows into a chunk buffer
                    int64_t r0 = rows / 3, r1 = rows - 2, ldc = r1 - r0;
                    for (int64_t i = 0; i < T * ld; i++) out[i] = NAN;
                    ss_matmul_rows(k, pools[pi], out, ldc, x, T, &m.W, r0, r1);
                    check_out(&m, x, T, out, ldc, r0, r1, "matmul_rows");
                    free(out);
                }
            }
            free(x);
        }
        free_weight(&m);
    }
    for (int i = 1; i < 5; i++) ss_pool_free(pools[i]);
}

// one weight type at [rows, cols] with T activation rows: against the float64 reference and
// bit-identical for 1 and 3 threads; with rows8, also 8 activation rows (batched decode: the wide
// tiles) bit-identical to each row alone (T = 1), so a sequence decodes the same in a batch
static void matmul_case(ss_pool *p1, ss_pool *p3, uint32_t type, int64_t rows, int64_t cols, int64_t T,
                        const char *what, bool rows8) {
    wmat m = make_weight(type, rows, cols);
    float *x = malloc(sizeof(float) * T * cols), *o1 = malloc(sizeof(float) * T * rows), *o3 = malloc(sizeof(float) * T * rows);
    for (int64_t i = 0; i < T * cols; i++) x[i] = (float)rnd_normal();
    ss_matmul(KD, p1, o1, rows, x, T, &m.W);
    ss_matmul(KD, p3, o3, rows, x, T, &m.W);
    check_out(&m, x, T, o3, rows, 0, rows, what);
    assert_memory_equal(o1, o3, sizeof(float) * T * rows);
    if (rows8) {
        ss_matmul(KD, p3, o3, rows, x, 8, &m.W);                   // 8 rows together ...
        check_out(&m, x, 8, o3, rows, 0, rows, "8 rows");
        for (int64_t t = 0; t < 8; t++) {                      // ... == each alone
            ss_matmul(KD, p1, o1, rows, x + t * cols, 1, &m.W);
            assert_memory_equal(o1, o3 + t * rows, sizeof(float) * rows);
        }
    }
    free(x); free(o1); free(o3);
    free_weight(&m);
}

// larger shape with many activation rows (exercises chunking and tiling); every thread count
// gives bit-identical output (each out element is one vec_dot call)
static void test_matmul_tiled(void **state) {
    (void)state;
    ss_pool *p1 = ss_pool_new(1), *p3 = ss_pool_new(3);
    uint32_t tt[] = {SS_TYPE_Q4_K, SS_TYPE_Q8_0, SS_TYPE_F16};
    for (int k = 0; k < 3; k++) matmul_case(p1, p3, tt[k], 300, 1024, 21, "tiled", false);
    ss_pool_free(p1);
    ss_pool_free(p3);
}

// long rows (K = 2080: several K-blocks of the panel kernel from SS_GEMM_PANEL_MIN_T activation
// rows, with a partial panel), and 8 rows (the register tiles)
static void test_matmul_long_rows(void **state) {
    (void)state;
    // 1 thread: chunks of 36 rows (the fair share: 200 rows / 8 per thread, rounded up to 12)
    ss_pool *p1 = ss_pool_new(1), *p3 = ss_pool_new(3);
    uint32_t tt[] = {SS_TYPE_Q5_0, SS_TYPE_Q4_0, SS_TYPE_F16, SS_TYPE_Q8_0};
    for (int k = 0; k < 4; k++) matmul_case(p1, p3, tt[k], 200, 2080, SS_GEMM_PANEL_MIN_T + 8, "long rows", true);
    ss_pool_free(p1);
    ss_pool_free(p3);
}

// F16 / BF16 weights keep their register tiles for any number of activation rows: a prompt's row
// gets the same bits as the same row decoded alone
static void test_matmul_f16_prefill_is_decode(void **state) {
    (void)state;
    ss_pool *p3 = ss_pool_new(3);
    const uint32_t tt[] = {SS_TYPE_F16, SS_TYPE_BF16};
    const int64_t rows = 150, cols = 896, T = SS_GEMM_PANEL_MIN_T + 13;
    for (int k = 0; k < 2; k++) {
        wmat m = make_weight(tt[k], rows, cols);
        float *x = malloc(sizeof(float) * T * cols), *all = malloc(sizeof(float) * T * rows), *one = malloc(sizeof(float) * rows);
        for (int64_t i = 0; i < T * cols; i++) x[i] = (float)rnd_normal();
        ss_matmul(KD, p3, all, rows, x, T, &m.W);
        check_out(&m, x, T, all, rows, 0, rows, "f16 prefill");
        for (int64_t t = 0; t < T; t++) {
            ss_matmul(KD, p3, one, rows, x + t * cols, 1, &m.W);
            assert_memory_equal(one, all + t * rows, sizeof(float) * rows);
        }
        free(x); free(all); free(one);
        free_weight(&m);
    }
    ss_pool_free(p3);
}

// ss_matmul_multi == separate ss_matmul calls (bit-identical), mixed weight types sharing cols
static void test_matmul_multi(void **state) {
    (void)state;
    const int64_t cols = 512;
    static const uint32_t mt[] = {SS_TYPE_Q4_K, SS_TYPE_Q6_K, SS_TYPE_Q8_0, SS_TYPE_F32, SS_TYPE_F16,
                                  SS_TYPE_Q4_1, SS_TYPE_BF16, SS_TYPE_Q5_0, SS_TYPE_Q5_K, SS_TYPE_Q4_0};
    const int n = (int)(sizeof mt / sizeof mt[0]);   // > SS_MATMUL_MAX: two passes
    ss_pool *pools[3] = {NULL, ss_pool_new(2), ss_pool_new(3)};
    wmat m[10];
    const ss_weight *W[10];
    float *out[10], *ref[10];
    int64_t ld[10];
    for (int i = 0; i < n; i++) { m[i] = make_weight(mt[i], 40 + 7 * i, cols); W[i] = &m[i].W; }
    for (int64_t T = 1; T <= 6; T += 5) {
        float *x = malloc(sizeof(float) * T * cols);
        for (int64_t k = 0; k < T * cols; k++) x[k] = (float)rnd_normal();
        for (int pi = 0; pi < 3; pi++) {
            for (int i = 0; i < n; i++) {
                ld[i] = W[i]->rows + i;
                out[i] = malloc(sizeof(float) * T * ld[i]);
                ref[i] = malloc(sizeof(float) * T * ld[i]);
                for (int64_t k = 0; k < T * ld[i]; k++) out[i][k] = ref[i][k] = 0.5f;
                ss_matmul(KD, pools[pi], ref[i], ld[i], x, T, W[i]);
            }
            ss_matmul_multi(KD, pools[pi], n, out, ld, x, T, W);
            for (int i = 0; i < n; i++) {
                assert_memory_equal(out[i], ref[i], sizeof(float) * T * ld[i]);
                check_out(&m[i], x, T, out[i], ld[i], 0, W[i]->rows, "matmul_multi");
                free(out[i]); free(ref[i]);
            }
        }
        free(x);
    }
    for (int i = 0; i < n; i++) free_weight(&m[i]);
    for (int i = 1; i < 3; i++) ss_pool_free(pools[i]);
}

// the activation scratch: ss_matmul_scratch_bound(T_max, W) >= the exact bytes of every product of
// at most T_max rows (every kind, single matrices, pairs, all eight), for the SIMD and the scalar
// kernels; and a pool scratch reserved with the bound is never reallocated by those products
static void test_scratch_bound(void **state) {
    (void)state;
    const int64_t cols = 512, TMAX = 150;
    static const uint32_t mt[] = {SS_TYPE_Q4_K, SS_TYPE_Q6_K, SS_TYPE_Q8_0, SS_TYPE_F32, SS_TYPE_F16,
                                  SS_TYPE_Q4_1, SS_TYPE_BF16, SS_TYPE_Q5_0};
    enum { N = 8 };
    wmat m[N];
    const ss_weight *W[N];
    for (int i = 0; i < N; i++) { m[i] = make_weight(mt[i], 24, cols); W[i] = &m[i].W; }
    for (int simd = 0; simd < 2; simd++) {
        const ss_kernels *k = ss_kernels_get(!simd);
        const size_t bound = ss_matmul_scratch_bound(k, TMAX, N, W);
        size_t most = 0;
        for (int64_t T = 1; T <= TMAX; T++)
            for (int kind = SS_MM_AUTO; kind <= SS_MM_GEN; kind++) {
                size_t b = ss_matmul_scratch_bytes(k, kind, T, N, W);
                most = b > most ? b : most;
                for (int i = 0; i < N; i++) {
                    b = ss_matmul_scratch_bytes(k, kind, T, 1, &W[i]);
                    assert_true(b <= ss_matmul_scratch_bound(k, TMAX, 1, &W[i]));
                    most = b > most ? b : most;
                    if (i + 1 < N) most = (b = ss_matmul_scratch_bytes(k, kind, T, 2, &W[i])) > most ? b : most;
                }
            }
        assert_true(most <= bound && most > 0);
        ss_pool *pool = ss_pool_new(2);
        void *buf = ss_pool_scratch(pool, 0, bound);
        assert_non_null(buf);
        float *x = malloc(sizeof(float) * TMAX * cols), *out = malloc(sizeof(float) * TMAX * 24 * N);
        for (int64_t z = 0; z < TMAX * cols; z++) x[z] = (float)rnd_normal();
        float *outs[N];
        int64_t ld[N];
        for (int i = 0; i < N; i++) { outs[i] = out + (size_t)i * TMAX * 24; ld[i] = 24; }
        for (int64_t T = 1; T <= TMAX; T += 37)
            for (int kind = SS_MM_AUTO; kind <= SS_MM_GEN; kind++) {
                assert_int_equal(ss_matmul_multi_k(k, pool, kind, N, outs, ld, x, T, W), 0);
                assert_ptr_equal(ss_pool_scratch(pool, 0, 0), buf);
            }
        assert_int_equal(ss_matmul(k, NULL, out, 24, x, TMAX, W[0]), 0);   // (no pool: a buffer of the call)
        free(x); free(out);
        ss_pool_free(pool);
    }
    for (int i = 0; i < N; i++) free_weight(&m[i]);
}

// ss_matmul_swiglu: `up` is bit-identical to ss_matmul(Wup), `out` = silu(gate) * up within the
// SIMD exp's error (4e-7 relative) of a float64 evaluation on ss_matmul's gate and up products;
// gate and up of different types (different activation roundings), T = 1..9, 1..3 threads
static void test_matmul_swiglu(void **state) {
    (void)state;
    const int64_t cols = 512, rows = 201;
    static const uint32_t gt[][2] = {{SS_TYPE_Q4_K, SS_TYPE_Q4_K}, {SS_TYPE_Q5_0, SS_TYPE_Q8_0},
                                      {SS_TYPE_Q6_K, SS_TYPE_F16}, {SS_TYPE_F32, SS_TYPE_Q4_1}};
    ss_pool *pools[3] = {NULL, ss_pool_new(2), ss_pool_new(3)};
    for (int k = 0; k < 4; k++) {
        wmat g = make_weight(gt[k][0], rows, cols), u = make_weight(gt[k][1], rows, cols);
        for (int64_t T = 1; T <= 9; T += 4) {
            float *x = malloc(sizeof(float) * T * cols);
            for (int64_t i = 0; i < T * cols; i++) x[i] = (float)rnd_normal();
            const int64_t ld = rows + 5;
            float *rg = malloc(sizeof(float) * T * rows), *ru = malloc(sizeof(float) * T * rows);
            float *out = malloc(sizeof(float) * T * ld), *up = malloc(sizeof(float) * T * ld);
            ss_matmul(KD, NULL, rg, rows, x, T, &g.W);
            ss_matmul(KD, NULL, ru, rows, x, T, &u.W);
            for (int pi = 0; pi < 3; pi++) {
                for (int64_t i = 0; i < T * ld; i++) out[i] = up[i] = NAN;
                ss_matmul_swiglu(KD, pools[pi], out, ld, up, ld, x, T, &g.W, &u.W);
                for (int64_t t = 0; t < T; t++) {
                    for (int64_t r = 0; r < rows; r++) {
                        assert_memory_equal(&up[t * ld + r], &ru[t * rows + r], sizeof(float));
                        double gv = rg[t * rows + r], e = gv / (1.0 + exp(-gv)) * ru[t * rows + r];
                        if (!(fabs(out[t * ld + r] - e) <= 4e-7 * fabs(e) + 1e-30))
                            fail_msg("swiglu %s/%s T=%lld (%lld,%lld): %.9g, expected %.9g", ss_type_name(gt[k][0]), ss_type_name(gt[k][1]),
                                     (long long)T, (long long)t, (long long)r, out[t * ld + r], e);
                    }
                    for (int64_t r = rows; r < ld; r++) assert_true(isnan(out[t * ld + r]) && isnan(up[t * ld + r]));
                }
            }
            free(x); free(rg); free(ru); free(out); free(up);
        }
        free_weight(&g); free_weight(&u);
    }
    for (int i = 1; i < 3; i++) ss_pool_free(pools[i]);
}

// y[cols] = W^T g against a float64 loop, every thread count identical
static void test_matvec_t(void **state) {
    (void)state;
    ss_pool *pools[4] = {NULL, ss_pool_new(2), ss_pool_new(3), ss_pool_new(4)};
    for (int ti = 0; ti < N_TYPES; ti++) {
        uint32_t type = types[ti];
        int blk = ss_type_info(type)->blck;
        int64_t cols = blk == 256 ? 768 : blk == 32 ? 160 : 131, rows = 150 + ti;
        wmat m = make_weight(type, rows, cols);
        float *g = malloc(sizeof(float) * rows);
        for (int64_t r = 0; r < rows; r++) g[r] = (r % 7 == 3) ? 0.0f : (float)rnd_normal();
        float *y0 = malloc(sizeof(float) * cols), *y = malloc(sizeof(float) * cols);
        for (int pi = 0; pi < 4; pi++) {
            for (int64_t c = 0; c < cols; c++) y[c] = NAN;
            ss_matvec_t(KD, pools[pi], y, g, &m.W);
            for (int64_t c = 0; c < cols; c++) {
                double ref = 0, as = 0;
                for (int64_t r = 0; r < rows; r++) { ref += (double)g[r] * m.deq[r * cols + c]; as += fabs((double)g[r] * m.deq[r * cols + c]); }
                if (fabs(y[c] - ref) > 1e-5 * as + 1e-30)
                    fail_msg("matvec_t %s: y[%lld] = %.9g, float64 %.9g", ss_type_name(type), (long long)c, y[c], ref);
            }
            if (pi == 0) memcpy(y0, y, sizeof(float) * cols);
            else assert_memory_equal(y0, y, sizeof(float) * cols);
        }
        // ss_weight_row
        for (int64_t r = 0; r < rows; r += 17) {
            ss_weight_row(KD, &m.W, r, y);
            assert_memory_equal(y, m.deq + r * cols, sizeof(float) * cols);
        }
        free(g); free(y0); free(y);
        free_weight(&m);
    }
    for (int i = 1; i < 4; i++) ss_pool_free(pools[i]);
}

// ------------------------------------------------------------------------------------ golden

// logits = hidden · W_out^T, with W_out the model's output matrix (token_embd when tied), for
// llama.cpp's final hidden states: the top-8 logits it reports must be reproduced. llama.cpp
// rounded `hidden` to the vec-dot type as we do, so the difference is float reordering
// (1e-5 relative to sum |w_i h_i|) plus, because the JSON prints `hidden` with 7 significant
// digits, an element lying on a rounding boundary may round the other way: up to two steps of
// the activation grid times |w_i| are allowed on top.
static void check_golden(const char *json_path, const char *model_path) {
    char err[SS_ERRLEN];
    size_t len;
    char *txt = ss_read_file(json_path, &len, err, sizeof err);
    if (!txt) { fprintf(stderr, "note: %s (skipped)\n", err); return; }
    ss_gguf *g = NULL;
    if (ss_gguf_open(&g, model_path, err, sizeof err) != 0) { fprintf(stderr, "note: %s (skipped)\n", err); free(txt); return; }
    cJSON *j = cJSON_Parse(txt);
    assert_non_null(j);
    const ss_gguf_tensor *t = ss_gguf_find_tensor(g, "output.weight");
    if (!t) t = ss_gguf_find_tensor(g, "token_embd.weight");
    assert_non_null(t);
    const int64_t D = t->ne[0], V = t->ne[1];
    assert_int_equal(cJSON_GetObjectItem(j, "n_embd")->valueint, D);
    ss_weight W = {t->type, V, D, t->data, ss_row_size(t->type, D)};
    cJSON *hidden = cJSON_GetObjectItem(j, "hidden"), *topk = cJSON_GetObjectItem(j, "topk");
    const int T = cJSON_GetArraySize(hidden);
    assert_true(T > 0 && T == cJSON_GetArraySize(topk));
    float *h = malloc(sizeof(float) * D * T), *logits = malloc(sizeof(float) * V * T);
    for (int p = 0; p < T; p++) {
        cJSON *row = cJSON_GetArrayItem(hidden, p);
        assert_int_equal(cJSON_GetArraySize(row), D);
        for (int64_t c = 0; c < D; c++) h[p * D + c] = (float)cJSON_GetArrayItem(row, (int)c)->valuedouble;
    }
    ss_pool *pool = ss_pool_new(2);
    ss_matmul(KD, pool, logits, V, h, T, &W);
    ss_pool_free(pool);
    float *wr = malloc(sizeof(float) * D);
    double worst = 0;
    float *step = malloc(sizeof(float) * D);
    uint32_t vt = ss_vec_dot_type(t->type);
    for (int p = 0; p < T; p++) {
        // one step of the activation grid per element: Q8 blocks d = amax/127, f16/bf16 one ulp
        int blk = vt == SS_TYPE_Q8_K ? 256 : vt == SS_TYPE_F32 || vt == SS_TYPE_F16 || vt == SS_TYPE_BF16 ? 1 : 32;
        for (int64_t b = 0; b < D; b += blk) {
            float amax = 0;
            for (int64_t c = b; c < b + blk; c++) amax = fmaxf(amax, fabsf(h[p * D + c]));
            for (int64_t c = b; c < b + blk; c++)
                step[c] = vt == SS_TYPE_F32 ? 0 : vt == SS_TYPE_F16 ? fabsf(h[p * D + c]) / 1024 :
                          vt == SS_TYPE_BF16 ? fabsf(h[p * D + c]) / 128 : amax / 127;
        }
        cJSON *tk = cJSON_GetArrayItem(topk, p);
        for (int k = 0; k < cJSON_GetArraySize(tk); k++) {
            cJSON *e = cJSON_GetArrayItem(tk, k);
            int id = cJSON_GetArrayItem(e, 0)->valueint;
            double want = cJSON_GetArrayItem(e, 1)->valuedouble;
            ss_weight_row(KD, &W, id, wr);
            double as = 0, flip = 0;
            for (int64_t c = 0; c < D; c++) {
                as += fabs((double)wr[c] * h[p * D + c]);
                flip = fmax(flip, fabs(wr[c]) * step[c]);
            }
            double got = logits[(int64_t)p * V + id], rel = fabs(got - want) / as;
            if (rel > worst) worst = rel;
            if (fabs(got - want) > 1e-5 * as + 2 * flip)
                fail_msg("%s: position %d token %d: logit %.7g, llama.cpp %.7g (sum|w h| %.3g, flip %.2g)", json_path, p, id, got, want, as, flip);
        }
    }
    fprintf(stderr, "  %s (%s head): worst |diff| / sum|w h| = %.2g\n", json_path, ss_type_name(t->type), worst);
    free(h); free(logits); free(wr); free(step);
    cJSON_Delete(j);
    ss_gguf_close(g);
    free(txt);
}

static void test_golden_lm_head(void **state) {
    (void)state;
    static const char *models[] = {
        "stories260K-f32", "stories260K-f16", "llama-synth-mini-bf16", "llama-synth-mini-q4_0",
        "llama-synth-mini-q4_k_m", "llama-synth-mini-q5_k_m", "qwen2-synth-tiny-q4_k_m",
    };
    static const char *prompts[] = {"story2", "story2", "story2", "story2", "story2", "story2", "unicode"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char jp[256], mp[256];
        snprintf(jp, sizeof jp, "../shared/golden/%s.%s.json", models[i], prompts[i]);
        snprintf(mp, sizeof mp, "../shared/models/%s.gguf", models[i]);
        check_golden(jp, mp);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_matmul_tiled),
        cmocka_unit_test(test_matmul_f16_prefill_is_decode),
        cmocka_unit_test(test_matmul_long_rows),
        cmocka_unit_test(test_matmul_multi),
        cmocka_unit_test(test_matmul_swiglu),
        cmocka_unit_test(test_scratch_bound),
        cmocka_unit_test(test_matvec_t),
        cmocka_unit_test(test_golden_lm_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
