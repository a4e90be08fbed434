// test_vote.c — exact early stop of the vote (src/methods/vote.c, ss_vote_decided) against brute
// force: for every small case (n <= 6 candidates, answers from a small alphabet with equal numbers
// written differently, no answer, an empty answer), every finished/unfinished split, all completions
// of the unfinished candidates (each: one of the alphabet, none, or a fresh answer) are voted with
// ss_select_pick over all n; "decided" must hold exactly when every completion selects the same
// answer, and the winner must hold it. Plus constructed tie cases and the numeric-tolerance guard.
// Adaptive sampling's stopping rule (ss_vote_adaptive_stop): its Beta posterior against a Simpson
// integration, its parts on constructed cases, its exact part against the same brute force. The
// confidence-weighted vote (ss_select_weighted_vote) and the rule's weighted-margin part against a
// long-double recomputation over every small case, with the answer classes written out by hand.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include "ss_vote.h"

// "5" and "5.0" are one answer; "" equals nothing; NULL = no answer
static const char *const ALPHA[] = { "5", "5.0", "7", "x", "", NULL };
#define NA 6
static const char *const FRESH[] = { "101", "102", "103", "104", "105", "106" };

// does every completion of the unfinished candidates select an answer equal to `want`?
static int all_complete(const char **ans, const bool *fin, int n, int i, const char *want, int *n_compl) {
    if (i == n) {
        int w = ss_select_pick(SS_SELECT_VOTE, ans, NULL, NULL, NULL, n);
        (*n_compl)++;
        if (!want) return ans[w] == NULL;
        return ans[w] && ss_answer_equal(ans[w], want);
    }
    if (fin[i]) return all_complete(ans, fin, n, i + 1, want, n_compl);
    for (int a = 0; a < NA + 1; a++) {
        ans[i] = a < NA ? ALPHA[a] : FRESH[i];
        if (!all_complete(ans, fin, n, i + 1, want, n_compl)) { ans[i] = NULL; return 0; }
    }
    ans[i] = NULL;
    return 1;
}

static void test_vote_brute_force(void **st) {
    (void)st;
    long cases = 0, decided = 0;
    for (int n = 1; n <= 5; n++) {
        int total = 1;
        for (int i = 0; i < n; i++) total *= NA;
        for (int mask = 0; mask < (1 << n); mask++) {          // finished set
            int nf = 0;
            for (int i = 0; i < n; i++) nf += mask >> i & 1;
            if (nf == n) continue;
            // every assignment of the finished candidates' answers (unfinished: their own are ignored)
            for (int code = 0; code < total; code++) {
                const char *ans[6];
                bool fin[6];
                int c = code, skip = 0;
                for (int i = 0; i < n; i++) {
                    fin[i] = mask >> i & 1;
                    ans[i] = ALPHA[c % NA];
                    c /= NA;
                    if (!fin[i] && ans[i] != NULL) skip = 1;   // one code per finished assignment
                }
                if (skip) continue;
                cases++;
                int w = -1, n_compl = 0;
                int r = ss_vote_decided(ans, fin, n, &w);
                assert_true(r == 0 || r == 1);
                // brute force: the answer of the first completion, then all others against it
                const char *cur[6];
                memcpy(cur, ans, sizeof cur);
                for (int i = 0; i < n; i++) if (!fin[i]) cur[i] = ALPHA[NA - 1];   // all unfinished: no answer
                int w0 = ss_select_pick(SS_SELECT_VOTE, cur, NULL, NULL, NULL, n);
                const char *want = cur[w0];
                for (int i = 0; i < n; i++) if (!fin[i]) cur[i] = NULL;
                int brute = all_complete(cur, fin, n, 0, want, &n_compl);
                // a vote "decided" on no answer at all is not a decision (nothing to stop for)
                if (brute && !want) brute = 0;
                if (r != brute) {
                    char msg[256] = "";
                    for (int i = 0; i < n; i++)
                        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " %s%s", fin[i] ? "" : "?",
                                 fin[i] ? (ans[i] ? (*ans[i] ? ans[i] : "''") : "-") : "");
                    fail_msg("n %d [%s]: decided %d, brute force %d", n, msg, r, brute);
                }
                if (r == 1) {
                    decided++;
                    assert_true(fin[w] && ans[w] && ss_answer_equal(ans[w], want));
                    // the first finished candidate holding the answer
                    for (int i = 0; i < w; i++) assert_false(fin[i] && ans[i] && ss_answer_equal(ans[i], want));
                }
            }
        }
    }
    assert_true(cases > 10000 && decided > 1000);
}

