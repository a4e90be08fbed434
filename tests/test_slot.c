// test_slot.c — SLOT (src/slot.c) against independent references:
//  - a plain float64 implementation in this file (loss, gradient, AdamW as torch.optim.AdamW),
//    and central finite differences of its loss, on small random problems (F32 / F16 / BF16 /
//    Q8_0 / Q4_K LM heads);
//  - the golden SLOT files of ../shared/golden (*.slot_sS_lrLR.json, float64 by an independent
//    script from llama.cpp's hidden states and the dequantized LM head);
//  - the three ways logits are kept (E = exp(z - max) by default, z, z recomputed in chunks):
//    each against the references, z vs chunked and 1 vs 4 threads bit for bit;
//  - scalar vs AVX2 kernels, and every AVX2 kernel against a float64 loop (tails included);
//  - bad input returns an error;
//  - the trust region (kl_max): the KL against its float64 definition in every mode, the
//    backtracking against a brute-force search over the step scales, the bound never exceeded.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <dirent.h>
#include <cjson/cJSON.h>
#include "ss_slot.h"
#include "ss_slotk.h"
#include "ss_gguf.h"

// ---------------------------------------------------------------- random problems

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void) {   // uniform [-1, 1)
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ull << 52) - 1.0;
}

typedef struct {
    int T, D, V;
    float *H;            // [T, D]
    int32_t *tok;        // [T]
    ss_weight W;
    void *wdata;
    double *Wd;          // [V, D] dequantized W (the definition of the format: ss_dequant_row)
} problem;

static problem make_problem(int T, int D, int V, uint32_t type, double hscale, double wscale) {
    problem p = { .T = T, .D = D, .V = V };
    p.H = malloc(sizeof(float) * T * D);
    p.tok = malloc(sizeof(int32_t) * T);
    for (int i = 0; i < T * D; i++) p.H[i] = (float)(hscale * rnd());
    for (int t = 0; t < T; t++) p.tok[t] = (int32_t)((rnd() + 1) * 0.5 * V) % V;
    size_t rb = ss_row_size(type, D);
    p.wdata = malloc(rb * V);
    p.Wd = malloc(sizeof(double) * V * D);
    float *row = malloc(sizeof(float) * D);
    for (int v = 0; v < V; v++) {
        for (int d = 0; d < D; d++) row[d] = (float)(wscale * rnd());
        if (type == SS_TYPE_F32) memcpy((char *)p.wdata + rb * v, row, rb);
        else ss_quant_row(type, row, (char *)p.wdata + rb * v, D);
        ss_dequant_row(type, (char *)p.wdata + rb * v, row, D);
        for (int d = 0; d < D; d++) p.Wd[(size_t)v * D + d] = row[d];
    }
    free(row);
    p.W = (ss_weight){ .type = type, .rows = V, .cols = D, .data = p.wdata, .row_bytes = rb };
    return p;
}

static void free_problem(problem *p) {
    free(p->H); free(p->tok); free(p->wdata); free(p->Wd);
}

// float64 reference: loss (and grad[D] when non-NULL) at delta, positions 0..T-2 (masked)
static double ref_loss_grad(const problem *p, const uint8_t *mask, const double *delta, double *grad) {
    int T = p->T, D = p->D, V = p->V, n = 0;
    double loss = 0;
    double *l = malloc(sizeof(double) * V);
    if (grad) memset(grad, 0, sizeof(double) * D);
    for (int t = 0; t + 1 < T; t++) {
        if (mask && !mask[t]) continue;
        n++;
        double mx = -INFINITY;
        for (int v = 0; v < V; v++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += ((double)p->H[t * D + d] + delta[d]) * p->Wd[(size_t)v * D + d];
            l[v] = s;
            if (s > mx) mx = s;
        }
        double se = 0;
        for (int v = 0; v < V; v++) se += exp(l[v] - mx);
        int y = p->tok[t + 1];
        loss += mx + log(se) - l[y];
        if (grad)
            for (int v = 0; v < V; v++) {
                double r = exp(l[v] - mx) / se - (v == y);
                for (int d = 0; d < D; d++) grad[d] += r * p->Wd[(size_t)v * D + d];
            }
    }
    free(l);
    if (grad) for (int d = 0; d < D; d++) grad[d] /= n;
    return loss / n;
}

// torch.optim.AdamW in float64 on the reference loss (prm: steps, lr, betas, eps, wd)
static void ref_adamw_p(const problem *p, const uint8_t *mask, const ss_slot_params *prm, double *delta,
                        double *loss_before, double *loss_after) {
    const int steps = prm->steps;
    const double lr = prm->lr, b1 = prm->beta1, b2 = prm->beta2, eps = prm->eps, wd = prm->wd;
    int D = p->D;
    double *m = calloc(D, sizeof(double)), *v = calloc(D, sizeof(double)), *g = malloc(sizeof(double) * D);
    memset(delta, 0, sizeof(double) * D);
    for (int k = 1; k <= steps; k++) {
        loss_before[k - 1] = ref_loss_grad(p, mask, delta, g);
        for (int d = 0; d < D; d++) {
            delta[d] *= 1 - lr * wd;
            m[d] = b1 * m[d] + (1 - b1) * g[d];
            v[d] = b2 * v[d] + (1 - b2) * g[d] * g[d];
            double mh = m[d] / (1 - pow(b1, k)), vh = v[d] / (1 - pow(b2, k));
            delta[d] -= lr * mh / (sqrt(vh) + eps);
        }
    }
    *loss_after = ref_loss_grad(p, mask, delta, NULL);
    free(m); free(v); free(g);
}

