// test_vote.c — exact early stop of the vote (src/methods/vote.c, ss_vote_decided) against brute
// force: for every small case (n <= 6 candidates, answers from a small alphabet with equal numbers
// written differently, no answer, an empty answer), every finished/unfinished split, all completions
// of the unfinished candidates (each: one of the alphabet, none, or a fresh answer) are voted with
// ss_select_pick over all n; "decided" must hold exactly when every completion selects the same
// answer, and the winner must hold it. Plus constructed tie cases and the numeric-tolerance guard.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
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

// adaptive sampling's rule: the leader's votes >= agree * n (and at least one)
static void test_vote_agree(void **st) {
    (void)st;
    const char *a[4] = { "5", "5.0", "5", "7" };
    assert_true(ss_vote_agree(a, 4, 0.75f));     // 3 of 4
    assert_false(ss_vote_agree(a, 4, 0.8f));
    const char *b[4] = { "5", "7", NULL, "" };
    assert_true(ss_vote_agree(b, 4, 0.25f));
    assert_false(ss_vote_agree(b, 4, 0.5f));
    const char *c[2] = { NULL, "" };
    assert_false(ss_vote_agree(c, 2, 0.01f));    // no answer: never agreed
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_brute_force),
        cmocka_unit_test(test_vote_ties),
        cmocka_unit_test(test_vote_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
