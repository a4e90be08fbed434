// test_swift.c — SWIFT head (src/swift.c): layer specs, running reward vs the batch formula vs an
// independent double-precision reference, loss gradients vs central finite differences of that
// reference, training (separable data, best-epoch rule), combination rules, head file I/O.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include "slotswift.h"
#include "ss_quant.h"
#include "ss_gguf.h"
#include "ss_swift.h"
#include <pthread.h>

// ---------------------------------------------------------------- helpers

static uint64_t rng_state = 12345;
static double urand(void) {   // [0,1)
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (rng_state >> 11) * 0x1.0p-53;
}
static double nrand(void) {   // N(0,1), Box-Muller
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static ss_swift_spec make_spec(int dim) {
    ss_swift_spec s;
    char err[SS_ERRLEN];
    // one layer of a 1-layer model: F = n_embd = dim
    assert_int_equal(ss_swift_spec_parse(&s, "1", false, false, 1, dim, 100, err, sizeof err), 0);
    assert_int_equal(s.dim, dim);
    return s;
}

static void random_head(ss_swift_head *h, int F, double scale, bool no_gate) {
    ss_swift_spec s = make_spec(F);
    ss_swift_head_init(h, &s);
    for (int i = 0; i < 2 * F; i++) h->W[i] = (float)(nrand() * scale);
    h->b[0] = (float)(nrand() * scale);
    h->b[1] = (float)(nrand() * scale);
    h->no_gate = no_gate;
}

// features of one example, as float (the values the engine sees, after F16 rounding if any)
static double feat(const ss_swift_example *e, int F, int t, int i) {
    size_t k = (size_t)t * F + i;
    return e->x_f16 ? ss_fp16_to_fp32(((const uint16_t *)e->X)[k]) : ((const float *)e->X)[k];
}

// independent reference: R in double for head parameters (Wd[2F], bd[2])
static double ref_reward(const double *Wd, const double *bd, bool no_gate, const ss_swift_example *e, int F) {
    double num = 0, den = 0, sr = 0;
    for (int t = 0; t < e->T; t++) {
        double g = bd[0], r = bd[1];
        for (int i = 0; i < F; i++) { double x = feat(e, F, t, i); g += Wd[i] * x; r += Wd[F + i] * x; }
        double s = 1 / (1 + exp(-g));
        num += s * r; den += s; sr += r;
    }
    if (no_gate) return e->T ? sr / e->T : 0;
    return num / (den > 1e-8 ? den : 1e-8);
}

// independent reference loss (mean over examples, or over the (correct, wrong) pairs of a question)
static double ref_loss(const double *Wd, const double *bd, bool no_gate, const ss_swift_example *ex, int n, int F, int loss) {
    double *R = malloc(n * sizeof(double)), sum = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++) R[i] = ref_reward(Wd, bd, no_gate, &ex[i], F);
    for (int i = 0; i < n; i++) {
        double y = ex[i].label;
        if (loss == SS_SWIFT_BCE) { sum += log(1 + exp(R[i])) - y * R[i]; cnt++; }
        else if (loss == SS_SWIFT_HINGE) { double m = 1 - (2 * y - 1) * R[i]; sum += m > 0 ? m : 0; cnt++; }
        else if (y > 0.5) {
            for (int j = 0; j < n; j++)
                if (ex[j].label < 0.5 && ex[j].question == ex[i].question) { sum += log(1 + exp(-(R[i] - R[j]))); cnt++; }
        }
    }
    free(R);
    return cnt ? sum / cnt : 0;
}

typedef struct { ss_swift_example *ex; int n; void **bufs; } exset;

// n examples over nq questions, T in [tmin, tmax], features N(0, sd) (+ label * shift * u)
static exset make_examples(int n, int nq, int F, int tmin, int tmax, double sd, bool f16, const double *u, double shift) {
    exset s = { calloc(n, sizeof(ss_swift_example)), n, calloc(n, sizeof(void *)) };
    for (int k = 0; k < n; k++) {
        ss_swift_example *e = &s.ex[k];
        e->T = tmin + (int)(urand() * (tmax - tmin + 1));
        e->question = k % nq;
        e->label = (k / nq) % 2 ? 1.0f : 0.0f;
        if (urand() < 0.3) e->label = 1 - e->label;
        e->x_f16 = f16;
        size_t m = (size_t)e->T * F;
        float *x = malloc((m ? m : 1) * sizeof(float));
        for (size_t i = 0; i < m; i++) {
            double v = nrand() * sd;
            if (u) v += (e->label > 0.5 ? shift : -shift) * u[i % F];
            x[i] = (float)v;
        }
        if (f16) {
            uint16_t *h = malloc((m ? m : 1) * sizeof(uint16_t));
            for (size_t i = 0; i < m; i++) h[i] = ss_fp32_to_fp16(x[i]);
            free(x);
            s.bufs[k] = h;
        } else {
            s.bufs[k] = x;
        }
        e->X = s.bufs[k];
    }
    return s;
}

static void free_examples(exset *s) {
    for (int k = 0; k < s->n; k++) free(s->bufs[k]);
    free(s->bufs);
    free(s->ex);
}

// ---------------------------------------------------------------- spec