// constructed ties (the rule: most votes, ties to the lowest candidate index)
static void test_vote_ties(void **st) {
    (void)st;
    int w = -1;
    // 0,1 say 5; 2,3 running: they could tie 2-2 with a new answer, but 0 comes first -> decided
    const char *a1[4] = { "5", "5", NULL, NULL };
    const bool f1[4] = { 1, 1, 0, 0 };
    assert_int_equal(ss_vote_decided(a1, f1, 4, &w), 1);
    assert_int_equal(w, 0);
    // 2,3 say 5; 0,1 running: a 2-2 tie with a new answer would go to candidate 0 -> undecided
    const char *a2[4] = { NULL, NULL, "5", "5.0" };
    const bool f2[4] = { 0, 0, 1, 1 };
    assert_int_equal(ss_vote_decided(a2, f2, 4, &w), 0);
    // 0 says 7, 1,2 say 5, 3 running: 7 could reach 2 with first index 0 < 1 -> undecided
    const char *a3[4] = { "7", "5", "5", NULL };
    const bool f3[4] = { 1, 1, 1, 0 };
    assert_int_equal(ss_vote_decided(a3, f3, 4, &w), 0);
    // 0,1 say 5, 2 says 7, 3 running: 7 could tie 2-2, first index 0 < 2 -> decided for 5
    const char *a4[4] = { "5", "5", "7", NULL };
    const bool f4[4] = { 1, 1, 1, 0 };
    assert_int_equal(ss_vote_decided(a4, f4, 4, &w), 1);
    assert_int_equal(w, 0);
    // 1,2 say 5, 0 says 7, 3 running: 7 could tie 2-2 with first index 0 -> undecided
    const char *a5[4] = { "7", "5", "5", NULL };
    assert_int_equal(ss_vote_decided(a5, f4, 4, &w), 0);
    // every candidate finished: the full vote (a 1-1 tie goes to candidate 0)
    const char *a6[2] = { "x", "y" };
    const bool f6[2] = { 1, 1 };
    assert_int_equal(ss_vote_decided(a6, f6, 2, &w), 1);
    assert_int_equal(w, 0);
    // no finished answer: undecided
    const char *a7[3] = { NULL, "", NULL };
    const bool f7[3] = { 1, 1, 0 };
    assert_int_equal(ss_vote_decided(a7, f7, 3, &w), 0);
    // 8 candidates, 5 of them agree among 6 finished: 5 > 1 + 2 -> decided, stop the other 2
    const char *a8[8] = { "3", "3", "4", "3", "3", "3", NULL, NULL };
    const bool f8[8] = { 1, 1, 1, 1, 1, 1, 0, 0 };
    assert_int_equal(ss_vote_decided(a8, f8, 8, &w), 1);
    assert_int_equal(w, 0);
    // numbers within the tolerance of ss_answer_equal that a third answer could join: undecided
    const char *a9[5] = { "1.000000", "1.000000", "1.000000", "1.0000015", NULL };
    const bool f9[5] = { 1, 1, 1, 1, 0 };
    assert_int_equal(ss_vote_decided(a9, f9, 5, &w), 0);
    // bad arguments
    assert_int_equal(ss_vote_decided(a9, NULL, 5, &w), -1);
    assert_int_equal(ss_vote_decided(a9, f9, 0, &w), -1);
}

// adaptive sampling's Beta criterion: P(X > 1/2) for X ~ Beta(a+1, b+1), against a float64
// Simpson integration of the Beta density (lgamma normalisation) and hand-computed values
#define assert_close(x, y, tol) assert_true(fabs((x) - (y)) <= (tol))