// the defaults: betas 0.9/0.999, eps 1e-5, wd 1e-8
static void ref_adamw(const problem *p, const uint8_t *mask, int steps, double lr, double *delta,
                      double *loss_before, double *loss_after) {
    ss_slot_params prm = { .steps = steps, .lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-5f, .wd = 1e-8f };
    ref_adamw_p(p, mask, &prm, delta, loss_before, loss_after);
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

// ---------------------------------------------------------------- gradient vs finite differences

static void check_grad_mode(const ss_slot_params *cfg, uint32_t type, int T, int D, int V, ss_pool *pool) {
    problem p = make_problem(T, D, V, type, 1.0, 0.5);
    double *dd = malloc(sizeof(double) * D), *gref = malloc(sizeof(double) * D), *fd = malloc(sizeof(double) * D);
    float *df = malloc(sizeof(float) * D), *g = malloc(sizeof(float) * D);
    for (int d = 0; d < D; d++) { df[d] = (float)(0.3 * rnd()); dd[d] = df[d]; }
    double loss = ss_slot_loss_grad(cfg, pool, p.H, T, D, p.tok, NULL, &p.W, df, g);
    double lref = ref_loss_grad(&p, NULL, dd, gref);
    assert_true(rel(loss, lref) < 1e-5);
    // central differences of the float64 reference loss, step 1e-4
    double gmax = 0, emax = 0, eamax = 0;
    for (int d = 0; d < D; d++) {
        double keep = dd[d], h = 1e-4;
        dd[d] = keep + h; double lp = ref_loss_grad(&p, NULL, dd, NULL);
        dd[d] = keep - h; double lm = ref_loss_grad(&p, NULL, dd, NULL);
        dd[d] = keep;
        fd[d] = (lp - lm) / (2 * h);
        gmax = fmax(gmax, fabs(fd[d]));
    }
    for (int d = 0; d < D; d++) {
        emax = fmax(emax, fabs(g[d] - fd[d]));
        eamax = fmax(eamax, fabs(g[d] - gref[d]));
    }
    if (emax / gmax >= 1e-3 || eamax / gmax >= 1e-5)
        fprintf(stderr, "grad %s T%d D%d V%d: |g-fd|/|fd| = %.3g, |g-analytic|/|g| = %.3g\n",
                ss_type_name(type), T, D, V, emax / gmax, eamax / gmax);
    assert_true(gmax > 1e-3);              // a gradient that is not trivially zero
    assert_true(emax / gmax < 1e-3);       // vs finite differences
    assert_true(eamax / gmax < 1e-5);      // vs the analytic float64 gradient
    free(dd); free(gref); free(fd); free(df); free(g);
    free_problem(&p);
}

// the same problem with E (default), with z kept (E never used), with z in chunks of 2 positions
static void check_grad(uint32_t type, int T, int D, int V, ss_pool *pool) {
    uint64_t seed = rng_state;
    ss_slot_params cfg;
    ss_slot_params_default(&cfg);
    check_grad_mode(&cfg, type, T, D, V, pool);
    rng_state = seed;
    cfg.e_range = -1;
    check_grad_mode(&cfg, type, T, D, V, pool);
    cfg.e_range = 0;
    rng_state = seed;
    cfg.max_bytes = (size_t)V * 4 * 2;
    check_grad_mode(&cfg, type, T, D, V, pool);
}

static void test_grad_fd(void **st) {
    (void)st;
    check_grad(SS_TYPE_F32, 7, 16, 50, NULL);
    check_grad(SS_TYPE_F16, 7, 16, 50, NULL);
    check_grad(SS_TYPE_BF16, 7, 16, 50, NULL);
    check_grad(SS_TYPE_Q8_0, 7, 32, 50, NULL);
    check_grad(SS_TYPE_Q4_0, 5, 64, 37, NULL);
    check_grad(SS_TYPE_Q4_K, 6, 256, 41, NULL);
    check_grad(SS_TYPE_Q6_K, 4, 256, 23, NULL);
    // odd sizes (kernel tails): D not a multiple of 8, V not a multiple of the row block
    check_grad(SS_TYPE_F32, 3, 13, 11, NULL);
    ss_pool *pool = ss_pool_new(3);
    check_grad(SS_TYPE_F32, 9, 24, 67, pool);
    check_grad(SS_TYPE_Q8_0, 2, 32, 5, pool);       // fewer vocab rows per thread than the row block
    ss_pool_free(pool);
}

// rows longer than the z product's k-block (SLOT_KC = 1024 values: partial sums added across
// blocks), in the three modes: loss and gradient vs the float64 reference
static void test_long_rows(void **st) {
    (void)st;
    const uint32_t types[2] = { SS_TYPE_F32, SS_TYPE_Q8_0 };
    const int dims[2] = { 1100, 2080 };
    for (int c = 0; c < 2; c++) {
        const int T = 6, D = dims[c], V = 29;
        problem p = make_problem(T, D, V, types[c], 1.0, 0.05);
        float *df = malloc(sizeof(float) * D), *g = malloc(sizeof(float) * D);
        double *dd = malloc(sizeof(double) * D), *gref = malloc(sizeof(double) * D);
        for (int d = 0; d < D; d++) { df[d] = (float)(0.05 * rnd()); dd[d] = df[d]; }
        double lref = ref_loss_grad(&p, NULL, dd, gref), gmax = 0;
        for (int d = 0; d < D; d++) gmax = fmax(gmax, fabs(gref[d]));
        for (int mode = 0; mode < 3; mode++) {
            ss_slot_params cfg;
            ss_slot_params_default(&cfg);
            if (mode == 1) cfg.e_range = -1;
            if (mode == 2) cfg.max_bytes = (size_t)V * 4 * 2;
            double loss = ss_slot_loss_grad(&cfg, NULL, p.H, T, D, p.tok, NULL, &p.W, df, g);
            assert_true(rel(loss, lref) < 1e-5);
            for (int d = 0; d < D; d++) assert_true(fabs(g[d] - gref[d]) < 1e-5 * gmax);
        }
        free(df); free(g); free(dd); free(gref);
        free_problem(&p);
    }
}

// ---------------------------------------------------------------- AdamW vs float64 reference

static void test_adamw_vs_ref(void **st) {
    (void)st;
    problem p = make_problem(9, 32, 60, SS_TYPE_Q8_0, 1.0, 0.5);
    ss_slot_params prm;
    ss_slot_params_default(&prm);
    assert_int_equal(prm.steps, 3);
    prm.steps = 6;
    float lb[6], delta[32];
    double rlb[6], rla, rdelta[32];
    ss_slot_result res = { .loss_before = lb };
    char err[256] = "";
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
    ref_adamw(&p, NULL, 6, 0.1, rdelta, rlb, &rla);
    for (int k = 0; k < 6; k++) assert_true(rel(lb[k], rlb[k]) < 1e-5);
    assert_true(rel(res.loss_after, rla) < 1e-5);
    assert_true(rla < rlb[0]);                 // it does optimize
    double dmax = 0;
    for (int d = 0; d < 32; d++) dmax = fmax(dmax, fabs(rdelta[d]));
    for (int d = 0; d < 32; d++) assert_true(fabs(delta[d] - rdelta[d]) <= 1e-5 * dmax);
    assert_true(res.peak_bytes > 0);
    assert_true(res.seconds >= 0);
    // without the loss at the final delta: the same steps bit for bit, loss_after NAN
    assert_false(prm.no_loss_after);
    float lb2[6], delta2[32];
    ss_slot_result res2 = { .loss_before = lb2 };
    prm.no_loss_after = true;
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta2, &res2, err, sizeof err), 0);
    prm.no_loss_after = false;
    assert_memory_equal(lb2, lb, sizeof lb);
    assert_memory_equal(delta2, delta, sizeof delta);
    assert_true(isnan(res2.loss_after));
    // with a workspace (the stored logits kept between runs): the same results bit for bit, on the
    // first run (workspace grown), on a second run (reused, holding the first run's values), and
    // after a larger problem grew it
    ss_slot_ws ws = { 0 };
    prm.ws = &ws;
    for (int rep = 0; rep < 2; rep++) {
        float lb3[6], delta3[32];
        ss_slot_result res3 = { .loss_before = lb3 };
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta3, &res3, err, sizeof err), 0);
        assert_memory_equal(lb3, lb, sizeof lb);
        assert_memory_equal(delta3, delta, sizeof delta);
        assert_true(res3.loss_after == res.loss_after);
        assert_true(res3.peak_bytes == res.peak_bytes);
        assert_non_null(ws.buf);
        assert_true(ws.bytes > 0);
    }
    problem big = make_problem(13, 32, 200, SS_TYPE_Q8_0, 1.0, 0.5);
    float lbb[6], deltab[32];
    ss_slot_result resb = { .loss_before = lbb };
    size_t small_bytes = ws.bytes;
    assert_int_equal(ss_slot_optimize(&prm, NULL, big.H, big.T, big.D, big.tok, NULL, &big.W, deltab, &resb, err, sizeof err), 0);
    assert_true(ws.bytes > small_bytes);
    free_problem(&big);
    float lb4[6], delta4[32];
    ss_slot_result res4 = { .loss_before = lb4 };
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta4, &res4, err, sizeof err), 0);
    assert_memory_equal(lb4, lb, sizeof lb);
    assert_memory_equal(delta4, delta, sizeof delta);
    ss_slot_ws_free(&ws);
    assert_null(ws.buf);
    prm.ws = NULL;
    // other hyper-parameters, with a weight decay large enough to matter
    ss_slot_params q = { .steps = 5, .lr = 0.3f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-3f, .wd = 0.5f };
    assert_int_equal(ss_slot_optimize(&q, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
    double rlb5[5];
    ref_adamw_p(&p, NULL, &q, rdelta, rlb5, &rla);
    for (int k = 0; k < 5; k++) assert_true(rel(lb[k], rlb5[k]) < 1e-5);
    assert_true(rel(res.loss_after, rla) < 1e-5);
    dmax = 0;
    for (int d = 0; d < 32; d++) dmax = fmax(dmax, fabs(rdelta[d]));
    for (int d = 0; d < 32; d++) assert_true(fabs(delta[d] - rdelta[d]) <= 1e-5 * dmax);
    free_problem(&p);
}

// ---------------------------------------------------------------- mask

static void test_mask(void **st) {
    (void)st;
    problem p = make_problem(8, 16, 40, SS_TYPE_F32, 1.0, 0.5);
    float df[16], g[16], g2[16];
    double dd[16], gref[16];
    for (int d = 0; d < 16; d++) { df[d] = (float)(0.2 * rnd()); dd[d] = df[d]; }
    uint8_t mask[8] = { 0, 1, 0, 1, 1, 0, 0, 1 };   // mask[7] (last token) has no target: ignored
    ss_slot_params dp;
    ss_slot_params_default(&dp);
    double loss = ss_slot_loss_grad(&dp, NULL, p.H, 8, 16, p.tok, mask, &p.W, df, g);
    // the loss written out directly over positions {1, 3, 4}
    double direct = 0;
    const int sel[3] = { 1, 3, 4 };
    for (int k = 0; k < 3; k++) {
        int t = sel[k];
        double l[40], mx = -INFINITY, se = 0;
        for (int v = 0; v < 40; v++) {
            l[v] = 0;
            for (int d = 0; d < 16; d++) l[v] += ((double)p.H[t * 16 + d] + dd[d]) * p.Wd[v * 16 + d];
            mx = fmax(mx, l[v]);
        }
        for (int v = 0; v < 40; v++) se += exp(l[v] - mx);
        direct += mx + log(se) - l[p.tok[t + 1]];
    }
    direct /= 3;
    assert_true(rel(loss, direct) < 1e-5);
    ref_loss_grad(&p, mask, dd, gref);
    for (int d = 0; d < 16; d++) assert_true(fabs(g[d] - gref[d]) < 1e-5);
    // differs from the unmasked loss; mask of all ones equals no mask
    double full = ss_slot_loss_grad(&dp, NULL, p.H, 8, 16, p.tok, NULL, &p.W, df, g);
    assert_true(fabs(full - loss) > 1e-3);
    uint8_t ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    double full2 = ss_slot_loss_grad(&dp, NULL, p.H, 8, 16, p.tok, ones, &p.W, df, g2);
    assert_true(full2 == full);
    for (int d = 0; d < 16; d++) assert_true(g[d] == g2[d]);
    // a masked-out position's target may be anything (it is not read)
    p.tok[3] = 1000000;   // target of position 2 (masked out)
    assert_true(rel(ss_slot_loss_grad(&dp, NULL, p.H, 8, 16, p.tok, mask, &p.W, df, NULL), direct) < 1e-5);
    // optimize with a mask vs the float64 reference on that subset
    ss_slot_params prm;
    ss_slot_params_default(&prm);
    float lb[3], delta[16];
    double rlb[3], rla, rdelta[16];
    ss_slot_result res = { .loss_before = lb };
    char err[256] = "";
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, 8, 16, p.tok, mask, &p.W, delta, &res, err, sizeof err), 0);
    ref_adamw(&p, mask, 3, 0.1, rdelta, rlb, &rla);
    for (int k = 0; k < 3; k++) assert_true(rel(lb[k], rlb[k]) < 1e-5);
    assert_true(rel(res.loss_after, rla) < 1e-5);
    for (int d = 0; d < 16; d++) assert_true(fabs(delta[d] - rdelta[d]) < 1e-5);
    free_problem(&p);
}

