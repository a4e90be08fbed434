// test_sampling.c — the sampler (src/sampling.c) against its definition (llama.cpp's chain:
// penalties -> top-k -> top-p -> min-p -> temperature -> draw), computed here independently in
// double precision with a plain full sort: the exact candidate distribution for many random
// configurations, chi-square tests of the draws, penalties by hand, log-probabilities, the
// xoshiro256** / splitmix64 reference vectors, seeding and greedy decoding.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "slotswift.h"
#include "ss_common.h"

// ---------------------------------------------------------------------------------------------
// helpers: a deterministic test RNG (independent of the one under test) and logits

static uint64_t lcg_state = 88172645463325252ULL;
static double urand(void) {                 // xorshift64*, [0,1)
    lcg_state ^= lcg_state >> 12; lcg_state ^= lcg_state << 25; lcg_state ^= lcg_state >> 27;
    return (double)((lcg_state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}
static double nrand(void) {                 // standard normal (Box-Muller)
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}
static float *random_logits(int V, double scale) {
    float *l = malloc(V * sizeof *l);
    for (int i = 0; i < V; i++) l[i] = (float)(scale * nrand());
    return l;
}

static ss_sampling_params params(float temp, int top_k, float top_p, float min_p) {
    ss_sampling_params p;
    ss_sampling_params_default(&p);
    p.temp = temp; p.top_k = top_k; p.top_p = top_p; p.min_p = min_p;
    p.repeat_penalty = 1.0f; p.presence_penalty = p.frequency_penalty = 0.0f;
    return p;
}

// ---------------------------------------------------------------------------------------------
// the reference: the chain by its definition, full sort, double precision. p[V] (-1 = removed).

static const float *cmp_l;
static int cmp_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (cmp_l[i] > cmp_l[j]) return -1;
    if (cmp_l[i] < cmp_l[j]) return 1;
    return i - j;
}

static void ref_dist(const float *l, int V, const ss_sampling_params *P, double *p) {
    // the descending order (logit, then id) of all tokens, by a full sort (kept for the same logits)
    static int *o = NULL, o_V = 0;
    static float *o_copy = NULL;
    if (!o || o_V != V || memcmp(o_copy, l, V * sizeof *l) != 0) {
        o = realloc(o, V * sizeof *o);
        o_copy = realloc(o_copy, V * sizeof *o_copy);
        memcpy(o_copy, l, V * sizeof *l);
        o_V = V;
        for (int i = 0; i < V; i++) o[i] = i;
        cmp_l = o_copy;
        qsort(o, V, sizeof *o, cmp_desc);
    }
    int n = V;
    if (P->top_k > 0 && P->top_k < n) n = P->top_k;                       // top-k
    if (P->top_p < 1.0f) {                                                 // top-p over softmax(kept)
        double z = 0.0, cum = 0.0;
        for (int i = 0; i < n; i++) z += exp((double)l[o[i]] - (double)l[o[0]]);
        for (int i = 0; i < n; i++) {
            cum += exp((double)l[o[i]] - (double)l[o[0]]) / z;
            if (cum >= (double)P->top_p) { n = i + 1; break; }
        }
    }
    if (P->min_p > 0.0f) {                                                 // min-p: l >= l_max + log(min_p)
        float thr = l[o[0]] + logf(P->min_p);
        int k = 1;
        while (k < n && l[o[k]] >= thr) k++;
        n = k;
    }
    double z = 0.0;                                                        // temperature, softmax
    for (int i = 0; i < V; i++) p[i] = -1.0;
    for (int i = 0; i < n; i++) { p[o[i]] = exp(((double)l[o[i]] - (double)l[o[0]]) / (double)P->temp); z += p[o[i]]; }
    for (int i = 0; i < n; i++) p[o[i]] /= z;
}

static double log_softmax_ref(const float *l, int V, int t) {
    double m = -INFINITY, z = 0.0;
    for (int i = 0; i < V; i++) if (l[i] > m) m = l[i];
    for (int i = 0; i < V; i++) z += exp((double)l[i] - m);
    return (double)l[t] - m - log(z);
}

// ---------------------------------------------------------------------------------------------

static void test_rng_vectors(void **st) {
    (void)st;
    // splitmix64 from 0 (Vigna's reference values) seeds the four state words
    ss_rng r;
    ss_rng_seed(&r, 0);
    assert_true(r.s[0] == 0xe220a8397b1dcdafULL && r.s[1] == 0x6e789e6aa1b965f4ULL &&
                r.s[2] == 0x06c45d188009454fULL && r.s[3] == 0xf88bb8a8724c81ecULL);
    // xoshiro256** from the state {1, 2, 3, 4} (reference implementation output)
    ss_rng x = {{1, 2, 3, 4}};
    assert_true(ss_rng_u64(&x) == 11520ULL);
    assert_true(ss_rng_u64(&x) == 0ULL);
    assert_true(ss_rng_u64(&x) == 1509978240ULL);
    assert_true(ss_rng_u64(&x) == 1215971899390074240ULL);
    // uniform: [0,1), mean 1/2, variance 1/12; reseeding repeats the stream
    ss_rng_seed(&r, 12345);
    double s = 0, s2 = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        double u = ss_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        s += u; s2 += u * u;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    assert_true(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / N));
    assert_true(fabs(var - 1.0 / 12) < 0.002);
    ss_rng a, b;
    ss_rng_seed(&a, 7); ss_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) assert_true(ss_rng_u64(&a) == ss_rng_u64(&b));
    ss_rng_seed(&b, 8);
    assert_true(ss_rng_u64(&a) != ss_rng_u64(&b));
}