static double beta_tail_simpson(int a, int b) {
    const int K = 20000;   // even number of intervals over [1/2, 1]
    const double h = 0.5 / K, lB = lgamma(a + 1.0) + lgamma(b + 1.0) - lgamma(a + b + 2.0);
    double s = 0;
    for (int k = 0; k <= K; k++) {
        const double x = 0.5 + k * h, w = k == 0 || k == K ? 1 : k % 2 ? 4 : 2;
        const double f = x >= 1 ? (b == 0 ? exp(-lB) : 0) : exp(a * log(x) + b * log1p(-x) - lB);
        s += w * f;
    }
    return s * h / 3;
}

static void test_vote_beta_conf(void **st) {
    (void)st;
    assert_close(ss_vote_beta_conf(0, 0), 0.5, 1e-12);
    assert_close(ss_vote_beta_conf(1, 0), 0.75, 1e-12);
    assert_close(ss_vote_beta_conf(2, 0), 7.0 / 8, 1e-12);
    assert_close(ss_vote_beta_conf(3, 0), 15.0 / 16, 1e-12);
    assert_close(ss_vote_beta_conf(3, 1), 26.0 / 32, 1e-12);   // 1 - (C(5,4) + C(5,5)) / 32
    assert_close(ss_vote_beta_conf(2, 2), 0.5, 1e-12);
    for (int a = 0; a <= 30; a++)
        for (int b = 0; b <= 30; b++) {
            const double want = beta_tail_simpson(a, b);
            if (fabs(ss_vote_beta_conf(a, b) - want) > 1e-9) fail_msg("a %d b %d: %.12g, Simpson %.12g", a, b, ss_vote_beta_conf(a, b), want);
        }
    assert_true(isnan(ss_vote_beta_conf(-1, 0)));
}

// the stopping rule on constructed cases: each of its three parts alone, and their thresholds
static void test_vote_adaptive_stop(void **st) {
    (void)st;
    const double lo[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };   // geometric-mean token probability e^-1
    const double hi[8] = { -0.01, -0.01, -0.01, -0.01, -0.01, -0.01, -0.01, -0.01 };   // e^-0.01 = 0.990
    const ss_vote_rule def = { 0.9f, 0, 0.95f, 0, 0 }, off = { 1, 0, 1, 0, 0 };
    const char *one[1] = { "5" };
    assert_int_equal(ss_vote_adaptive_stop(one, lo, 1, 8, &def), 0);   // Beta(2,1): 0.75
    assert_int_equal(ss_vote_adaptive_stop(one, hi, 1, 8, &def), 1);   // confident: 0.990 > 0.95
    const ss_vote_rule tok99 = { 0.9f, 0, 0.995f, 0, 0 };
    assert_int_equal(ss_vote_adaptive_stop(one, hi, 1, 8, &tok99), 0);
    const char *two[2] = { "5", "5.0" };                                 // one answer, 2 votes
    assert_int_equal(ss_vote_adaptive_stop(two, lo, 2, 8, &def), 0);   // 7/8 < 0.9
    const ss_vote_rule c85 = { 0.85f, 0, 1, 0, 0 };
    assert_int_equal(ss_vote_adaptive_stop(two, lo, 2, 8, &c85), 1);  // 7/8 > 0.85
    const char *three[3] = { "5", "5", "5" };
    assert_int_equal(ss_vote_adaptive_stop(three, lo, 3, 8, &def), 1); // 15/16
    const char *tie[2] = { "5", "7" };                                   // confident but tied: go on
    assert_int_equal(ss_vote_adaptive_stop(tie, hi, 2, 8, &def), 0);
    // the confident candidate must hold the leading answer
    const char *lead[3] = { "5", "5", "7" };
    const double lp3[3] = { -1, -1, -0.01 };
    assert_int_equal(ss_vote_adaptive_stop(lead, lp3, 3, 8, &def), 0);
    const double lp3b[3] = { -1, -0.01, -1 };
    assert_int_equal(ss_vote_adaptive_stop(lead, lp3b, 3, 8, &def), 1);
    // the share: 3 of 5 lead with the runner-up at 1 (Beta(4,2): 26/32 = 0.8125)
    const char *five[5] = { "5", "5", "5", "7", "x" };
    const ss_vote_rule c80a60 = { 0.8f, 0.6f, 1, 0, 0 }, c80a70 = { 0.8f, 0.7f, 1, 0, 0 };
    assert_int_equal(ss_vote_adaptive_stop(five, lo, 5, 16, &c80a60), 1);
    assert_int_equal(ss_vote_adaptive_stop(five, lo, 5, 16, &c80a70), 0);
    // exact: 5, 5, 7 with one of 4 left is decided (a 7 ties at 2, the lower first index wins), with
    // two left it is not
    assert_int_equal(ss_vote_adaptive_stop(lead, lo, 3, 4, &off), 1);
    assert_int_equal(ss_vote_adaptive_stop(lead, lo, 3, 5, &off), 0);
    // no answer: never stops; bad arguments
    const char *none[2] = { NULL, "" };
    assert_int_equal(ss_vote_adaptive_stop(none, hi, 2, 2 + 0, &def), 0);
    assert_int_equal(ss_vote_adaptive_stop(none, hi, 2, 1, &def), -1);
    assert_int_equal(ss_vote_adaptive_stop(none, NULL, 2, 4, &def), -1);
}