// ---------------------------------------------------------------- chunked / threads / scalar

typedef struct { float lb[4], la, delta[64]; size_t peak; } run_out;

static run_out run_opt(const problem *p, ss_pool *pool, const ss_slot_params *cfg) {
    ss_slot_params prm = *cfg;
    prm.steps = 4;
    run_out o;
    memset(&o, 0, sizeof o);                 // delta[D..63] compare equal
    ss_slot_result res = { .loss_before = o.lb };
    char err[256] = "";
    assert_int_equal(ss_slot_optimize(&prm, pool, p->H, p->T, p->D, p->tok, NULL, &p->W, o.delta, &res, err, sizeof err), 0);
    o.la = res.loss_after;
    o.peak = res.peak_bytes;
    return o;
}

static void assert_runs_close(const run_out *a, const run_out *b, int D, double tol) {
    for (int k = 0; k < 4; k++) assert_true(rel(a->lb[k], b->lb[k]) < tol);
    assert_true(rel(a->la, b->la) < tol);
    for (int d = 0; d < D; d++) assert_true(fabs(a->delta[d] - b->delta[d]) < tol);
}

static void assert_runs_equal(const run_out *a, const run_out *b) {
    assert_memory_equal(a->lb, b->lb, sizeof a->lb);
    assert_true(a->la == b->la);
    assert_memory_equal(a->delta, b->delta, sizeof a->delta);
}

static void test_chunked(void **st) {
    (void)st;
    problem p = make_problem(11, 64, 300, SS_TYPE_Q4_0, 1.0, 0.5);
    ss_slot_params cfg;
    ss_slot_params_default(&cfg);
    run_out full = run_opt(&p, NULL, &cfg);   // E of the 10 positions
    cfg.e_range = -1;
    run_out zk = run_opt(&p, NULL, &cfg);     // z of the 10 positions, kept
    cfg.e_range = 0;
    cfg.max_bytes = 300 * 4 * 3;              // z for 3 positions at a time: chunks 3,3,3,1
    run_out c3 = run_opt(&p, NULL, &cfg);
    cfg.max_bytes = 1;                        // smaller than one position: chunks of 1
    run_out c1 = run_opt(&p, NULL, &cfg);
    ss_pool *pool = ss_pool_new(2);
    run_out c1t = run_opt(&p, pool, &cfg);
    cfg.max_bytes = 0;                        // default again
    run_out full2 = run_opt(&p, NULL, &cfg);
    ss_pool_free(pool);
    // chunks do the same operations on every logit, in the same order, as z kept whole
    assert_runs_equal(&c3, &zk);
    assert_runs_equal(&c1, &zk);
    assert_runs_equal(&c1t, &zk);
    // E and z: the same math, rounded differently
    assert_runs_close(&zk, &full, 64, 1e-6);
    assert_runs_equal(&full2, &full);
    assert_true(full2.peak == full.peak);
    // the bound is honoured: the stored logits shrink from 3 positions to 1 (same packing of
    // 16 positions either way), and z kept whole needs 7 more positions than chunks of 3
    assert_int_equal(c3.peak - c1.peak, (size_t)(3 - 1) * 300 * 4);
    assert_int_equal(zk.peak - c3.peak, (size_t)(10 - 3) * 300 * 4);
    // E needs no row buffer for the logits of one position
    assert_int_equal(zk.peak - full.peak, (size_t)300 * 4);
    free_problem(&p);
}