static void test_defaults(void **st) {
    (void)st;
    ss_sampling_params p;
    memset(&p, 0xAB, sizeof p);
    ss_sampling_params_default(&p);
    assert_true(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    assert_true(p.repeat_penalty == 1.0f && p.repeat_last_n == 64);
    assert_true(p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f && p.seed == 0);
}

// ss_sampler_dist equals the reference for many random configurations and vocabulary sizes
static void test_distribution_exact(void **st) {
    (void)st;
    const int Vs[] = {1, 2, 7, 50, 1000, 151936};
    const int ks[] = {0, 1, 5, 40, 2000000};
    const float ps[] = {1.0f, 0.95f, 0.5f, 0.01f};
    const float mps[] = {0.0f, 0.05f, 0.3f};
    const float ts[] = {0.3f, 0.8f, 1.7f};
    int32_t *ids = NULL; float *pr = NULL; double *ref = NULL;
    int n_cfg = 0;
    double worst = 0.0;
    for (size_t vi = 0; vi < sizeof Vs / sizeof Vs[0]; vi++) {
        const int V = Vs[vi];
        ids = realloc(ids, V * sizeof *ids); pr = realloc(pr, V * sizeof *pr); ref = realloc(ref, V * sizeof *ref);
        double *ours = calloc(V, sizeof *ours);
        float *l = random_logits(V, V > 1000 ? 3.0 : 2.0);
        if (V >= 50) { l[3] = l[9]; l[17] = l[9]; }          // ties: resolved by lower id first
        for (size_t a = 0; a < 5; a++) for (size_t b = 0; b < 4; b++) for (size_t c = 0; c < 3; c++) for (size_t d = 0; d < 3; d++) {
            if (V == 151936 && (a + b + c + d) % 3) continue;   // a third of the configurations at 152k
            ss_sampling_params P = params(ts[d], ks[a], ps[b], mps[c]);
            ss_sampler *s = ss_sampler_new(&P, V);
            int n = ss_sampler_dist(s, l, ids, pr, V);
            ref_dist(l, V, &P, ref);
            int n_ref = 0;
            for (int i = 0; i < V; i++) n_ref += ref[i] >= 0.0;
            if (n != n_ref) fail_msg("V=%d k=%d p=%g min_p=%g T=%g: %d candidates, reference %d", V, ks[a], ps[b], mps[c], ts[d], n, n_ref);
            for (int i = 0; i < V; i++) ours[i] = -1.0;
            double sum = 0.0;
            bool sorted = ks[a] > 0 && ks[a] < V, by_id = !sorted && ps[b] >= 1.0f;
            for (int i = 0; i < n; i++) {
                assert_true(ids[i] >= 0 && ids[i] < V);
                assert_true(ours[ids[i]] == -1.0);               // no duplicates
                ours[ids[i]] = pr[i];
                sum += pr[i];
                if (i > 0 && sorted) assert_true(l[ids[i - 1]] > l[ids[i]] || (l[ids[i - 1]] == l[ids[i]] && ids[i - 1] < ids[i]));
                if (i > 0 && by_id) assert_true(ids[i - 1] < ids[i]);
            }
            assert_true(fabs(sum - 1.0) < 1e-5);
            for (int i = 0; i < V; i++) {
                if ((ref[i] >= 0) != (ours[i] >= 0)) fail_msg("V=%d k=%d p=%g min_p=%g T=%g: token %d kept %d, reference %d", V, ks[a], ps[b], mps[c], ts[d], i, ours[i] >= 0, ref[i] >= 0);
                if (ref[i] < 0) continue;
                double e = fabs(ours[i] - ref[i]) / (ref[i] > 1e-3 ? ref[i] : 1e-3);
                if (e > worst) worst = e;
                if (e > 2e-5) fail_msg("V=%d token %d: p %.9g, reference %.9g", V, i, ours[i], ref[i]);
            }
            ss_sampler_free(s);
            n_cfg++;
        }
        free(l); free(ours);
    }
    printf("%d configurations: candidate sets identical, probabilities within %.2g relative\n", n_cfg, worst);
    assert_true(n_cfg > 500);
    free(ids); free(pr); free(ref);
}

// the draws follow the distribution: chi-square over the kept tokens, removed tokens never drawn
static void test_draws_chi_square(void **st) {
    (void)st;
    struct { float temp; int k; float p, mp; } cfg[] = {
        {1.0f, 0, 1.0f, 0.0f},          // plain softmax
        {0.7f, 10, 1.0f, 0.0f},         // top-k + temperature
        {1.0f, 0, 0.8f, 0.0f},          // top-p
        {1.3f, 0, 1.0f, 0.1f},          // min-p + temperature
        {0.8f, 40, 0.95f, 0.05f},       // llama.cpp defaults
        {2.5f, 25, 0.6f, 0.02f},
    };
    const int V = 60, N = 100000;
    float *l = random_logits(V, 1.5);
    double ref[60];
    long cnt[60];
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        ss_sampling_params P = params(cfg[c].temp, cfg[c].k, cfg[c].p, cfg[c].mp);
        P.seed = 1000 + c;
        ss_sampler *s = ss_sampler_new(&P, V);
        ref_dist(l, V, &P, ref);
        memset(cnt, 0, sizeof cnt);
        for (int i = 0; i < N; i++) {
            int32_t t = ss_sampler_sample(s, l, NULL);
            assert_true(t >= 0 && t < V);
            cnt[t]++;
        }
        double chi2 = 0.0;
        int df = -1;
        for (int i = 0; i < V; i++) {
            if (ref[i] <= 0.0) { if (cnt[i]) fail_msg("cfg %zu: removed token %d drawn %ld times", c, i, cnt[i]); continue; }
            double e = ref[i] * N;
            chi2 += (cnt[i] - e) * (cnt[i] - e) / e;
            df++;
        }
        double bound = df + 6.0 * sqrt(2.0 * (df > 0 ? df : 1)) + 10.0;
        printf("cfg %zu: %d kept tokens, chi2 = %.1f (df %d, bound %.1f)\n", c, df + 1, chi2, df, bound);
        assert_true(chi2 < bound);
        ss_sampler_free(s);
    }
    free(l);
}