static void test_spec(void **st) {
    (void)st;
    ss_swift_spec s;
    char err[SS_ERRLEN];
    assert_int_equal(ss_swift_spec_parse(&s, "all", false, false, 4, 8, 100, err, sizeof err), 0);
    assert_int_equal(s.n_layers, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(s.layer[i], i);
    assert_int_equal(s.dim, 40);
    assert_string_equal(s.layers, "all");
    assert_int_equal(ss_swift_spec_parse(&s, "last2", true, false, 4, 8, 100, err, sizeof err), 0);
    assert_int_equal(s.n_layers, 2);
    assert_int_equal(s.layer[0], 3);
    assert_int_equal(s.layer[1], 4);
    assert_true(s.norm);
    assert_int_equal(s.dim, 16);
    assert_int_equal(ss_swift_spec_parse(&s, "last5", false, false, 4, 8, 100, err, sizeof err), 0);
    assert_int_equal(s.n_layers, 5);
    assert_int_equal(s.layer[0], 0);
    assert_int_equal(ss_swift_spec_parse(&s, " 4,1, 2 ", false, false, 4, 8, 100, err, sizeof err), 0);
    assert_int_equal(s.n_layers, 3);
    assert_int_equal(s.layer[0], 1);
    assert_int_equal(s.layer[1], 2);
    assert_int_equal(s.layer[2], 4);
    assert_string_equal(s.layers, "4,1, 2");
    assert_int_equal(ss_swift_spec_parse(&s, "logits", false, false, 4, 8, 100, err, sizeof err), 0);
    assert_true(s.logits);
    assert_int_equal(s.dim, 100);
    assert_int_equal(s.n_layers, 0);
    assert_int_equal(ss_swift_spec_parse(&s, "", false, true, 4, 8, 100, err, sizeof err), 0);
    assert_true(s.logits);
    const char *bad[] = { "last0", "last6", "lastx", "5", "-1", "1,1", "abc", "", "1,,2", "1,", "1 2", "last", NULL };
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        if (ss_swift_spec_parse(&s, bad[i], false, false, 4, 8, 100, err, sizeof err) != -1)
            fail_msg("spec '%s' accepted", bad[i]);
        assert_true(err[0] && !strchr(err, '\n'));
    }
    assert_int_equal(ss_swift_spec_parse(&s, "logits", true, false, 4, 8, 100, err, sizeof err), -1);   // norm + logits
    assert_int_equal(ss_swift_spec_parse(&s, "all", false, true, 4, 8, 100, err, sizeof err), -1);      // logits + layers
    assert_int_equal(ss_swift_spec_parse(&s, "all", false, false, 300, 8, 100, err, sizeof err), -1);   // too many layers
}

// ---------------------------------------------------------------- reward

static void test_running_equals_batch(void **st) {
    (void)st;
    for (int trial = 0; trial < 60; trial++) {
        int F = 1 + (int)(urand() * 40);
        bool no_gate = trial % 3 == 2;
        double scale = trial % 4 == 0 ? 3.0 : 0.5;   // large weights: saturated gates
        ss_swift_head h;
        random_head(&h, F, scale, no_gate);
        int T = (int)(urand() * 200);
        float *X = malloc(((size_t)T * F + 1) * sizeof(float));
        for (size_t i = 0; i < (size_t)T * F; i++) X[i] = (float)(nrand() * 2);
        ss_swift_acc a;
        ss_swift_acc_reset(&a);
        assert_true(ss_swift_acc_reward(&a, &h) == 0.0f);   // no tokens: 0
        double Wd[2 * 40], bd[2] = { h.b[0], h.b[1] };
        for (int i = 0; i < 2 * F; i++) Wd[i] = h.W[i];
        for (int t = 0; t < T; t++) {
            ss_swift_acc_add(&a, &h, X + (size_t)t * F);
            float run = ss_swift_acc_reward(&a, &h), bat = ss_swift_reward(&h, X, t + 1);
            ss_swift_example e = { .X = X, .T = t + 1 };
            double ref = ref_reward(Wd, bd, no_gate, &e, F);
            if (fabs(run - bat) > 1e-6 * (1 + fabs(bat)) || fabs(run - ref) > 1e-5 * (1 + fabs(ref)))
                fail_msg("trial %d T=%d: running %.9g batch %.9g reference %.9g", trial, t + 1, run, bat, ref);
        }
        assert_true(ss_swift_reward(&h, X, 0) == 0.0f);
        free(X);
        ss_swift_head_free(&h);
    }
}

// the gate weighs tokens: a token with a huge gate dominates R
static void test_gate_semantics(void **st) {
    (void)st;
    ss_swift_spec s = make_spec(2);
    ss_swift_head h;
    ss_swift_head_init(&h, &s);
    // g = 20 x0, r = x1: token A (x0 = 1, r = 5) has gate ~1, token B (x0 = -1, r = -7) gate ~0
    h.W[0] = 20; h.W[1] = 0; h.W[2] = 0; h.W[3] = 1;
    float X[4] = { 1, 5, -1, -7 };
    assert_float_equal(ss_swift_reward(&h, X, 2), 5.0, 1e-6);
    h.no_gate = true;
    assert_float_equal(ss_swift_reward(&h, X, 2), -1.0, 1e-6);   // plain mean
    ss_swift_head_free(&h);
}

// ---------------------------------------------------------------- gradients

#define GF 5
static void check_grad(int loss, bool no_gate, bool f16) {
    enum { F = GF, n = 12 };
    exset s = make_examples(n, 3, F, 1, 9, 1.0, f16, NULL, 0);
    ss_swift_head h;
    for (int attempt = 0;; attempt++) {
        random_head(&h, F, 0.4, no_gate);
        if (loss != SS_SWIFT_HINGE) break;
        // stay away from the hinge's kink (the gradient is not defined there)
        double Wd[2 * F], bd[2] = { h.b[0], h.b[1] };
        for (int i = 0; i < 2 * F; i++) Wd[i] = h.W[i];
        bool ok = true;
        for (int k = 0; k < n; k++) {
            double R = ref_reward(Wd, bd, no_gate, &s.ex[k], F);
            if (fabs(1 - (2 * s.ex[k].label - 1) * R) < 1e-2) ok = false;
        }
        if (ok) break;
        ss_swift_head_free(&h);
        assert_true(attempt < 100);
    }
    float gW[2 * F], gb[2];
    double L = ss_swift_loss_grad(&h, s.ex, n, loss, gW, gb);
    double Wd[2 * F], bd[2] = { h.b[0], h.b[1] };
    for (int i = 0; i < 2 * F; i++) Wd[i] = h.W[i];
    double Lref = ref_loss(Wd, bd, no_gate, s.ex, n, F, loss);
    if (fabs(L - Lref) > 1e-6 * (1 + fabs(Lref))) fail_msg("loss %d: %.10g vs reference %.10g", loss, L, Lref);
    // central differences of the double reference, eps 1e-6
    const double eps = 1e-6;
    double max_err = 0, max_g = 0;
    for (int i = 0; i < 2 * F + 2; i++) {
        double *p = i < 2 * F ? &Wd[i] : &bd[i - 2 * F];
        double keep = *p;
        *p = keep + eps; double lp = ref_loss(Wd, bd, no_gate, s.ex, n, F, loss);
        *p = keep - eps; double lm = ref_loss(Wd, bd, no_gate, s.ex, n, F, loss);
        *p = keep;
        double fd = (lp - lm) / (2 * eps), an = i < 2 * F ? gW[i] : gb[i - 2 * F];
        if (no_gate && (i < F || i == 2 * F)) assert_true(an == 0.0f);   // gate unused
        double e = fabs(an - fd);
        if (e > max_err) max_err = e;
        if (fabs(fd) > max_g) max_g = fabs(fd);
        if (e > 1e-6 * (1 + fabs(fd)))
            fail_msg("loss %d no_gate %d f16 %d: param %d: analytic %.9g vs finite difference %.9g", loss, no_gate, f16, i, an, fd);
    }
    assert_true(max_g > 1e-3);   // the gradient is not trivially zero
    printf("grad loss=%s no_gate=%d f16=%d: loss %.6f, max |g| %.4f, max err %.2e\n",
           ss_swift_loss_name(loss), no_gate, f16, L, max_g, max_err);
    ss_swift_head_free(&h);
    free_examples(&s);
}