static void test_threads_and_scalar(void **st) {
    (void)st;
    problem p = make_problem(13, 40, 250, SS_TYPE_F32, 1.0, 0.5);
    ss_pool *pool = ss_pool_new(4);
    // E, z kept, z in chunks of 5 positions: 1 thread vs 4 bit for bit (fixed work items,
    // fixed reduction order); scalar kernels close
    for (int mode = 0; mode < 3; mode++) {
        ss_slot_params cfg;
        ss_slot_params_default(&cfg);
        if (mode == 1) cfg.e_range = -1;
        if (mode == 2) cfg.max_bytes = 250 * 4 * 5;
        run_out one = run_opt(&p, NULL, &cfg);
        run_out four = run_opt(&p, pool, &cfg);
        cfg.kern = ss_kernels_get(true);      // the scalar kernels
        run_out scal = run_opt(&p, pool, &cfg);
        run_out scal1 = run_opt(&p, NULL, &cfg);
        assert_runs_equal(&four, &one);
        assert_runs_equal(&scal, &scal1);
        assert_runs_close(&scal, &one, 40, 1e-5);
    }
    ss_pool_free(pool);
    free_problem(&p);
}

// E given up for z when u = W·delta spreads beyond the range: forced at the first step with
// delta != 0, and by itself with a large learning rate (u spreads over ~100)
static void test_e_fallback(void **st) {
    (void)st;
    problem p = make_problem(9, 32, 60, SS_TYPE_Q8_0, 1.0, 0.5);
    ss_slot_params prm;
    ss_slot_params_default(&prm);
    prm.steps = 4;
    float lb[4], delta[32];
    double rlb[4], rla, rdelta[32];
    ss_slot_result res = { .loss_before = lb };
    char err[256] = "";
    ref_adamw_p(&p, NULL, &prm, rdelta, rlb, &rla);
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
    const size_t peak_e = res.peak_bytes;
    prm.e_range = 1e-30f;
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
    prm.e_range = 0;
    assert_int_equal(res.peak_bytes, peak_e + 60 * sizeof(float));   // z path: a row buffer for the logits
    for (int k = 0; k < 4; k++) assert_true(rel(lb[k], rlb[k]) < 1e-5);
    assert_true(rel(res.loss_after, rla) < 1e-5);
    for (int d = 0; d < 32; d++) assert_true(fabs(delta[d] - rdelta[d]) < 1e-5);
    // lr 8: after 3 steps |delta_d| ~ 24, u = W·delta spans ~100
    prm.lr = 8;
    ref_adamw_p(&p, NULL, &prm, rdelta, rlb, &rla);
    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
    assert_int_equal(res.peak_bytes, peak_e + 60 * sizeof(float));   // it did go to z
    double umin = INFINITY, umax = -INFINITY;
    for (int v = 0; v < p.V; v++) {
        double u = 0;
        for (int d = 0; d < 32; d++) u += p.Wd[v * 32 + d] * rdelta[d];
        umin = fmin(umin, u); umax = fmax(umax, u);
    }
    assert_true(umax - umin > 2 * SS_SLOT_E_RANGE);
    for (int k = 0; k < 4; k++) assert_true(rel(lb[k], rlb[k]) < 1e-5);
    assert_true(rel(res.loss_after, rla) < 1e-5);
    for (int d = 0; d < 32; d++) assert_true(fabs(delta[d] - rdelta[d]) < 1e-5 * 32);
    free_problem(&p);
}

// ---------------------------------------------------------------- kernels vs double
// (each kernel table: the scalar definitions, and the AVX2 twins where the build and CPU have them)

static void check_kernels(const ss_kernels *kt) {
    enum { N = 4099 };   // not a multiple of 8: tails
    float *e = malloc(sizeof(float) * N), *z = malloc(sizeof(float) * N), *u = malloc(sizeof(float) * N);
    double *q = malloc(sizeof(double) * N);
    // exp over [-100, 0] (the kernel's domain: x - max), every ulp-ish step near 0 and the cut-off
    double worst = 0, sum = 0;
    for (int i = 0; i < N; i++) {
        z[i] = (float)(-100.0 * i / (N - 1));
        if (i < 64) z[i] = -(float)i * 1e-7f;
        e[i] = z[i] + 3.0f;
    }
    double s = kt->slot_exp_sum(e, 3.0f, N);
    for (int i = 0; i < N; i++) {
        double ref = exp((double)z[i]);
        sum += ref;
        if (z[i] > -87) worst = fmax(worst, fabs(e[i] - ref) / ref);
        else assert_true(e[i] >= 0 && e[i] <= 2e-38);
    }
    assert_true(worst < 4e-7);             // ~3 float ulps
    assert_true(rel(s, sum) < 1e-7);
    // l = z + u and its max
    for (int i = 0; i < N; i++) { z[i] = (float)(10 * rnd()); u[i] = (float)rnd(); }
    z[N - 1] = 50;                         // the max in the scalar tail
    float m = kt->slot_add_max(z, u, e, N);
    for (int i = 0; i < N; i++) assert_true(e[i] == z[i] + u[i]);
    assert_true(m == z[N - 1] + u[N - 1]);
    // q += a e
    for (int i = 0; i < N; i++) q[i] = i;
    kt->slot_axpy(q, 0.25, u, N);
    for (int i = 0; i < N; i++) assert_true(fabs(q[i] - (i + 0.25 * (double)u[i])) < 1e-12 * (i + 1));
    // dots of 7 rows (4 + 3) with n = 37 (tails), stride 41
    float w[7 * 41], out[7];
    for (int i = 0; i < 7 * 41; i++) w[i] = (float)rnd();
    kt->slot_dot_rows(u, w, 41, 7, 37, out);
    for (int r = 0; r < 7; r++) {
        double ref = 0, mag = 0;
        for (int i = 0; i < 37; i++) { ref += (double)u[i] * w[r * 41 + i]; mag += fabs((double)u[i] * w[r * 41 + i]); }
        assert_true(fabs(out[r] - ref) < 1e-6 * mag);
    }
    // sum x*y with double sums
    double dref = 0, dmag = 0;
    for (int i = 0; i < N; i++) { dref += (double)z[i] * u[i]; dmag += fabs((double)z[i] * u[i]); }
    assert_true(fabs(kt->slot_dot_f64(z, u, N) - dref) < 1e-7 * dmag);
    // q += a exp(z + u - m), m = max(z + u) (the tail holds the maximum)
    for (int i = 0; i < N; i++) q[i] = 0.5 * i;
    float mzu = kt->slot_add_max(z, u, e, N);
    kt->slot_exp_axpy(q, 0.75, z, u, mzu, N);
    for (int i = 0; i < N; i++) {
        double ref = 0.5 * i + 0.75 * exp((double)(z[i] + u[i]) - mzu);
        assert_true(fabs(q[i] - ref) < 4e-7 * 0.75 * exp((double)(z[i] + u[i]) - mzu) + 1e-12 * (i + 1));
    }
    free(e); free(z); free(u); free(q);

    // z tile: 16 positions (or <= 8: the half kernel) × 6 rows, kc = 37, into a strided z, with
    // and without accumulation; only nt × nv entries are written
    enum { KC = 37, LDW = 41, LDZ = 23 };
    float hp[KC * 16], w6[6 * LDW], zt[16 * LDZ], z0[16 * LDZ];
    for (int i = 0; i < KC * 16; i++) hp[i] = (float)rnd();
    for (int i = 0; i < 6 * LDW; i++) w6[i] = (float)rnd();
    const int shapes[4][2] = { { 16, 6 }, { 11, 4 }, { 8, 6 }, { 3, 1 } };
    for (int sh = 0; sh < 4; sh++) {
        for (int acc = 0; acc < 2; acc++) {
            int nt = shapes[sh][0], nv = shapes[sh][1];
            for (int i = 0; i < 16 * LDZ; i++) zt[i] = z0[i] = (float)rnd();
            kt->slot_gemm(hp, w6, LDW, KC, zt, LDZ, nt, nv, acc);
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < LDZ; j++) {
                    if (i >= nt || j >= nv) { assert_true(zt[i * LDZ + j] == z0[i * LDZ + j]); continue; }
                    double ref = acc ? z0[i * LDZ + j] : 0, mag = fabs(ref);
                    for (int k = 0; k < KC; k++) {
                        ref += (double)hp[16 * k + i] * w6[j * LDW + k];
                        mag += fabs((double)hp[16 * k + i] * w6[j * LDW + k]);
                    }
                    assert_true(fabs(zt[i * LDZ + j] - ref) < 2e-6 * mag);
                }
        }
    }
    // g += sum_j r_j w_j over n = 101 (64 + 4×8 + 5: every loop of the kernel), 1, 5 and 16 rows of
    // stride 107 (f32 sum over j, added to the double g, which keeps its own digits)
    enum { NG = 101, LDG = 107 };
    float w16[16 * LDG], r16[16];
    for (int i = 0; i < 16 * LDG; i++) w16[i] = (float)rnd();
    for (int j = 0; j < 16; j++) r16[j] = (float)(rnd() * 1e-3);
    const int nrs[3] = { 1, 5, 16 };
    for (int c = 0; c < 3; c++) {
        double g[NG], g0[NG];
        for (int d = 0; d < NG; d++) g[d] = g0[d] = 1e3 * rnd();
        kt->slot_gacc(g, r16, w16, LDG, nrs[c], NG);
        for (int d = 0; d < NG; d++) {
            double ref = 0, mag = 0;
            for (int j = 0; j < nrs[c]; j++) {
                ref += (double)r16[j] * w16[j * LDG + d];
                mag += fabs((double)r16[j] * w16[j * LDG + d]);
            }
            assert_true(fabs((g[d] - g0[d]) - ref) < 1e-6 * mag + 1e-13 * fabs(g0[d]));
        }
    }
    // the Q8_0 twins on 7 rows (4 + 3) of 96 values, against the dequantized rows in double
    enum { NQ = 96 };
    const size_t qrb = ss_row_size(SS_TYPE_Q8_0, NQ);
    uint8_t *q8 = malloc(qrb * 7);
    float xq[NQ], wq[7 * NQ], outq[7];
    for (int j = 0; j < 7; j++) {
        for (int k = 0; k < NQ; k++) xq[k] = (float)(3 * rnd());
        ss_quant_row(SS_TYPE_Q8_0, xq, q8 + j * qrb, NQ);
        ss_dequant_row(SS_TYPE_Q8_0, q8 + j * qrb, wq + j * NQ, NQ);
    }
    for (int k = 0; k < NQ; k++) xq[k] = (float)rnd();
    if (!kt->slot_dot_q8_0) { free(q8); return; }   // (SIMD only: the scalar path dequantizes)
    kt->slot_dot_q8_0(xq, q8, qrb, 7, NQ, outq);
    for (int j = 0; j < 7; j++) {
        double ref = 0, mag = 0;
        for (int k = 0; k < NQ; k++) { ref += (double)xq[k] * wq[j * NQ + k]; mag += fabs((double)xq[k] * wq[j * NQ + k]); }
        assert_true(fabs(outq[j] - ref) < 1e-6 * mag);
    }
    for (int c = 1; c <= 7; c += 6) {
        double gq[NQ], gq0[NQ];
        for (int k = 0; k < NQ; k++) gq[k] = gq0[k] = rnd();
        kt->slot_gacc_q8_0(gq, r16, q8, qrb, c, NQ);
        for (int k = 0; k < NQ; k++) {
            double ref = 0, mag = 0;
            for (int j = 0; j < c; j++) { ref += (double)r16[j] * wq[j * NQ + k]; mag += fabs((double)r16[j] * wq[j * NQ + k]); }
            assert_true(fabs((gq[k] - gq0[k]) - ref) < 1e-6 * mag + 1e-15);
        }
    }
    free(q8);
}