// the exact part against brute force: with the other two parts off, a stop after n of N candidates
// happens exactly when every answer of the N - n unstarted ones selects the same answer
static void test_vote_adaptive_exact_brute(void **st) {
    (void)st;
    const ss_vote_rule off = { 1, 0, 1, 0, 0 };
    const double lp[6] = { 0 };
    long stops = 0, cases = 0;
    for (int N = 2; N <= 6; N++)
        for (int n = 1; n < N; n++) {
            int total = 1;
            for (int i = 0; i < n; i++) total *= NA;
            for (int code = 0; code < total; code++) {
                const char *ans[6] = { 0 };
                bool fin[6] = { 0 };
                for (int i = 0, c = code; i < n; i++, c /= NA) { ans[i] = ALPHA[c % NA]; fin[i] = true; }
                const int r = ss_vote_adaptive_stop(ans, lp, n, N, &off);
                assert_true(r == 0 || r == 1);
                const char *cur[6];
                memcpy(cur, ans, sizeof cur);
                const int w0 = ss_select_pick(SS_SELECT_VOTE, cur, NULL, NULL, NULL, N);   // the unstarted: no answer
                int n_compl = 0;
                int brute = cur[w0] ? all_complete(cur, fin, N, 0, cur[w0], &n_compl) : 0;
                if (r != brute) fail_msg("N %d n %d code %d: stop %d, brute force %d", N, n, code, r, brute);
                stops += r; cases++;
            }
        }
    assert_true(stops > 0 && stops < cases);
}

// ALPHA's answer classes written out: "5" = "5.0" (0), "7" (1), "x" (2); "" and NULL: none (-1)
static const int ALPHA_CLASS[NA] = { 0, 0, 1, 2, -1, -1 };

// the weighted vote by hand: class weights Σ exp(gamma · lp) in long double, the heaviest class (ties:
// the one whose first candidate comes first), its first candidate, its margin over the next class
static int weighted_ref(const int *code, const double *lp, int n, double gamma, long double *margin) {
    long double W[3] = { 0 };
    int first[3] = { -1, -1, -1 };
    for (int i = 0; i < n; i++) {
        const int k = ALPHA_CLASS[code[i]];
        if (k < 0) continue;
        if (first[k] < 0) first[k] = i;
        if (lp[i] > -INFINITY) W[k] += expl((long double)gamma * lp[i]);
    }
    int best = -1;
    for (int i = 0; i < n; i++) {   // classes in the order of their first candidates
        const int k = ALPHA_CLASS[code[i]];
        if (k < 0 || first[k] != i) continue;
        if (best < 0 || W[k] > W[ALPHA_CLASS[code[best]]]) best = i;
    }
    *margin = 0;
    if (best < 0) return -1;
    long double second = 0;
    for (int k = 0; k < 3; k++) if (first[k] >= 0 && k != ALPHA_CLASS[code[best]] && W[k] > second) second = W[k];
    *margin = W[ALPHA_CLASS[code[best]]] - second;
    return best;
}