static void test_grad_fd(void **st) {
    (void)st;
    for (int loss = 0; loss < 3; loss++)
        for (int g = 0; g < 2; g++) check_grad(loss, g, false);
    check_grad(SS_SWIFT_BCE, false, true);
    check_grad(SS_SWIFT_PAIRWISE, false, true);
}

// ---------------------------------------------------------------- training

static void test_train_separable(void **st) {
    (void)st;
    enum { F = 8 };
    double u[F];
    for (int i = 0; i < F; i++) u[i] = nrand();
    for (int loss = 0; loss < 3; loss++) {
        exset s = make_examples(120, 30, F, 3, 12, 0.5, false, u, 1.0);
        ss_swift_head h;
        ss_swift_spec spec = make_spec(F);
        ss_swift_head_init(&h, &spec);
        ss_swift_train_params p;
        ss_swift_train_params_default(&p);
        p.loss = loss;
        p.lr = 0.05f;
        p.epochs = 60;
        p.patience = 0;   // no early stop: run all epochs
        p.seed = 7;
        ss_swift_train_result r;
        char err[SS_ERRLEN];
        assert_int_equal(ss_swift_train(&h, s.ex, s.n, &p, &r, err, sizeof err), 0);
        double L = ss_swift_loss_grad(&h, s.ex, s.n, loss, NULL, NULL);
        int correct = 0;
        for (int k = 0; k < s.n; k++) {
            float R = ss_swift_reward(&h, s.ex[k].X, s.ex[k].T);
            correct += (R > 0) == (s.ex[k].label > 0.5);
        }
        printf("separable %s: loss %.5f, accuracy %d/%d, best epoch %d, val acc %.3f\n",
               ss_swift_loss_name(loss), L, correct, s.n, r.best_epoch, r.val_acc);
        assert_true(L < 0.05);
        assert_true(r.val_acc == 1.0);
        if (loss != SS_SWIFT_PAIRWISE) assert_int_equal(correct, s.n);
        assert_int_equal(r.epochs_run, 60);
        assert_non_null(strstr(h.train_info, "\"best_epoch\""));
        ss_swift_head_free(&h);
        free_examples(&s);
    }
}

typedef struct { double val[200], train[200]; int n; } curve_t;
static void on_epoch(void *ud, int epoch, double tl, double ta, double vl, double va) {
    curve_t *c = ud;
    assert_int_equal(epoch, c->n + 1);
    c->train[c->n] = tl;
    c->val[c->n++] = vl;
}

// --standardize: features with a large offset and scale; the head trained on z-scored features is
// folded back to raw features: its recomputed validation loss (raw features, no standardization)
// equals the loss the training loop measured in standardized space
static void test_standardize_fold(void **st) {
    (void)st;
    enum { F = 8, n = 240 };
    double u[F];
    for (int i = 0; i < F; i++) u[i] = nrand();
    exset s = make_examples(n, 60, F, 3, 12, 0.5, false, u, 1.0);
    for (int k = 0; k < n; k++) {                       // x -> 40 x + 300 (per-feature affine)
        float *X = (float *)s.ex[k].X;
        for (int t = 0; t < s.ex[k].T; t++)
            for (int i = 0; i < F; i++) X[(size_t)t * F + i] = X[(size_t)t * F + i] * (40.0f + i) + 300.0f - 20 * i;
    }
    ss_swift_train_params p;
    ss_swift_train_params_default(&p);
    p.lr = 0.05f; p.epochs = 30; p.patience = 0; p.seed = 9; p.standardize = true;
    curve_t c = { .n = 0 };
    p.on_epoch = on_epoch;
    p.on_epoch_ud = &c;
    ss_swift_head h;
    ss_swift_spec spec = make_spec(F);
    ss_swift_head_init(&h, &spec);
    ss_swift_train_result r;
    char err[SS_ERRLEN];
    assert_int_equal(ss_swift_train(&h, s.ex, n, &p, &r, err, sizeof err), 0);
    bool *is_val = calloc(n, sizeof(bool));
    ss_swift_split(s.ex, n, p.val_frac, p.seed, is_val);
    ss_swift_example *vex = calloc(n, sizeof *vex);
    int nval = 0;
    for (int k = 0; k < n; k++) if (is_val[k]) vex[nval++] = s.ex[k];
    double Lv = ss_swift_loss_grad(&h, vex, nval, SS_SWIFT_BCE, NULL, NULL);
    printf("standardized: val loss in training %.6f, recomputed on raw features %.6f, val acc %.3f\n", r.val_loss, Lv, r.val_acc);
    assert_true(fabs(Lv - r.val_loss) < 1e-4 * (1 + r.val_loss));
    assert_true(r.val_loss < 0.1);                       // separable data is learned despite the scale
    assert_non_null(strstr(h.train_info, "\"standardize\":true"));
    assert_non_null(strstr(h.val_metrics, "\"val_best_of_n\""));
    ss_swift_head_free(&h);
    free(vex); free(is_val);
    free_examples(&s);
}

