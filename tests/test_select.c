// test_select.c — the summary's vote counting by answer class (select_classes +
// select_pick_classes, O(k)) against the definition (select_pick_subset: every candidate's votes
// counted by comparing it with every other, O(k^2)) on random questions and random subsets, and a
// few hand-made cases (ties to the lowest index, empty answers, no answers, -inf log-probs).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "select.h"
#include "slotswift.h"

static const char *pool[] = { "12", "12.0", "1,200", "1200", "$1200", "13", "", " ", "\\frac12", "\\frac{1}{2}", "0.5", "1/2",
                              "x = 4", "4", "abc", "ABC", "1450000", "1450001", "\\text{}", "50\\%", "50" };

static void test_random_agrees(void **st) {
    (void)st;
    ss_rng rng;
    ss_rng_seed(&rng, 11);
    int n_cases = 0;
    for (int trial = 0; trial < 400; trial++) {
        int n = 1 + (int)(ss_rng_u64(&rng) % 24);
        char **ans = calloc(n, sizeof(char *));
        ss_gen_cand *c = calloc(n, sizeof(ss_gen_cand));
        int *cls = malloc(sizeof(int) * n), *count = calloc(n + 1, sizeof(int)), *idx = malloc(sizeof(int) * n);
        for (int j = 0; j < n; j++) {
            int r = (int)(ss_rng_u64(&rng) % (sizeof pool / sizeof *pool + 2));
            ans[j] = r < (int)(sizeof pool / sizeof *pool) ? strdup(pool[r]) : NULL;
            c[j].n_tokens = ss_rng_u64(&rng) % 5 ? 1 : 0;   // some without tokens: -inf
            c[j].logprob_sum = -(double)(ss_rng_u64(&rng) % 4) / 2;   // ties on purpose
            c[j].swift = (float)(ss_rng_u64(&rng) % 3);
        }
        select_classes(ans, n, cls);
        for (int r = 0; r < 20; r++) {
            int k = 1 + (int)(ss_rng_u64(&rng) % n);
            for (int j = 0; j < n; j++) idx[j] = j;
            for (int j = 0; j < k; j++) {
                int t = j + (int)(ss_rng_u64(&rng) % (uint64_t)(n - j));
                int x = idx[j]; idx[j] = idx[t]; idx[t] = x;
            }
            int sorted[64];
            memcpy(sorted, idx, sizeof(int) * k);
            for (int a = 1; a < k; a++) for (int b = a; b > 0 && sorted[b] < sorted[b - 1]; b--) { int x = sorted[b]; sorted[b] = sorted[b - 1]; sorted[b - 1] = x; }
            for (int m = 0; m < 4; m++) {
                int want = select_pick_subset(m, c, ans, sorted, k), got = select_pick_classes(m, c, cls, count, idx, k);
                if (want != got) fail_msg("trial %d, method %s, k %d: definition picks %d, classes pick %d", trial, ss_select_name(m), k, want, got);
                n_cases++;
            }
            for (int j = 0; j <= n; j++) assert_int_equal(count[j], 0);   // scratch left zeroed
        }
        for (int j = 0; j < n; j++) free(ans[j]);
        free(ans); free(c); free(cls); free(count); free(idx);
    }
    assert_true(n_cases > 20000);
}

static void test_hand_cases(void **st) {
    (void)st;
    int cls[6], count[7] = {0}, id[6] = { 0, 1, 2, 3, 4, 5 };
    ss_gen_cand c[6] = {{0}};
    // "1,200" == "1200" == "$1200"; "" and " " equal nothing; NULL has no vote
    char *a[6] = { NULL, "", "1,200", "7", "1200", "$1200" };
    assert_int_equal(select_classes(a, 6, cls), 2);
    assert_int_equal(cls[0], -1);
    assert_int_equal(cls[1], -2);
    assert_int_equal(cls[2], cls[4]);
    assert_int_equal(cls[2], cls[5]);
    assert_int_equal(select_pick_classes(SS_SELECT_VOTE, c, cls, count, id, 6), 2);   // 3 votes
    int sub[2] = { 3, 2 };                                                      // 1 vote each: lowest index
    assert_int_equal(select_pick_classes(SS_SELECT_VOTE, c, cls, count, sub, 2), 2);
    int only_empty[2] = { 1, 0 };                                               // "" (0 votes) beats no answer
    assert_int_equal(select_pick_classes(SS_SELECT_VOTE, c, cls, count, only_empty, 2), 1);
    char *none[2] = { NULL, NULL };
    assert_int_equal(select_classes(none, 2, cls), 0);
    int two[2] = { 1, 0 };
    assert_int_equal(select_pick_classes(SS_SELECT_VOTE, c, cls, count, two, 2), 0);  // nothing to vote for: lowest index
    // logprob: candidates without tokens are -inf, ties go to the lowest index
    ss_gen_cand l[3] = { { .n_tokens = 0 }, { .n_tokens = 1, .logprob_sum = -1 }, { .n_tokens = 1, .logprob_sum = -1 } };
    int rev[3] = { 2, 1, 0 };
    assert_int_equal(select_pick_classes(SS_SELECT_LOGPROB, l, cls, count, rev, 3), 1);
    assert_int_equal(select_pick_classes(SS_SELECT_FIRST, l, cls, count, rev, 3), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_agrees),
        cmocka_unit_test(test_hand_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