// penalties by hand: l' = (l > 0 ? l / rp : l * rp) - count * freq - presence, over the last N tokens
static void test_penalties(void **st) {
    (void)st;
    const int V = 8;
    const float l[8] = {2.0f, -1.0f, 0.0f, 0.5f, -3.0f, 1.0f, 4.0f, -0.25f};
    struct { float rp, fp, pp; int last_n; int hist[8]; int nh; float want[8]; } cs[] = {
        // rp 2 on tokens {0, 1, 2, 6}: 2/2, -1*2, 0*2, 4/2
        {2.0f, 0, 0, 64, {0, 1, 2, 6}, 4, {1.0f, -2.0f, 0.0f, 0.5f, -3.0f, 1.0f, 2.0f, -0.25f}},
        // frequency 0.5 and presence 0.25: token 5 three times, token 7 once
        {1.0f, 0.5f, 0.25f, 64, {5, 7, 5, 5}, 4, {2.0f, -1.0f, 0.0f, 0.5f, -3.0f, 1.0f - 1.5f - 0.25f, 4.0f, -0.25f - 0.5f - 0.25f}},
        // all three; the window of 3 keeps the last three tokens {3, 3, 4} (0 and 6 left it)
        {1.5f, 0.1f, 0.2f, 3, {0, 6, 3, 3, 4}, 5, {2.0f, -1.0f, 0.0f, 0.5f / 1.5f - 0.2f - 0.2f, -3.0f * 1.5f - 0.1f - 0.2f, 1.0f, 4.0f, -0.25f}},
        // last_n = -1: the whole history
        {1.0f, 1.0f, 0.0f, -1, {6, 1, 6, 0, 6, 6}, 6, {1.0f, -2.0f, 0.0f, 0.5f, -3.0f, 1.0f, 0.0f, -0.25f}},
        // last_n = 0: penalties off
        {3.0f, 1.0f, 1.0f, 0, {6, 6, 6}, 3, {2.0f, -1.0f, 0.0f, 0.5f, -3.0f, 1.0f, 4.0f, -0.25f}},
    };
    int32_t ids[8]; float pr[8];
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        ss_sampling_params P = params(1.0f, 0, 1.0f, 0.0f);
        P.repeat_penalty = cs[c].rp; P.frequency_penalty = cs[c].fp; P.presence_penalty = cs[c].pp; P.repeat_last_n = cs[c].last_n;
        ss_sampler *s = ss_sampler_new(&P, V);
        for (int i = 0; i < cs[c].nh; i++) ss_sampler_accept(s, cs[c].hist[i]);
        ss_sampler_accept(s, -1); ss_sampler_accept(s, V);         // out of range: ignored
        int n = ss_sampler_dist(s, l, ids, pr, V);
        assert_int_equal(n, V);
        // softmax of the hand-computed logits
        double z = 0, m = -INFINITY, want[8];
        for (int i = 0; i < V; i++) if (cs[c].want[i] > m) m = cs[c].want[i];
        for (int i = 0; i < V; i++) z += exp(cs[c].want[i] - m);
        for (int i = 0; i < V; i++) want[i] = exp(cs[c].want[i] - m) / z;
        for (int i = 0; i < n; i++)
            if (fabs(pr[i] - want[ids[i]]) > 1e-6) fail_msg("case %zu token %d: p %.8f, want %.8f", c, ids[i], pr[i], want[ids[i]]);
        // the logprob stays the model's own (raw logits)
        float lp;
        int32_t t = ss_sampler_sample(s, l, &lp);
        assert_true(fabs(lp - log_softmax_ref(l, V, t)) < 1e-6);
        // reset forgets the history
        ss_sampler_reset(s);
        ss_sampler_dist(s, l, ids, pr, V);
        double z0 = 0;                                             // softmax of the raw logits (max 4)
        for (int i = 0; i < V; i++) z0 += exp(l[i] - 4.0);
        for (int i = 0; i < V; i++) assert_true(fabs(pr[i] - exp(l[ids[i]] - 4.0) / z0) < 1e-6);
        ss_sampler_free(s);
    }
    // greedy decoding sees the penalties: the argmax (token 6) is penalized below token 0
    ss_sampling_params P = params(0.0f, 40, 0.95f, 0.05f);
    P.repeat_penalty = 4.0f;
    ss_sampler *s = ss_sampler_new(&P, V);
    assert_int_equal(ss_sampler_sample(s, l, NULL), 6);
    ss_sampler_accept(s, 6);
    float lp;
    assert_int_equal(ss_sampler_sample(s, l, &lp), 0);          // 4/4 = 1 < 2
    assert_true(fabs(lp - log_softmax_ref(l, V, 0)) < 1e-6);
    ss_sampler_free(s);
}