// Validation questions carry 30% flipped labels: the val loss falls while the head learns the
// direction, then rises as it grows over-confident. The returned head must be the best epoch's.
static void test_best_epoch(void **st) {
    (void)st;
    enum { F = 6, n = 400, nq = 100 };
    double u[F];
    for (int i = 0; i < F; i++) u[i] = nrand();
    exset s = make_examples(n, nq, F, 2, 6, 2.0, false, u, 0.5);
    ss_swift_train_params p;
    ss_swift_train_params_default(&p);
    p.lr = 0.002f;
    p.epochs = 40;
    p.patience = 1000;
    p.seed = 3;
    bool *is_val = calloc(n, sizeof(bool));
    int nvq = ss_swift_split(s.ex, n, p.val_frac, p.seed, is_val);
    assert_int_equal(nvq, 20);
    // flip 30% of the validation labels (features stay: they now contradict the label)
    int nval = 0;
    for (int k = 0; k < n; k++)
        if (is_val[k] && urand() < 0.3) s.ex[k].label = 1 - s.ex[k].label;
    ss_swift_example *vex = calloc(n, sizeof *vex);
    for (int k = 0; k < n; k++) if (is_val[k]) vex[nval++] = s.ex[k];
    // every question is entirely train or entirely val
    for (int k = 0; k < n; k++) for (int j = 0; j < n; j++)
        if (s.ex[k].question == s.ex[j].question) assert_int_equal(is_val[k], is_val[j]);

    ss_swift_head h;
    ss_swift_spec spec = make_spec(F);
    ss_swift_head_init(&h, &spec);
    curve_t c = { .n = 0 };
    p.on_epoch = on_epoch;
    p.on_epoch_ud = &c;
    ss_swift_train_result r;
    char err[SS_ERRLEN];
    assert_int_equal(ss_swift_train(&h, s.ex, n, &p, &r, err, sizeof err), 0);
    assert_int_equal(c.n, 40);
    int best = 0;
    for (int e = 1; e < c.n; e++) if (c.val[e] < c.val[best]) best = e;
    printf("val loss curve: first %.4f, min %.4f at epoch %d, last %.4f\n", c.val[0], c.val[best], best + 1, c.val[c.n - 1]);
    // a meaningful case: the minimum is strictly inside and the curve rises after it
    assert_true(best > 0 && best < c.n - 1);
    assert_true(c.val[c.n - 1] > c.val[best] + 0.01);
    assert_int_equal(r.best_epoch, best + 1);
    assert_true(r.val_loss == c.val[best]);
    // the returned head's validation loss, recomputed independently of the training loop's bookkeeping
    double Lv = ss_swift_loss_grad(&h, vex, nval, SS_SWIFT_BCE, NULL, NULL);
    double Wd[2 * F], bd[2] = { h.b[0], h.b[1] };
    for (int i = 0; i < 2 * F; i++) Wd[i] = h.W[i];
    double Lref = ref_loss(Wd, bd, false, vex, nval, F, SS_SWIFT_BCE);
    assert_true(fabs(Lv - c.val[best]) < 1e-9);
    assert_true(fabs(Lref - c.val[best]) < 1e-5);

    // early stopping with patience 3 stops 3 epochs after the best, still returning the best
    ss_swift_head h2;
    ss_swift_head_init(&h2, &spec);
    curve_t c2 = { .n = 0 };
    p.patience = 3;
    p.on_epoch_ud = &c2;
    assert_int_equal(ss_swift_train(&h2, s.ex, n, &p, &r, err, sizeof err), 0);
    assert_int_equal(r.epochs_run, best + 1 + 3);
    assert_int_equal(r.best_epoch, best + 1);
    assert_memory_equal(h.W, h2.W, 2 * F * sizeof(float));   // deterministic for a seed
    assert_memory_equal(h.b, h2.b, sizeof h.b);
    ss_swift_head_free(&h);
    ss_swift_head_free(&h2);
    free(vex);
    free(is_val);
    free_examples(&s);
}

// ---------------------------------------------------------------- confidence init, epoch kept by best-of-N

// n examples over nq questions with F = H hidden features (N(0,1)) + the 2 confidence features
// (log p in [-2, 0), entropy in [0, 2)); labels: random, or (by_lp) correct iff the candidate has the
// highest mean log p of its question
static exset make_conf_examples(int n, int nq, int H, bool by_lp) {
    const int F = H + SS_SWIFT_CONF_DIM;
    exset s = make_examples(n, nq, F, 2, 7, 1.0, false, NULL, 0);
    for (int k = 0; k < n; k++) {
        float *x = s.bufs[k];
        for (int t = 0; t < s.ex[k].T; t++) { x[t * F + H] = (float)(-2 * urand()); x[t * F + H + 1] = (float)(2 * urand()); }
    }
    if (by_lp)
        for (int k = 0; k < n; k++) {
            int best = -1;
            double bl = 0;
            for (int j = 0; j < n; j++) {
                if (s.ex[j].question != s.ex[k].question) continue;
                double m = 0;
                for (int t = 0; t < s.ex[j].T; t++) m += feat(&s.ex[j], F, t, H) / s.ex[j].T;
                if (best < 0 || m > bl) { best = j; bl = m; }
            }
            s.ex[k].label = best == k ? 1.0f : 0.0f;
        }
    return s;
}

static ss_swift_spec conf_spec(int H) {
    ss_swift_spec s = make_spec(H);
    ss_swift_spec_set_conf(&s, true);
    return s;
}

// best-of-N over the examples with in[k] (float64 reference rewards; the first candidate on ties)
static double ref_bon(const double *Wd, const double *bd, bool no_gate, const ss_swift_example *ex, int n, int F, const bool *in) {
    double sum = 0;
    int nq = 0;
    for (int k = 0; k < n; k++) {
        if (!in[k]) continue;
        bool first = true;
        for (int j = 0; j < k; j++) first &= !(in[j] && ex[j].question == ex[k].question);
        if (!first) continue;
        int best = k;
        double Rb = ref_reward(Wd, bd, no_gate, &ex[k], F);
        for (int j = k + 1; j < n; j++) {
            if (!in[j] || ex[j].question != ex[k].question) continue;
            double R = ref_reward(Wd, bd, no_gate, &ex[j], F);
            if (R > Rb) { best = j; Rb = R; }
        }
        sum += ex[best].label;
        nq++;
    }
    return sum / nq;
}

typedef struct { double bon[64]; int n; } notes_t;
static void on_note(void *ud, const char *line) {   // "epoch E ... val best-of-N X"
    notes_t *c = ud;
    const char *b = strstr(line, "val best-of-N ");
    int e;
    if (!b || sscanf(line, "epoch %d", &e) != 1) return;
    assert_int_equal(e, c->n);
    c->bon[c->n++] = atof(b + 14);
}