static void test_kernels(void **st) {
    (void)st;
    check_kernels(ss_kernels_get(true));
    if (ss_kernels_get(false)->simd) check_kernels(ss_kernels_get(false));
    else fprintf(stderr, "note: no AVX2 kernels in this build or CPU: scalar kernels only\n");
}

// ---------------------------------------------------------------- bad input

static void test_bad_input(void **st) {
    (void)st;
    problem p = make_problem(5, 16, 20, SS_TYPE_F32, 1.0, 0.5);
    ss_slot_params prm;
    ss_slot_params_default(&prm);
    float lb[3], delta[16];
    ss_slot_result res = { .loss_before = lb };
    char err[256];
    uint8_t zero[5] = { 0 };
    uint8_t last_only[5] = { 0, 0, 0, 0, 1 };   // position T-1 has no target
#define EXPECT_FAIL(call, word) do { err[0] = 0; assert_int_equal((call), -1); \
        assert_non_null(strstr(err, word)); } while (0)
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 1, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "2 tokens");
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 0, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "2 tokens");
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, p.tok, zero, &p.W, delta, &res, err, sizeof err), "mask");
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, p.tok, last_only, &p.W, delta, &res, err, sizeof err), "mask");
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 8, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "hidden size");
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, NULL, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "NULL");
    EXPECT_FAIL(ss_slot_optimize(NULL, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "NULL");
    int32_t tok[5] = { 1, 2, 20, 3, 4 };
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, tok, NULL, &p.W, delta, &res, err, sizeof err), "vocabulary");
    tok[2] = -1;
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, tok, NULL, &p.W, delta, &res, err, sizeof err), "vocabulary");
    ss_weight bad = p.W;
    bad.type = 4;   // an id we do not support
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, p.tok, NULL, &bad, delta, &res, err, sizeof err), "type");
    bad = p.W;
    bad.row_bytes = 7;
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, p.tok, NULL, &bad, delta, &res, err, sizeof err), "row_bytes");
    ss_slot_params bp = prm;
    bp.steps = -1;
    EXPECT_FAIL(ss_slot_optimize(&bp, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "steps");
    bp = prm;
    bp.beta2 = 1.0f;
    EXPECT_FAIL(ss_slot_optimize(&bp, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "AdamW");
    bp = prm;
    bp.lr = NAN;
    EXPECT_FAIL(ss_slot_optimize(&bp, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "AdamW");
    // non-finite hidden state: an error, not a NaN delta
    float keep = p.H[3];
    p.H[3] = NAN;
    EXPECT_FAIL(ss_slot_optimize(&prm, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &res, err, sizeof err), "loss");
    p.H[3] = keep;
    assert_true(isnan(ss_slot_loss_grad(&prm, NULL, p.H, 1, 16, p.tok, NULL, &p.W, NULL, NULL)));
    assert_true(isnan(ss_slot_loss_grad(&prm, NULL, p.H, 5, 16, p.tok, zero, &p.W, NULL, NULL)));
    // steps = 0: just the loss at delta = 0; loss_before may be NULL
    bp = prm;
    bp.steps = 0;
    ss_slot_result r0 = { 0 };
    assert_int_equal(ss_slot_optimize(&bp, NULL, p.H, 5, 16, p.tok, NULL, &p.W, delta, &r0, err, sizeof err), 0);
    double z[16] = { 0 };
    assert_true(rel(r0.loss_after, ref_loss_grad(&p, NULL, z, NULL)) < 1e-6);
    for (int d = 0; d < 16; d++) assert_true(delta[d] == 0);
    free_problem(&p);
}

// ---------------------------------------------------------------- golden files

static cJSON *load_json(const char *path) {
    char err[512];
    char *txt = ss_read_file(path, NULL, err, sizeof err);
    if (!txt) { fprintf(stderr, "%s\n", err); return NULL; }
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    if (!j) fprintf(stderr, "%s: JSON parse error\n", path);
    return j;
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(x);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static const cJSON *jarr(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(x);
    assert_true(cJSON_IsArray(x));
    return x;
}

// open ../shared/models/MODEL.gguf or ../shared/testbed/MODEL.gguf; W = output.weight or token_embd.weight
static ss_gguf *open_lm_head(const char *model, ss_weight *W) {
    const char *dirs[2] = { "../shared/models", "../shared/testbed" };
    char path[512], err[512];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.gguf", dirs[i], model);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fclose(f);
        ss_gguf *g = NULL;
        if (ss_gguf_open(&g, path, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); return NULL; }
        const ss_gguf_tensor *t = ss_gguf_find_tensor(g, "output.weight");
        if (!t) t = ss_gguf_find_tensor(g, "token_embd.weight");
        assert_non_null(t);
        *W = (ss_weight){ .type = t->type, .rows = t->ne[1], .cols = t->ne[0], .data = t->data,
                          .row_bytes = ss_row_size(t->type, t->ne[0]) };
        return g;
    }
    fprintf(stderr, "model %s not found\n", model);
    return NULL;
}

static void check_golden(const char *dir, const char *name, ss_pool *pool, const ss_slot_params *cfg) {
    char path[1024], base[512], model[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    // MODEL.PROMPT.slot_sS_lrLR.json -> MODEL.PROMPT.json, MODEL
    const char *sl = strstr(name, ".slot_s");
    assert_non_null(sl);
    snprintf(base, sizeof base, "%s/%.*s.json", dir, (int)(sl - name), name);
    const char *dot = strchr(name, '.');
    snprintf(model, sizeof model, "%.*s", (int)(dot - name), name);

    cJSON *js = load_json(path), *jb = load_json(base);
    assert_non_null(js);
    assert_non_null(jb);
    ss_weight W;
    ss_gguf *g = open_lm_head(model, &W);
    assert_non_null(g);

    const int D = (int)jnum(jb, "n_embd");
    assert_int_equal((int64_t)D, W.cols);
    assert_int_equal((int64_t)jnum(jb, "n_vocab"), W.rows);
    const cJSON *jt = jarr(jb, "prompt_tokens"), *jh = jarr(jb, "hidden"), *it, *it2;
    const int T = cJSON_GetArraySize(jt);
    assert_int_equal(cJSON_GetArraySize(jh), T);
    int32_t *tok = malloc(sizeof(int32_t) * T);
    float *H = malloc(sizeof(float) * T * D);
    int t = 0;
    cJSON_ArrayForEach(it, jt) tok[t++] = (int32_t)it->valuedouble;
    t = 0;
    cJSON_ArrayForEach(it, jh) {
        assert_int_equal(cJSON_GetArraySize(it), D);
        int d = 0;
        cJSON_ArrayForEach(it2, it) H[(size_t)t * D + d++] = (float)it2->valuedouble;
        t++;
    }

    ss_slot_params prm = *cfg;
    prm.steps = (int)jnum(js, "steps");
    prm.lr = (float)jnum(js, "lr");
    const cJSON *jbetas = jarr(js, "betas");
    prm.beta1 = (float)cJSON_GetArrayItem(jbetas, 0)->valuedouble;
    prm.beta2 = (float)cJSON_GetArrayItem(jbetas, 1)->valuedouble;
    prm.eps = (float)jnum(js, "eps");
    prm.wd = (float)jnum(js, "weight_decay");
    float *lb = malloc(sizeof(float) * prm.steps), *delta = malloc(sizeof(float) * D);
    ss_slot_result res = { .loss_before = lb };
    char err[512] = "";
    int rc = ss_slot_optimize(&prm, pool, H, T, D, tok, NULL, &W, delta, &res, err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", name, err);
    assert_int_equal(rc, 0);

    // losses: 1e-4 relative
    const cJSON *jl = jarr(js, "loss_before_each_step");
    assert_int_equal(cJSON_GetArraySize(jl), prm.steps);
    double worst_loss = 0;
    int k = 0;
    cJSON_ArrayForEach(it, jl) worst_loss = fmax(worst_loss, rel(lb[k++], it->valuedouble));
    worst_loss = fmax(worst_loss, rel(res.loss_after, jnum(js, "loss_after")));
    // delta: per element within 1e-4 of max |delta|
    const cJSON *jd = jarr(js, "delta");
    assert_int_equal(cJSON_GetArraySize(jd), D);
    double dmax = 0, derr = 0;
    cJSON_ArrayForEach(it, jd) dmax = fmax(dmax, fabs(it->valuedouble));
    int d = 0;
    cJSON_ArrayForEach(it, jd) { derr = fmax(derr, fabs(delta[d] - it->valuedouble)); d++; }
    // last position's top-k with delta: logits (h_{T-1} + delta) · W^T in double from the dequantized rows
    const cJSON *jk = jarr(js, "last_position_topk_with_delta");
    const int K = cJSON_GetArraySize(jk);
    int32_t *ref_id = malloc(sizeof(int32_t) * K);
    double *ref_l = malloc(sizeof(double) * K);
    k = 0;
    cJSON_ArrayForEach(it, jk) {
        ref_id[k] = (int32_t)cJSON_GetArrayItem(it, 0)->valuedouble;
        ref_l[k] = cJSON_GetArrayItem(it, 1)->valuedouble;
        k++;
    }
    float *row = malloc(sizeof(float) * D);
    double *x = malloc(sizeof(double) * D);
    for (d = 0; d < D; d++) x[d] = (double)H[(size_t)(T - 1) * D + d] + delta[d];
    int32_t *top_id = malloc(sizeof(int32_t) * K);
    double *top_l = malloc(sizeof(double) * K);
    for (k = 0; k < K; k++) { top_id[k] = -1; top_l[k] = -INFINITY; }
    for (int64_t v = 0; v < W.rows; v++) {
        ss_dequant_row(W.type, (const char *)W.data + v * W.row_bytes, row, D);
        double s = 0;
        for (d = 0; d < D; d++) s += x[d] * row[d];
        if (s <= top_l[K - 1]) continue;
        int j = K - 1;
        while (j > 0 && top_l[j - 1] < s) { top_l[j] = top_l[j - 1]; top_id[j] = top_id[j - 1]; j--; }
        top_l[j] = s; top_id[j] = (int32_t)v;
    }
    double worst_topk = 0;
    for (k = 0; k < K; k++) {
        worst_topk = fmax(worst_topk, fabs(top_l[k] - ref_l[k]) / fmax(fabs(ref_l[k]), 1.0));
        if (top_id[k] != ref_id[k]) {
            // allowed only between two reference entries that are tied to 1e-4
            int ok = (k > 0 && top_id[k] == ref_id[k - 1] && fabs(ref_l[k] - ref_l[k - 1]) < 1e-4) ||
                     (k + 1 < K && top_id[k] == ref_id[k + 1] && fabs(ref_l[k] - ref_l[k + 1]) < 1e-4);
            if (!ok) fprintf(stderr, "%s: top-%d id %d, reference %d\n", name, k, top_id[k], ref_id[k]);
            assert_true(ok);
        }
    }
    fprintf(stderr, "  %-55s %s T=%d V=%lld: loss rel %.2g, delta %.2g of max %.3g, top-%d rel %.2g, %.2fs, %.1f MB\n",
            name, ss_type_name(W.type), T, (long long)W.rows, worst_loss, derr / dmax, dmax, K, worst_topk,
            res.seconds, res.peak_bytes / 1e6);
    assert_true(worst_loss < 1e-4);
    assert_true(derr <= 1e-4 * dmax);
    assert_true(worst_topk < 1e-3);

    free(row); free(x); free(top_id); free(top_l); free(ref_id); free(ref_l);
    free(lb); free(delta); free(tok); free(H);
    ss_gguf_close(g);
    cJSON_Delete(js);
    cJSON_Delete(jb);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_golden(void **st) {
    (void)st;
    const char *dir = "../shared/golden";
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < 256)
        if (strstr(e->d_name, ".slot_s") && strstr(e->d_name, ".json")) names[n++] = strdup(e->d_name);
    closedir(dp);
    qsort(names, n, sizeof *names, cmp_str);
    assert_true(n >= 6);
    ss_pool *pool = ss_pool_new(2);
    ss_slot_params cfg;
    ss_slot_params_default(&cfg);
    for (int i = 0; i < n; i++) check_golden(dir, names[i], pool, &cfg);
    // the scalar kernels on the small-vocabulary files
    cfg.kern = ss_kernels_get(true);
    for (int i = 0; i < n; i++)
        if (strncmp(names[i], "stories260K", 11) == 0 || strncmp(names[i], "tinymath", 8) == 0)
            check_golden(dir, names[i], pool, &cfg);
    cfg.kern = ss_kernels_get(false);
    // z kept instead of E
    cfg.e_range = -1;
    for (int i = 0; i < n; i++) check_golden(dir, names[i], pool, &cfg);
    ss_pool_free(pool);
    for (int i = 0; i < n; i++) free(names[i]);
}

// ---------------------------------------------------------------- trust region (safe SLOT)

// float64 reference: mean over positions 0..T-2 (masked) of KL(p_t || q_t), p_t = softmax(h_t W^T),
// q_t = softmax((h_t + delta) W^T), by its definition sum_v p log(p / q) (not the lse formula)
static double ref_kl(const problem *p, const uint8_t *mask, const double *delta) {
    int T = p->T, D = p->D, V = p->V, n = 0;
    double *z = malloc(sizeof(double) * V), *l = malloc(sizeof(double) * V), kl = 0;
    for (int t = 0; t + 1 < T; t++) {
        if (mask && !mask[t]) continue;
        n++;
        double mz = -INFINITY, ml = -INFINITY;
        for (int v = 0; v < V; v++) {
            double a = 0, b = 0;
            for (int d = 0; d < D; d++) {
                a += (double)p->H[t * D + d] * p->Wd[(size_t)v * D + d];
                b += ((double)p->H[t * D + d] + delta[d]) * p->Wd[(size_t)v * D + d];
            }
            z[v] = a; l[v] = b;
            if (a > mz) mz = a;
            if (b > ml) ml = b;
        }
        double sz = 0, sl = 0;
        for (int v = 0; v < V; v++) { sz += exp(z[v] - mz); sl += exp(l[v] - ml); }
        for (int v = 0; v < V; v++) {
            double lp = z[v] - mz - log(sz), lq = l[v] - ml - log(sl);
            kl += exp(lp) * (lp - lq);
        }
    }
    free(z); free(l);
    return kl / n;
}

// the KL of ss_slot_loss_kl (E, z kept, z in chunks, E given up for z; F32 and Q8_0 heads; 1 and 3
// threads) against the float64 definition, at small and large delta
static void test_kl_vs_ref(void **st) {
    (void)st;
    ss_pool *pool = ss_pool_new(3);
    for (int ty = 0; ty < 2; ty++) {
        problem p = make_problem(10, 64, 300, ty ? SS_TYPE_Q8_0 : SS_TYPE_F32, 1.0, 0.5);
        uint8_t mask[10] = { 1, 0, 1, 1, 0, 1, 1, 1, 0, 1 };
        float df[64];
        double dd[64];
        for (int sc = 0; sc < 3; sc++) {
            const double amp = sc == 0 ? 0.01 : sc == 1 ? 0.2 : 2.0;
            for (int d = 0; d < 64; d++) { df[d] = (float)(amp * rnd()); dd[d] = df[d]; }
            for (int mk = 0; mk < 2; mk++) {
                const uint8_t *m = mk ? mask : NULL;
                double ref = ref_kl(&p, m, dd);
                for (int mode = 0; mode < 4; mode++) {
                    ss_slot_params cfg;
                    ss_slot_params_default(&cfg);
                    if (mode == 1) cfg.e_range = -1;            // z kept
                    if (mode == 2) cfg.max_bytes = 300 * 4 * 3; // z in chunks of 3 positions
                    if (mode == 3) cfg.e_range = 1e-3f;         // E given up for z at this delta
                    for (int th = 0; th < 2; th++) {
                        double kl = -1;
                        double loss = ss_slot_loss_kl(&cfg, th ? pool : NULL, p.H, p.T, p.D, p.tok, m, &p.W, df, &kl);
                        assert_true(fabs(loss - ref_loss_grad(&p, m, dd, NULL)) < 1e-5 * fmax(1, fabs(loss)));
                        if (fabs(kl - ref) > 1e-6 + 1e-4 * ref)
                            fail_msg("type %d amp %g mask %d mode %d: KL %.9g, float64 %.9g", ty, amp, mk, mode, kl, ref);
                    }
                }
            }
        }
        // delta = 0: KL is 0
        double kl = -1;
        ss_slot_params cfg;
        ss_slot_params_default(&cfg);
        ss_slot_loss_kl(&cfg, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, NULL, &kl);
        assert_true(kl == 0);
        free_problem(&p);
    }
    ss_pool_free(pool);
    // the kernel: lse and softmax-weighted mean of u against float64 (tails of every length)
    for (int n = 1; n <= 37; n += 9) {
        float z[37], u[37];
        for (int i = 0; i < n; i++) { z[i] = (float)(8 * rnd()); u[i] = (float)rnd(); }
        double mz = -INFINITY, S = 0, P = 0, pu;
        for (int i = 0; i < n; i++) if (z[i] > mz) mz = z[i];
        for (int i = 0; i < n; i++) { S += exp(z[i] - mz); P += exp(z[i] - mz) * u[i]; }
        double lse = ss_slot_lse_dot_ref(z, u, n, &pu);
        assert_true(fabs(lse - (mz + log(S))) < 1e-6);
        assert_true(fabs(pu - P / S) < 1e-6);
    }
}

// float64 AdamW with the trust region by brute force: after each step, the KL at every candidate
// scale 1, 1/2, ..., 2^-SS_SLOT_MAX_BACKTRACK is computed, and the first within the bound is taken
// (0 if none); min_gain as documented. Returns the steps done.
static int ref_adamw_tr(const problem *p, const ss_slot_params *prm, double *delta, double *lb, double *kls,
                        double *scales) {
    const int D = p->D;
    const double lr = prm->lr, b1 = prm->beta1, b2 = prm->beta2, eps = prm->eps, wd = prm->wd;
    double *m = calloc(D, sizeof(double)), *v = calloc(D, sizeof(double)), *g = malloc(sizeof(double) * D);
    double *xa = malloc(sizeof(double) * D), *xs = malloc(sizeof(double) * D);
    memset(delta, 0, sizeof(double) * D);
    int k;
    double kl_prev = 0;
    for (k = 0; k < prm->steps; k++) {
        double loss = ref_loss_grad(p, NULL, delta, g);
        if (prm->min_gain > 0 && k > 0 && lb[k - 1] - loss < prm->min_gain * fabs(lb[k - 1])) break;
        lb[k] = loss;
        for (int d = 0; d < D; d++) {
            double x = delta[d] * (1 - lr * wd);
            m[d] = b1 * m[d] + (1 - b1) * g[d];
            v[d] = b2 * v[d] + (1 - b2) * g[d] * g[d];
            double mh = m[d] / (1 - pow(b1, k + 1)), vh = v[d] / (1 - pow(b2, k + 1));
            xa[d] = x - lr * mh / (sqrt(vh) + eps);
        }
        double kl_at[SS_SLOT_MAX_BACKTRACK + 1];
        for (int j = 0; j <= SS_SLOT_MAX_BACKTRACK; j++) {   // every candidate, no early exit
            const double sc = ldexp(1, -j);
            for (int d = 0; d < D; d++) xs[d] = j == 0 ? xa[d] : delta[d] + sc * (xa[d] - delta[d]);
            kl_at[j] = ref_kl(p, NULL, xs);
        }
        int jb = -1;
        for (int j = 0; j <= SS_SLOT_MAX_BACKTRACK && jb < 0; j++) if (kl_at[j] <= prm->kl_max) jb = j;
        scales[k] = jb < 0 ? 0 : ldexp(1, -jb);
        kls[k] = jb < 0 ? kl_prev : kl_at[jb];
        if (jb >= 0) for (int d = 0; d < D; d++) delta[d] = jb == 0 ? xa[d] : delta[d] + scales[k] * (xa[d] - delta[d]);
        kl_prev = kls[k];
    }
    free(m); free(v); free(g); free(xa); free(xs);
    return k;
}

// backtracking of ss_slot_optimize against the brute-force reference: same scales at every step,
// same delta, losses and KLs; min_gain stops at the same step
static void test_backtrack_vs_brute(void **st) {
    (void)st;
    int binding = 0, dropped = 0;
    for (int ty = 0; ty < 2; ty++) {
        problem p = make_problem(9, 64, 200, ty ? SS_TYPE_Q8_0 : SS_TYPE_F32, 1.0, 0.5);
        const float lrs[3] = { 0.05f, 0.5f, 3.0f }, kms[2] = { 0.02f, 0.2f }, gains[2] = { 0, 0.02f };
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 2; c++) {
                    ss_slot_params prm;
                    ss_slot_params_default(&prm);
                    prm.steps = 6; prm.lr = lrs[a]; prm.kl_max = kms[b]; prm.min_gain = gains[c];
                    float lb[6], kl[6], sc[6], delta[64];
                    double rlb[6], rkl[6], rsc[6], rd[64];
                    ss_slot_result res = { .loss_before = lb, .kl = kl, .scale = sc };
                    char err[256] = "";
                    assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
                    int rk = ref_adamw_tr(&p, &prm, rd, rlb, rkl, rsc);
                    assert_int_equal(res.steps_done, rk);
                    double dmax = 0;
                    for (int d = 0; d < 64; d++) dmax = fmax(dmax, fabs(rd[d]));
                    for (int k = 0; k < rk; k++) {
                        if (sc[k] != (float)rsc[k])
                            fail_msg("type %d lr %g kl_max %g step %d: scale %g, brute force %g", ty, lrs[a], kms[b], k, sc[k], rsc[k]);
                        binding += sc[k] < 1;
                        dropped += sc[k] == 0;
                        if (!(fabs(lb[k] - rlb[k]) < 1e-5 * fmax(1, fabs(rlb[k]))))
                            fail_msg("type %d lr %g kl_max %g gain %g step %d: loss %.9g, float64 %.9g (scale %g)", ty, lrs[a], kms[b], gains[c], k, lb[k], rlb[k], sc[k]);
                        assert_true(fabs(kl[k] - rkl[k]) < 1e-6 + 1e-4 * rkl[k]);
                        assert_true(kl[k] <= kms[b]);
                    }
                    for (int d = 0; d < 64; d++) assert_true(fabs(delta[d] - rd[d]) < 1e-5 * fmax(dmax, 1e-3));
                }
        free_problem(&p);
    }
    assert_true(binding > 10);   // the cases exercise the trust region (and the brute force's choice)
    (void)dropped;
}

// the trust region never exceeded: reported KLs and the float64 KL at the final delta within the
// bound, whatever the learning rate; a bound that never binds leaves plain SLOT bit for bit
static void test_trust_region_bound(void **st) {
    (void)st;
    ss_pool *pool = ss_pool_new(2);
    for (int trial = 0; trial < 4; trial++) {
        problem p = make_problem(7 + 3 * trial, 32, 150 + 50 * trial, trial & 1 ? SS_TYPE_Q8_0 : SS_TYPE_F32, 1.0, 0.7);
        const float lrs[4] = { 0.1f, 1.0f, 10.0f, 100.0f }, kms[3] = { 0.005f, 0.05f, 0.5f };
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 3; b++) {
                ss_slot_params prm;
                ss_slot_params_default(&prm);
                prm.steps = 5; prm.lr = lrs[a]; prm.kl_max = kms[b];
                float kl[5], sc[5], delta[32];
                double dd[32];
                ss_slot_result res = { .kl = kl, .scale = sc };
                char err[256] = "";
                assert_int_equal(ss_slot_optimize(&prm, trial & 2 ? pool : NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, delta, &res, err, sizeof err), 0);
                assert_int_equal(res.steps_done, 5);
                for (int k = 0; k < 5; k++) assert_true(kl[k] <= kms[b] && sc[k] >= 0 && sc[k] <= 1);
                for (int d = 0; d < 32; d++) dd[d] = delta[d];
                double r = ref_kl(&p, NULL, dd);
                if (!(r <= kms[b] * (1 + 1e-4) + 1e-7)) fail_msg("lr %g kl_max %g: float64 KL %.9g", lrs[a], kms[b], r);
            }
        // never binding: bit for bit plain SLOT; the safe flag is the recommended bound
        ss_slot_params prm;
        ss_slot_params_default(&prm);
        prm.steps = 4; prm.lr = 0.01f;
        float lb0[4], lb1[4], d0[32], d1[32], kl[4], sc[4];
        ss_slot_result r0 = { .loss_before = lb0 }, r1 = { .loss_before = lb1, .kl = kl, .scale = sc };
        char err[256] = "";
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, d0, &r0, err, sizeof err), 0);
        prm.kl_max = 1e3f;
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, d1, &r1, err, sizeof err), 0);
        assert_memory_equal(d0, d1, sizeof d0);
        assert_memory_equal(lb0, lb1, sizeof lb0);
        assert_true(r0.loss_after == r1.loss_after);
        for (int k = 0; k < 4; k++) assert_true(sc[k] == 1);
        prm.kl_max = 0; prm.safe = true; prm.lr = 100;
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, d1, &r1, err, sizeof err), 0);
        for (int k = 0; k < 4; k++) assert_true(kl[k] <= SS_SLOT_SAFE_KL_MAX);
        assert_true(sc[0] < 1);
        // bad trust-region parameters are refused
        prm.kl_max = -1;
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, d1, &r1, err, sizeof err), -1);
        assert_non_null(strstr(err, "kl_max"));
        prm.kl_max = 0.1f; prm.min_gain = 1;
        assert_int_equal(ss_slot_optimize(&prm, NULL, p.H, p.T, p.D, p.tok, NULL, &p.W, d1, &r1, err, sizeof err), -1);
        assert_non_null(strstr(err, "min_gain"));
        free_problem(&p);
    }
    ss_pool_free(pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_fd),
        cmocka_unit_test(test_long_rows),
        cmocka_unit_test(test_adamw_vs_ref),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_threads_and_scalar),
        cmocka_unit_test(test_e_fallback),
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_kl_vs_ref),
        cmocka_unit_test(test_backtrack_vs_brute),
        cmocka_unit_test(test_trust_region_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