// temp <= 0: argmax of the logits (first maximum), the RNG untouched
static void test_greedy(void **st) {
    (void)st;
    for (int trial = 0; trial < 20; trial++) {
        int V = 1 + (int)(urand() * 5000);
        float *l = random_logits(V, 2.0);
        if (V > 10 && trial % 2) l[V / 2] = l[V / 3] = 50.0f;   // a tie: the lower id wins
        int best = 0;
        for (int i = 1; i < V; i++) if (l[i] > l[best]) best = i;
        assert_int_equal(ss_argmax(l, V), best);
        ss_sampling_params P = params(trial % 3 == 0 ? -1.0f : 0.0f, trial, 0.5f, 0.1f);
        ss_sampler *s = ss_sampler_new(&P, V);
        float lp;
        for (int k = 0; k < 3; k++) assert_int_equal(ss_sampler_sample(s, l, &lp), best);
        assert_true(fabs(lp - log_softmax_ref(l, V, best)) < 1e-5);
        int32_t id; float p;
        assert_int_equal(ss_sampler_dist(s, l, &id, &p, 1), 1);
        assert_true(id == best && p == 1.0f);
        ss_sampler_free(s);
        free(l);
    }
    // NaN is never the argmax
    float x[4] = {NAN, 1.0f, NAN, 3.0f};
    assert_int_equal(ss_argmax(x, 4), 3);
}