// a head of the given layout and default training parameters, initialized at the confidence head
static void conf_setup(ss_swift_head *h, ss_swift_spec spec, ss_swift_train_params *p) {
    ss_swift_head_init(h, &spec);
    ss_swift_train_params_default(p);
    p->init = SS_SWIFT_INIT_CONF;
}
static void test_conf_init(void **st) {
    (void)st;
    enum { H = 5, F = H + SS_SWIFT_CONF_DIM, n = 240, nq = 40 };
    char err[SS_ERRLEN];
    const double lpW[2 * F] = { [F + H] = 1.0 }, zb[2] = { 0, 0 };   // R = mean log p (constant gate)
    exset s = make_conf_examples(n, nq, H, false);
    bool all[n];
    for (int k = 0; k < n; k++) all[k] = true;

    // 0 epochs: the init itself, exactly W_r = e_logp and zeros elsewhere (with --standardize too), whose
    // rewards are the mean log-probabilities
    for (int std = 0; std < 2; std++) {
        ss_swift_head h;
        ss_swift_train_params p;
        conf_setup(&h, conf_spec(H), &p);
        p.epochs = 0;
        p.standardize = std;
        ss_swift_train_result r;
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, &r, err, sizeof err), 0);
        assert_int_equal(r.best_epoch, 0);
        for (int i = 0; i < 2 * F; i++) assert_true(h.W[i] == (float)lpW[i]);
        assert_true(h.b[0] == 0 && h.b[1] == 0);
        for (int k = 0; k < n; k++) {
            double m = 0;
            for (int t = 0; t < s.ex[k].T; t++) m += feat(&s.ex[k], F, t, H);
            assert_true(fabs(ss_swift_reward(&h, s.ex[k].X, s.ex[k].T) - m / s.ex[k].T) < 1e-6);
        }
        ss_swift_head_free(&h);
    }

    // refused without the confidence features
    {
        ss_swift_head h;
        ss_swift_train_params p;
        conf_setup(&h, make_spec(F), &p);
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, NULL, err, sizeof err), -1);
        assert_non_null(strstr(err, "confidence"));
        p.init = 7;
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, NULL, err, sizeof err), -1);
        p.init = SS_SWIFT_INIT_UNIFORM;
        p.select = 7;
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, NULL, err, sizeof err), -1);
        ss_swift_head_free(&h);
    }

    // --select-epoch bon: the epoch with the highest validation best-of-N is kept (epoch 0 = the init,
    // whose value is the mean-log-prob pick recomputed here); the kept head's best-of-N recomputed in float64
    {
        ss_swift_head h;
        ss_swift_train_params p;
        conf_setup(&h, conf_spec(H), &p);
        p.select = SS_SWIFT_SELECT_BON;
        p.lr = 0.05f;
        p.epochs = 12;
        p.patience = 0;
        p.seed = 5;
        notes_t c = { .n = 0 };
        p.on_note = on_note;
        p.ud = &c;
        bool is_val[n];
        assert_true(ss_swift_split(s.ex, n, p.val_frac, p.seed, is_val) > 0);
        ss_swift_train_result r;
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, &r, err, sizeof err), 0);
        assert_int_equal(c.n, 13);
        int best = 0;
        for (int e = 1; e < c.n; e++) if (c.bon[e] > c.bon[best]) best = e;
        assert_int_equal(r.best_epoch, best);
        assert_true(fabs(c.bon[0] - ref_bon(lpW, zb, false, s.ex, n, F, is_val)) < 1e-4);
        double Wd[2 * F], bd[2] = { h.b[0], h.b[1] };
        for (int i = 0; i < 2 * F; i++) Wd[i] = h.W[i];
        assert_true(fabs(ref_bon(Wd, bd, false, s.ex, n, F, is_val) - c.bon[best]) < 1e-4);
        printf("conf init: val best-of-N at the init %.4f, kept epoch %d: %.4f\n", c.bon[0], best, c.bon[best]);
        ss_swift_head_free(&h);
    }

    // when the init is already the oracle on the held-out questions no epoch beats it: the init is kept, exactly
    {
        exset s2 = make_conf_examples(n, nq, H, true);
        ss_swift_head h;
        ss_swift_train_params p;
        conf_setup(&h, conf_spec(H), &p);
        p.select = SS_SWIFT_SELECT_BON;
        p.standardize = true;
        p.lr = 0.05f;
        p.epochs = 4;
        p.patience = 0;
        ss_swift_train_result r;
        assert_int_equal(ss_swift_train(&h, s2.ex, n, &p, &r, err, sizeof err), 0);
        assert_int_equal(r.best_epoch, 0);
        assert_int_equal(r.epochs_run, 4);
        for (int i = 0; i < 2 * F; i++) assert_true(h.W[i] == (float)lpW[i]);
        assert_true(ref_bon(lpW, zb, false, s2.ex, n, F, all) == 1.0);
        ss_swift_head_free(&h);
        free_examples(&s2);
    }

    // the weight decay pulls toward the init: two full-batch AdamW steps recomputed here in double,
    //   p_k = p0 + (p_{k-1} - p0)(1 - lr wd) - lr mhat_k / (sqrt(vhat_k) + eps)
    // with the gradients of ss_swift_loss_grad (finite-difference-tested above) at p0 and p1
    {
        ss_swift_head h, h1;
        ss_swift_spec spec = conf_spec(H);
        ss_swift_head_init(&h, &spec);
        ss_swift_head_init(&h1, &spec);
        ss_swift_train_params p;
        ss_swift_train_params_default(&p);
        p.init = SS_SWIFT_INIT_CONF;
        p.lr = 0.1f;
        p.wd = 5.0f;
        p.val_frac = 0;
        p.batch = n;
        p.epochs = 2;
        ss_swift_train_result r;
        assert_int_equal(ss_swift_train(&h, s.ex, n, &p, &r, err, sizeof err), 0);
        const int np = 2 * F + 2;
        double p0[2 * F + 2] = { 0 }, q[2 * F + 2], m[2 * F + 2] = { 0 }, v[2 * F + 2] = { 0 };
        p0[F + H] = 1.0;
        memcpy(q, p0, sizeof q);
        const double lr = p.lr, wd = p.wd, b1 = 0.9, b2 = 0.999;
        for (int step = 1; step <= 2; step++) {
            for (int i = 0; i < 2 * F; i++) h1.W[i] = (float)q[i];
            h1.b[0] = (float)q[2 * F]; h1.b[1] = (float)q[2 * F + 1];
            float gW[2 * F], gb[2];
            ss_swift_loss_grad(&h1, s.ex, n, SS_SWIFT_BCE, gW, gb);
            for (int i = 0; i < np; i++) {
                double g = i < 2 * F ? gW[i] : gb[i - 2 * F];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mh = m[i] / (1 - pow(b1, step)), vh = v[i] / (1 - pow(b2, step));
                q[i] = p0[i] + (q[i] - p0[i]) * (1 - lr * wd) - lr * mh / (sqrt(vh) + 1e-8);
            }
        }
        for (int i = 0; i < np; i++) {
            double got = i < 2 * F ? h.W[i] : h.b[i - 2 * F];
            assert_true(fabs(got - q[i]) < 1e-4);
        }
        assert_true(h.W[F + H] > 0.75);   // decayed toward 0 it would be about 0.5 - 0.2
        ss_swift_head_free(&h);
        ss_swift_head_free(&h1);
    }
    free_examples(&s);
}