// every case of n <= 3 candidates (answers from ALPHA, lp from {-0.01, -0.3, -inf}), gamma 1 and 24:
// the pick and the margin against weighted_ref, and the rule's part (4) alone (N = n: the exact part
// has nothing to decide; Beta and confidence off) stops exactly when the margin exceeds the threshold
static void test_vote_weighted(void **st) {
    (void)st;
    const double LP[3] = { -0.01, -0.3, -INFINITY };
    const float gammas[2] = { 1, 24 }, margins[3] = { 0.05f, 0.5f, 1.2f };
    long cases = 0, stops = 0;
    for (int n = 1; n <= 3; n++) {
        int total = 1;
        for (int i = 0; i < n; i++) total *= NA * 3;
        for (int code = 0; code < total; code++) {
            int ac[4];
            const char *ans[4];
            double lp[4];
            for (int i = 0, c = code; i < n; i++, c /= NA * 3) { ac[i] = c % NA; ans[i] = ALPHA[ac[i]]; lp[i] = LP[(c / NA) % 3]; }
            for (int g = 0; g < 2; g++) {
                long double want_m;
                const int want = weighted_ref(ac, lp, n, gammas[g], &want_m);
                double m = -1;
                const int got = ss_select_weighted_vote(ans, lp, n, gammas[g], &m);
                if (got != want || fabsl((long double)m - want_m) > 1e-12L * (1 + want_m))
                    fail_msg("n %d code %d gamma %g: pick %d margin %.17g, by hand %d %.17Lg", n, code, gammas[g], got, m, want, want_m);
                for (int t = 0; t < 3; t++) {
                    const ss_vote_rule r = { 1, 0, 1, margins[t], gammas[g] };
                    const int s = ss_vote_adaptive_stop(ans, lp, n, n, &r);
                    if (s != (want_m > margins[t])) fail_msg("n %d code %d gamma %g margin %g: stop %d", n, code, gammas[g], margins[t], s);
                    stops += s; cases++;
                }
            }
        }
    }
    assert_true(stops > 0 && stops < cases);
    // constructed: a confident single answer against two agreeing less confident ones
    const char *a3[3] = { "7", "5", "5.0" };
    const double l3[3] = { -0.01, -0.2, -0.2 };   // gamma 24: 0.787 against 2 * 0.0082
    double m;
    assert_int_equal(ss_select_weighted_vote(a3, l3, 3, 24, &m), 0);
    assert_true(fabs(m - (exp(-0.24) - 2 * exp(-4.8))) < 1e-15);
    assert_int_equal(ss_select_weighted_vote(a3, l3, 3, 1, &m), 1);   // gamma 1: 0.990 against 1.637
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, a3, NULL, NULL, NULL, 3), 1);
    // no answer; bad arguments
    const char *none[2] = { NULL, "" };
    assert_int_equal(ss_select_weighted_vote(none, l3, 2, 24, &m), -1);
    assert_true(m == 0);
    assert_int_equal(ss_select_weighted_vote(a3, NULL, 3, 24, &m), -1);
    assert_int_equal(ss_select_weighted_vote(a3, l3, 0, 24, &m), -1);
    assert_int_equal(ss_select_weighted_vote(a3, l3, 3, NAN, &m), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_brute_force),
        cmocka_unit_test(test_vote_ties),
        cmocka_unit_test(test_vote_beta_conf),
        cmocka_unit_test(test_vote_adaptive_stop),
        cmocka_unit_test(test_vote_adaptive_exact_brute),
        cmocka_unit_test(test_vote_weighted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