// same seed -> same tokens; other seed -> other tokens; reset and reseed restart the stream
static void test_seeding(void **st) {
    (void)st;
    const int V = 32000, T = 200;
    float *l = random_logits(V, 2.5);
    ss_sampling_params P = params(1.0f, 0, 1.0f, 0.0f);
    P.seed = 42;
    ss_sampler *a = ss_sampler_new(&P, V), *b = ss_sampler_new(&P, V);
    P.seed = 43;
    ss_sampler *c = ss_sampler_new(&P, V);
    int32_t ta[200];
    int diff = 0, distinct = 0;
    for (int t = 0; t < T; t++) {
        ta[t] = ss_sampler_sample(a, l, NULL);
        assert_int_equal(ss_sampler_sample(b, l, NULL), ta[t]);
        diff += ss_sampler_sample(c, l, NULL) != ta[t];
        bool seen = false;
        for (int u = 0; u < t; u++) seen |= ta[u] == ta[t];
        distinct += !seen;
    }
    assert_true(diff > T / 2);
    assert_true(distinct > 20);          // it does sample
    ss_sampler_reset(a);
    for (int t = 0; t < T; t++) assert_int_equal(ss_sampler_sample(a, l, NULL), ta[t]);
    ss_sampler_reseed(c, 42);
    for (int t = 0; t < T; t++) assert_int_equal(ss_sampler_sample(c, l, NULL), ta[t]);
    ss_sampler_free(a); ss_sampler_free(b); ss_sampler_free(c);
    free(l);
}

// logprob = log_softmax(raw logits)[token], in double, whatever the chain does
static void test_logprob(void **st) {
    (void)st;
    const int Vs[] = {2, 100, 151936};
    for (size_t v = 0; v < 3; v++) {
        int V = Vs[v];
        float *l = random_logits(V, 4.0);
        ss_sampling_params P;
        ss_sampling_params_default(&P);
        P.repeat_penalty = 1.3f; P.frequency_penalty = 0.2f;
        ss_sampler *s = ss_sampler_new(&P, V);
        double worst = 0;
        for (int t = 0; t < 30; t++) {
            float lp;
            int32_t tok = ss_sampler_sample(s, l, &lp);
            ss_sampler_accept(s, tok);
            double e = fabs(lp - log_softmax_ref(l, V, tok));
            if (e > worst) worst = e;
        }
        printf("V=%d: |logprob - log_softmax| <= %.2g\n", V, worst);
        assert_true(worst < 2e-6 * (1 + log(V)));
        ss_sampler_free(s);
        free(l);
    }
}

// degenerate input: never a crash, never a NaN / removed token
static void test_degenerate(void **st) {
    (void)st;
    ss_sampling_params P;
    ss_sampling_params_default(&P);
    assert_null(ss_sampler_new(&P, 0));
    assert_null(ss_sampler_new(&P, -5));
    assert_null(ss_sampler_new(NULL, 10));
    ss_sampler_free(NULL);
    float l[6] = {-INFINITY, NAN, 2.0f, -INFINITY, NAN, -INFINITY};
    struct { float t; int k; float p, mp; } cfg[] = {{0.8f, 40, 0.95f, 0.05f}, {1.0f, 0, 1.0f, 0.0f}, {1.0f, 0, 0.5f, 0.0f}, {1.0f, 3, 1.0f, 0.0f}, {0.0f, 0, 1.0f, 0.0f}};
    for (size_t c = 0; c < 5; c++) {
        ss_sampling_params Q = params(cfg[c].t, cfg[c].k, cfg[c].p, cfg[c].mp);
        ss_sampler *s = ss_sampler_new(&Q, 6);
        float lp;
        for (int i = 0; i < 20; i++) { assert_int_equal(ss_sampler_sample(s, l, &lp), 2); assert_true(lp == 0.0f); }
        ss_sampler_free(s);
    }
    // invalid parameters are treated as "off", never as a division by zero
    ss_sampling_params Q = params(1.0f, -3, 7.0f, -1.0f);
    Q.repeat_penalty = 0.0f;
    ss_sampler *s = ss_sampler_new(&Q, 6);
    ss_sampler_accept(s, 2);
    float m[6] = {0, 1, 2, 3, 4, 5};
    int32_t ids[6]; float pr[6];
    assert_int_equal(ss_sampler_dist(s, m, ids, pr, 6), 6);
    for (int i = 0; i < 6; i++) assert_true(isfinite(pr[i]) && pr[i] > 0);
    ss_sampler_free(s);
    // all logits equal: uniform
    float e[4] = {1, 1, 1, 1};
    ss_sampling_params U = params(1.0f, 0, 1.0f, 0.0f);
    s = ss_sampler_new(&U, 4);
    assert_int_equal(ss_sampler_dist(s, e, ids, pr, 4), 4);
    for (int i = 0; i < 4; i++) assert_true(fabs(pr[i] - 0.25f) < 1e-7);
    ss_sampler_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_vectors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_distribution_exact),
        cmocka_unit_test(test_draws_chi_square),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_seeding),
        cmocka_unit_test(test_logprob),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