static void test_train_errors(void **st) {
    (void)st;
    enum { F = 3 };
    exset s = make_examples(10, 5, F, 1, 3, 1.0, false, NULL, 0);
    ss_swift_spec spec = make_spec(F);
    ss_swift_head h;
    ss_swift_head_init(&h, &spec);
    ss_swift_train_params p;
    ss_swift_train_params_default(&p);
    char err[SS_ERRLEN];
    assert_int_equal(ss_swift_train(&h, s.ex, 0, &p, NULL, err, sizeof err), -1);
    p.lr = 0;
    assert_int_equal(ss_swift_train(&h, s.ex, s.n, &p, NULL, err, sizeof err), -1);
    ss_swift_train_params_default(&p);
    p.val_frac = 1;
    assert_int_equal(ss_swift_train(&h, s.ex, s.n, &p, NULL, err, sizeof err), -1);
    ss_swift_train_params_default(&p);
    ((float *)s.bufs[3])[0] = NAN;
    assert_int_equal(ss_swift_train(&h, s.ex, s.n, &p, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not finite"));
    ((float *)s.bufs[3])[0] = 0;
    exset s16 = make_examples(10, 5, F, 1, 3, 1.0, true, NULL, 0);
    ((uint16_t *)s16.bufs[2])[0] = 0x7c00;   // +inf as a half
    assert_int_equal(ss_swift_train(&h, s16.ex, s16.n, &p, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "example 2: token 0: feature 0 is not finite"));
    free_examples(&s16);
    // pairwise without any question having both labels
    for (int k = 0; k < s.n; k++) s.ex[k].label = 1;
    p.loss = SS_SWIFT_PAIRWISE;
    assert_int_equal(ss_swift_train(&h, s.ex, s.n, &p, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "pairwise"));
    assert_int_equal(ss_swift_loss_parse("bce"), SS_SWIFT_BCE);
    assert_int_equal(ss_swift_loss_parse("pairwise"), SS_SWIFT_PAIRWISE);
    assert_int_equal(ss_swift_loss_parse("hinge"), SS_SWIFT_HINGE);
    assert_int_equal(ss_swift_loss_parse("l2"), -1);
    ss_swift_head_free(&h);
    free_examples(&s);
}

// ---------------------------------------------------------------- training over several processes
// ss_swift_train_dist with K threads standing in for K processes: each sees only its own examples'
// features (the others' X are NULL) and the exchange is a barrier-based sum over the threads.
typedef struct {
    int K;
    pthread_barrier_t bar;
    double *bufs[8];
    size_t n;
} dist_shared;

typedef struct {
    dist_shared *sh;
    int rank;
    ss_swift_example *ex;      // this thread's copy: X only for its own examples
    int n;
    ss_swift_train_params p;
    ss_swift_head h;
    int rc;
    char err[SS_ERRLEN];
} dist_thread;

// buf = the sum over the threads of their buf, added in thread order (the same on every thread)
static int dist_thread_sum(void *ud, double *buf, size_t n) {
    dist_thread *t = ud;
    dist_shared *sh = t->sh;
    sh->bufs[t->rank] = buf;
    if (t->rank == 0) sh->n = n;
    pthread_barrier_wait(&sh->bar);
    double *acc = calloc(n ? n : 1, sizeof(double));
    int bad = sh->n != n;
    for (int k = 0; k < sh->K; k++)
        for (size_t i = 0; i < n && !bad; i++) acc[i] += sh->bufs[k][i];
    pthread_barrier_wait(&sh->bar);            // everyone has read every buffer
    memcpy(buf, acc, n * sizeof(double));
    free(acc);
    pthread_barrier_wait(&sh->bar);
    return bad ? -1 : 0;
}

static void *dist_thread_run(void *arg) {
    dist_thread *t = arg;
    int K = t->sh->K;
    ss_swift_dist d = { t->rank, K, (int)((long)t->rank * t->n / K), (int)((long)(t->rank + 1) * t->n / K), dist_thread_sum, t };
    for (int i = 0; i < t->n; i++) if (i < d.lo || i >= d.hi) t->ex[i].X = NULL;
    t->rc = ss_swift_train_dist(&t->h, t->ex, t->n, &t->p, &d, NULL, t->err, sizeof t->err);
    return NULL;
}

// train on K threads; every thread's head must be the same bits (compared here); returns thread 0's
// (rc and err as thread 0's)
static int train_threads(int K, const exset *s, const ss_swift_train_params *p, int F, ss_swift_head *out, char *err) {
    dist_shared sh = { .K = K };
    pthread_barrier_init(&sh.bar, NULL, K);
    dist_thread t[8];
    pthread_t th[8];
    ss_swift_spec spec = make_spec(F);
    for (int k = 0; k < K; k++) {
        t[k] = (dist_thread){ .sh = &sh, .rank = k, .n = s->n, .p = *p };
        t[k].ex = malloc(sizeof(ss_swift_example) * s->n);
        memcpy(t[k].ex, s->ex, sizeof(ss_swift_example) * s->n);
        ss_swift_head_init(&t[k].h, &spec);
        pthread_create(&th[k], NULL, dist_thread_run, &t[k]);
    }
    for (int k = 0; k < K; k++) pthread_join(th[k], NULL);
    for (int k = 1; k < K; k++) {
        assert_int_equal(t[k].rc, t[0].rc);
        assert_string_equal(t[k].err, t[0].err);
        if (t[0].rc == 0) {
            assert_memory_equal(t[k].h.W, t[0].h.W, 2 * F * sizeof(float));
            assert_memory_equal(t[k].h.b, t[0].h.b, sizeof t[0].h.b);
            assert_string_equal(t[k].h.train_info, t[0].h.train_info);
            assert_string_equal(t[k].h.val_metrics, t[0].h.val_metrics);
        }
    }
    *out = t[0].h;
    strcpy(err, t[0].err);
    for (int k = 1; k < K; k++) ss_swift_head_free(&t[k].h);
    for (int k = 0; k < K; k++) free(t[k].ex);
    pthread_barrier_destroy(&sh.bar);
    return t[0].rc;
}

static void test_train_dist(void **st) {
    (void)st;
    enum { F = 12, n = 150 };
    double u[F];
    for (int i = 0; i < F; i++) u[i] = nrand();
    for (int f16 = 0; f16 < 2; f16++) {
        exset s = make_examples(n, 30, F, 0, 14, 0.7, f16, u, 0.4);
        const char *cfg[3] = { "bce", "pairwise+standardize", "hinge+no_gate" };
        for (int c = 0; c < 3; c++) {
            ss_swift_train_params p;
            ss_swift_train_params_default(&p);
            p.lr = 0.02f; p.epochs = 8; p.batch = 8; p.seed = 3 + c;
            p.loss = c == 0 ? SS_SWIFT_BCE : c == 1 ? SS_SWIFT_PAIRWISE : SS_SWIFT_HINGE;
            p.standardize = c == 1;
            p.no_gate = c == 2;
            ss_swift_spec spec = make_spec(F);
            ss_swift_head ref;
            ss_swift_head_init(&ref, &spec);
            char err[SS_ERRLEN];
            assert_int_equal(ss_swift_train(&ref, s.ex, n, &p, NULL, err, sizeof err), 0);
            for (int K = 1; K <= 5; K++) {
                ss_swift_head h, h2;
                assert_int_equal(train_threads(K, &s, &p, F, &h, err), 0);
                assert_int_equal(train_threads(K, &s, &p, F, &h2, err), 0);   // the same K twice: the same bits
                assert_memory_equal(h.W, h2.W, 2 * F * sizeof(float));
                double md = fabs((double)h.b[0] - ref.b[0]) + fabs((double)h.b[1] - ref.b[1]);
                for (int i = 0; i < 2 * F; i++) md = fmax(md, fabs((double)h.W[i] - ref.W[i]));
                if (K == 5) printf("dist %s f16=%d: K=5 vs one process: max |dW| %.3g\n", cfg[c], f16, md);
                assert_true(md <= 1e-5);
                assert_string_equal(h.train_info, ref.train_info);
                ss_swift_head_free(&h); ss_swift_head_free(&h2);
            }
            ss_swift_head_free(&ref);
        }
        free_examples(&s);
    }
    // a non-finite feature in the last thread's part: every thread reports it, the same line
    exset s = make_examples(40, 10, F, 2, 4, 1.0, false, NULL, 0);
    ((float *)s.bufs[37])[F + 2] = NAN;
    ss_swift_train_params p;
    ss_swift_train_params_default(&p);
    ss_swift_head h;
    char err[SS_ERRLEN];
    assert_int_equal(train_threads(4, &s, &p, F, &h, err), -1);
    assert_string_equal(err, "swift train: example 37: token 1: feature 2 is not finite");
    ss_swift_head_free(&h);
    free_examples(&s);
}

// ---------------------------------------------------------------- combine

static void test_combine(void **st) {
    (void)st;
    // ranks: swift [0,1,2], ext [2,1,0] -> worse of the two [2,1,2] -> candidate 1
    float s1[] = { 0.9f, 0.5f, 0.1f }, e1[] = { 0.1f, 0.8f, 0.9f };
    assert_int_equal(ss_swift_combine(s1, e1, 3, "ranking"), 1);
    // scaling: swift [1, .5, 0], ext [0, .875, 1] -> mean [.5, .6875, .5] -> 1
    assert_int_equal(ss_swift_combine(s1, e1, 3, "scaling"), 1);
    assert_int_equal(ss_swift_combine(s1, e1, 3, "none"), 0);
    assert_int_equal(ss_swift_combine(s1, NULL, 3, NULL), 0);
    float s2[] = { 0.2f, 0.8f, 0.5f, 0.1f }, e2[] = { 0.9f, 0.1f, 0.5f, 0.0f };
    // swift ranks [2,0,1,3], ext ranks [0,2,1,3] -> worse [2,2,1,3] -> candidate 2
    assert_int_equal(ss_swift_combine(s2, e2, 4, "ranking"), 2);
    float s3[] = { 1, 3, 2 }, e3[] = { 3, 1, 2 };
    // swift ranks [2,0,1], ext ranks [0,2,1] -> worse [2,2,1] -> 2; scaling [.5,.5,.5] -> first (0)
    assert_int_equal(ss_swift_combine(s3, e3, 3, "ranking"), 2);
    assert_int_equal(ss_swift_combine(s3, e3, 3, "scaling"), 0);
    float s4[] = { 5, 7 }, e4[] = { 2, 2 };
    // ranks swift [1,0], ext [0,1] (stable) -> worse [1,1]: tie -> higher swift = 1
    assert_int_equal(ss_swift_combine(s4, e4, 2, "ranking"), 1);
    // scaling: all ext equal count as 1: [0+1, 1+1]/2 -> 1
    assert_int_equal(ss_swift_combine(s4, e4, 2, "scaling"), 1);
    assert_int_equal(ss_swift_combine(s1, e1, 3, "bogus"), -1);
    assert_int_equal(ss_swift_combine(s1, e1, 0, "ranking"), -1);
    assert_int_equal(ss_swift_combine(s1, NULL, 3, "ranking"), -1);
}

// ---------------------------------------------------------------- head file

static char tmpdir[256];

static void test_head_file(void **st) {
    (void)st;
    char path[300], err[SS_ERRLEN];
    snprintf(path, sizeof path, "%s/head.gguf", tmpdir);
    ss_swift_spec spec;
    assert_int_equal(ss_swift_spec_parse(&spec, "last2", true, false, 4, 8, 100, err, sizeof err), 0);
    ss_swift_head h, g;
    ss_swift_head_init(&h, &spec);
    for (int i = 0; i < 2 * h.dim; i++) h.W[i] = (float)nrand();
    h.b[0] = 0.25f; h.b[1] = -1.5f;
    h.no_gate = true;
    snprintf(h.model_name, sizeof h.model_name, "tiny-model");
    h.model_fingerprint = 0x0123456789abcdefULL;
    snprintf(h.train_info, sizeof h.train_info, "{\"loss\":\"bce\"}");
    snprintf(h.val_metrics, sizeof h.val_metrics, "{\"val_loss\":0.5}");
    if (ss_swift_head_save(&h, path, err, sizeof err)) fail_msg("%s", err);
    if (ss_swift_head_load(&g, path, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(g.dim, 16);
    assert_memory_equal(g.W, h.W, 2 * 16 * sizeof(float));
    assert_memory_equal(g.b, h.b, sizeof h.b);
    assert_true(g.no_gate);
    assert_true(g.spec.norm);
    assert_false(g.spec.logits);
    assert_string_equal(g.spec.layers, "last2");
    assert_int_equal(g.spec.n_layers, 2);
    assert_int_equal(g.spec.layer[0], 3);
    assert_int_equal(g.spec.layer[1], 4);
    assert_string_equal(g.model_name, "tiny-model");
    assert_true(g.model_fingerprint == 0x0123456789abcdefULL);
    assert_string_equal(g.train_info, "{\"loss\":\"bce\"}");
    assert_string_equal(g.val_metrics, "{\"val_loss\":0.5}");
    // the right model
    assert_int_equal(ss_swift_head_check_model(&g, "tiny-model", 0x0123456789abcdefULL, 4, 8, 100, err, sizeof err), 0);
    // another model: one line naming both
    assert_int_equal(ss_swift_head_check_model(&g, "other", 0x1111ULL, 4, 8, 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "tiny-model"));
    assert_non_null(strstr(err, "other"));
    assert_null(strchr(err, '\n'));
    // same fingerprint, other shapes (cannot happen for real models, but must not pass)
    assert_int_equal(ss_swift_head_check_model(&g, "tiny-model", 0x0123456789abcdefULL, 4, 16, 100, err, sizeof err), -1);
    assert_int_equal(ss_swift_head_check_model(&g, "tiny-model", 0x0123456789abcdefULL, 6, 8, 100, err, sizeof err), -1);
    ss_swift_head_free(&g);

    // logits head round trip
    ss_swift_spec ls;
    assert_int_equal(ss_swift_spec_parse(&ls, "logits", false, false, 4, 8, 100, err, sizeof err), 0);
    ss_swift_head hl;
    ss_swift_head_init(&hl, &ls);
    hl.W[7] = 2;
    char lpath[300];
    snprintf(lpath, sizeof lpath, "%s/logits.gguf", tmpdir);
    if (ss_swift_head_save(&hl, lpath, err, sizeof err)) fail_msg("%s", err);
    if (ss_swift_head_load(&g, lpath, err, sizeof err)) fail_msg("%s", err);
    assert_true(g.spec.logits);
    assert_int_equal(g.dim, 100);
    assert_true(g.W[7] == 2);
    assert_int_equal(ss_swift_head_check_model(&g, "", 0, 4, 8, 100, err, sizeof err), 0);
    assert_int_equal(ss_swift_head_check_model(&g, "", 0, 4, 8, 120, err, sizeof err), -1);
    ss_swift_head_free(&g);
    ss_swift_head_free(&hl);

    // truncated / corrupted files: a one-line error, no crash
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(size);
    assert_int_equal(fread(buf, 1, size, f), size);
    fclose(f);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.gguf", tmpdir);
    // the end of the last tensor's data (the file may be padded after it)
    ss_gguf *gg;
    if (ss_gguf_open(&gg, path, err, sizeof err)) fail_msg("%s", err);
    const ss_gguf_tensor *tb = ss_gguf_find_tensor(gg, "swift.b");
    assert_non_null(tb);
    long data_end = (long)(gg->data_offset + tb->offset + tb->nbytes);
    ss_gguf_close(gg);
    assert_true(data_end <= size);
    long cuts[] = { 0, 3, 20, size / 2, data_end - 1 };
    for (int i = 0; i < 5; i++) {
        f = fopen(bad, "wb");
        fwrite(buf, 1, cuts[i], f);
        fclose(f);
        err[0] = 0;
        assert_int_equal(ss_swift_head_load(&g, bad, err, sizeof err), -1);
        assert_true(err[0] && !strchr(err, '\n'));
        assert_null(g.W);
    }
    // flip every byte of the header region one at a time: never a crash, loads fail or stay consistent
    int refused = 0;
    for (long i = 0; i < size && i < 600; i++) {
        unsigned char keep = buf[i];
        buf[i] ^= 0xA5;
        f = fopen(bad, "wb");
        fwrite(buf, 1, size, f);
        fclose(f);
        buf[i] = keep;
        if (ss_swift_head_load(&g, bad, err, sizeof err) == 0) {
            assert_true(g.dim > 0 && g.W);
            ss_swift_head_free(&g);
        } else {
            refused++;
            assert_null(strchr(err, '\n'));
        }
    }
    printf("corrupted head files refused: %d of %ld\n", refused, size < 600 ? size : 600);
    assert_true(refused > 0);
    // not a head
    f = fopen(bad, "wb");
    fputs("hello", f);
    fclose(f);
    assert_int_equal(ss_swift_head_load(&g, bad, err, sizeof err), -1);
    assert_int_equal(ss_swift_head_load(&g, "/nonexistent/head.gguf", err, sizeof err), -1);
    // non-finite weights are not saved
    h.W[3] = NAN;
    assert_int_equal(ss_swift_head_save(&h, bad, err, sizeof err), -1);
    free(buf);
    ss_swift_head_free(&h);
}

static int setup(void **st) {
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_swift.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_running_equals_batch),
        cmocka_unit_test(test_gate_semantics),
        cmocka_unit_test(test_grad_fd),
        cmocka_unit_test(test_train_separable),
        cmocka_unit_test(test_best_epoch),
        cmocka_unit_test(test_train_dist),
        cmocka_unit_test(test_standardize_fold),
        cmocka_unit_test(test_train_errors),
        cmocka_unit_test(test_conf_init),
        cmocka_unit_test(test_combine),
        cmocka_unit_test(test_head_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
