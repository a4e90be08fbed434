// vote.c — exact early stop for Best-of-N's vote (self-consistency, ss_select_pick SS_SELECT_VOTE):
// is the selected answer already decided by the finished candidates, whatever the others answer?
//
// The full vote over n candidates: each candidate with an answer gets v_i = #{j : answer_j equals
// answer_i}; the first candidate (lowest index) with the largest v_i wins. Over the finished
// candidates, the answers form classes K with count c_K and first (lowest) index f_K; U candidates
// are unfinished, the lowest of them u0. Leader L = the largest c, ties to the lowest f. In the worst
// case for L, all U unfinished candidates join one other class K (or a new one: c = 0, f = inf), which
// then has c_K + U votes and first index min(f_K, u0). So the vote is decided iff, for every K != L
// (and the new class),
//   c_L > c_K + U,   or   c_L == c_K + U  and  f_L < min(f_K, u0)
// and this is exact: each worst case is a completion that can happen. The winner's answer is L's;
// its candidate is f_L (the full vote may pick an unfinished member of L with a lower index: same
// answer).
// Equality of answers (ss_answer_equal) is exact for strings and for numbers except within its
// tolerance (1e-6 relative, 0.005 absolute), where it is not transitive: an unfinished answer z
// could equal two finished numbers x != y. When two finished numbers differ by less than twice the
// tolerance, the vote is reported undecided (never wrong, at worst later).
#include "ss_vote.h"
#include "slotswift.h"   // ss_answer_*
#include <math.h>
#include <stdlib.h>

// two different numbers that a third could both equal (ss_answer_number_equal twice)
static bool vote_bridgeable(double x, double y) {
    const double d = fabs(x - y);
    return x != y && d <= 1e-2 && d <= 3e-6 * fmax(fabs(x), fabs(y));
}

int ss_vote_decided(const char *const *answers, const bool *finished, int n, int *winner) {
    if (n < 1 || !answers || !finished) return -1;
    int U = 0, u0 = n;
    for (int i = 0; i < n; i++)
        if (!finished[i]) { U++; if (i < u0) u0 = i; }
    if (U == 0) { *winner = ss_select_pick(SS_SELECT_VOTE, answers, NULL, NULL, NULL, n); return 1; }
    // numbers of the finished answers (for the bridging guard)
    double *val = malloc(sizeof(double) * n);
    bool *num = malloc(sizeof(bool) * n);
    int *cls = malloc(sizeof(int) * n), *cnt = malloc(sizeof(int) * n), *first = malloc(sizeof(int) * n);
    int rc = 0, nc = 0;
    if (!val || !num || !cls || !cnt || !first) { rc = -1; goto out; }
    for (int i = 0; i < n; i++) num[i] = finished[i] && answers[i] && ss_answer_number(answers[i], &val[i]);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n && num[i]; j++)
            if (num[j] && vote_bridgeable(val[i], val[j])) goto out;   // undecided
    // classes of the finished answers (equality is transitive here), in index order
    for (int i = 0; i < n; i++) {
        cls[i] = -1;
        if (!finished[i] || !answers[i] || !ss_answer_equal(answers[i], answers[i])) continue;
        for (int k = 0; k < nc && cls[i] < 0; k++)
            if (ss_answer_equal(answers[first[k]], answers[i])) cls[i] = k;
        if (cls[i] < 0) { cls[i] = nc; first[nc] = i; cnt[nc++] = 0; }
        cnt[cls[i]]++;
    }
    if (nc == 0) goto out;
    int L = 0;
    for (int k = 1; k < nc; k++) if (cnt[k] > cnt[L]) L = k;   // ties: the lower first index (k order)
    // the new class: no votes yet, no index
    if (!(cnt[L] > U || (cnt[L] == U && first[L] < u0))) goto out;
    for (int k = 0; k < nc; k++) {
        if (k == L) continue;
        const int ck = cnt[k] + U, fk = first[k] < u0 ? first[k] : u0;
        if (!(cnt[L] > ck || (cnt[L] == ck && first[L] < fk))) goto out;
    }
    *winner = first[L];
    rc = 1;
out:
    free(val); free(num); free(cls); free(cnt); free(first);
    return rc;
}

// P(p_1 > p_2) for p_1 ~ Beta(a + 1, b + 1) (the leader's share of the two leading answers under a
// uniform prior, Adaptive-Consistency's Beta stopping criterion) = P(p_1 > 1/2)
//   = 1 - I_{1/2}(a + 1, b + 1) = P(Binomial(a + b + 1, 1/2) <= a) = Σ_{k=0..a} C(a+b+1, k) / 2^(a+b+1)
// (terms in log space: lgamma, no overflow for large counts)
double ss_vote_beta_conf(int a, int b) {
    if (a < 0 || b < 0) return NAN;
    const int n = a + b + 1;
    const double lg = lgamma(n + 1.0) - n * log(2.0);
    double s = 0;
    for (int k = 0; k <= a; k++) s += exp(lg - lgamma(k + 1.0) - lgamma(n - k + 1.0));
    return s < 1 ? s : 1;
}

int ss_vote_adaptive_stop(const char *const *answers, const double *lp_mean, int n, int N, const ss_vote_rule *rule) {
    if (n < 1 || N < n || !answers || !lp_mean || !rule) return -1;
    int *votes = malloc(sizeof(int) * n);
    const char **all = calloc(N, sizeof(char *));
    bool *started = calloc(N, sizeof(bool));
    int rc = -1;
    if (!votes || !all || !started) goto out;
    ss_select_votes(answers, n, votes);
    int L = -1, a = 0, b = 0;   // the leader (first candidate with the most votes), its votes, the runner-up's
    for (int i = 0; i < n; i++) if (votes[i] > a) { a = votes[i]; L = i; }
    rc = 0;
    if (L < 0) goto out;   // no answer yet
    for (int i = 0; i < n; i++)
        if (votes[i] > b && !ss_answer_equal(answers[i], answers[L])) b = votes[i];
    // 1. exact: the vote over all N is decided whatever the unstarted candidates answer
    for (int i = 0; i < n; i++) { all[i] = answers[i]; started[i] = true; }
    int w;
    if (n < N && ss_vote_decided(all, started, N, &w) == 1) { rc = 1; goto out; }
    // 2. Beta posterior that the leader beats the runner-up, with the leader's share of the started
    // (agree is a float: 0.6f * 5 is 3.0000001, the tolerance keeps 3 of 5 at agree 0.6)
    if (ss_vote_beta_conf(a, b) > rule->conf && a >= (double)rule->agree * n - 1e-4) { rc = 1; goto out; }
    // 3. confidence: a leading candidate whose mean token log-probability exceeds log(tokp)
    if (a > b)
        for (int i = 0; i < n; i++)
            if (votes[i] == a && ss_answer_equal(answers[i], answers[L]) && lp_mean[i] > log(rule->tokp)) { rc = 1; goto out; }
    // 4. the confidence-weighted vote: its heaviest answer outweighs the next by more than margin
    // (out of memory: margin 0, sampling goes on)
    if (rule->margin > 0) {
        double m;
        ss_select_weighted_vote(answers, lp_mean, n, rule->gamma, &m);
        if (m > rule->margin) rc = 1;
    }
out:
    free(votes); free(all); free(started);
    return rc;
}
