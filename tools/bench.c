// bench.c — machine measurements for `slotswift bench`.
#include "ss_bench.h"
#include "ss_model.h"
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef SS_HAVE_AVX2
double ss_bench_fma_avx2(long iters);   // bench_avx2.c: FLOPs done (runs iters × 8 chains × 8 lanes × 2)
#endif

typedef struct { const uint64_t *buf; size_t n; uint64_t sink[64]; } bw_job;

static void bw_worker(void *arg, int ith, int nth) {
    bw_job *j = arg;
    size_t per = j->n / nth, a = per * ith, b = ith == nth - 1 ? j->n : a + per;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = a; i + 4 <= b; i += 4) { s0 ^= j->buf[i]; s1 ^= j->buf[i + 1]; s2 ^= j->buf[i + 2]; s3 ^= j->buf[i + 3]; }
    j->sink[ith % 64] = s0 ^ s1 ^ s2 ^ s3;
}

double ss_bench_read_bw(ss_ctx *c, size_t bytes, int reps) {
    ss_pool *pool = c->pool;
    size_t n = bytes / 8;
    uint64_t *buf = malloc(n * 8);
    if (!buf) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = i * 0x9E3779B97F4A7C15ULL;   // touch every page
    bw_job j = { buf, n, {0} };
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t = ss_time();
        ss_pool_run(pool, bw_worker, &j);
        t = ss_time() - t;
        double gbs = bytes / t / 1e9;
        if (gbs > best) best = gbs;
    }
    free(buf);
    return best;
}

typedef struct { double flops[64]; long iters; } fma_job;

static void fma_worker(void *arg, int ith, int nth) {
    fma_job *j = arg;
    (void)nth;
#ifdef SS_HAVE_AVX2
    if (ss_cpu_has_avx2()) { j->flops[ith % 64] = ss_bench_fma_avx2(j->iters); return; }   // the dispatch's probe
#endif
    float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (long i = 0; i < j->iters; i++)
        for (int k = 0; k < 8; k++) a[k] = a[k] * 0.9999999f + 1e-7f;
    volatile float s = a[0] + a[7];
    (void)s;
    j->flops[ith % 64] = 16.0 * j->iters;
}

double ss_bench_fma_peak(ss_ctx *c) {
    ss_pool *pool = c->pool;
    fma_job j;
    memset(&j, 0, sizeof j);
    j.iters = 20000000;
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t = ss_time();
        ss_pool_run(pool, fma_worker, &j);
        t = ss_time() - t;
        double tot = 0;
        for (int i = 0; i < ss_pool_n_threads(pool) && i < 64; i++) tot += j.flops[i];
        if (tot / t / 1e9 > best) best = tot / t / 1e9;
    }
    return best;
}

double ss_bench_fma_core_peak(void) {
    fma_job j;
    memset(&j, 0, sizeof j);
    j.iters = 10000000;
    double best = 0;
    for (int r = 0; r < 3; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        fma_worker(&j, 0, 1);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        double t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
        if (t > 0 && j.flops[0] / t / 1e9 > best) best = j.flops[0] / t / 1e9;
    }
    return best;
}

size_t ss_bench_peak_rss(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024;
}

static size_t wbytes(const ss_weight *w) { return (size_t)w->rows * w->row_bytes; }

size_t ss_bench_weight_bytes(const ss_model *m) {
    size_t b = m->tok_embd.row_bytes + wbytes(&m->output);
    for (int l = 0; l < m->hp.n_layer; l++) {
        const ss_layer *L = &m->layers[l];
        b += wbytes(&L->wq) + wbytes(&L->wk) + wbytes(&L->wv) + wbytes(&L->wo)
           + wbytes(&L->w_gate) + wbytes(&L->w_up) + wbytes(&L->w_down);
    }
    return b;
}

double ss_bench_flops_per_token(const ss_model *m) {
    double f = (double)m->output.rows * m->output.cols;
    for (int l = 0; l < m->hp.n_layer; l++) {
        const ss_layer *L = &m->layers[l];
        const ss_weight *ws[7] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (int i = 0; i < 7; i++) f += (double)ws[i]->rows * ws[i]->cols;
    }
    return f;
}
