// select.c — Best-of-N selection: which of N candidate responses to keep.
//   first:   idx[0]
//   vote:    self-consistency: the answer shared by most candidates (ties: the one that appears
//            first), its first candidate
//   logprob: the highest mean token log-probability (first on ties)
//   swift:   the highest SWIFT reward (first on ties)
#include "ss_common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const select_names[] = { "first", "vote", "logprob", "swift" };

int ss_select_parse(const char *name) {
    for (int i = 0; name && i < 4; i++) if (!strcmp(name, select_names[i])) return i;
    return -1;
}

const char *ss_select_name(int method) { return method >= 0 && method < 4 ? select_names[method] : "?"; }

void ss_select_votes(const char *const *answers, int n, int *votes) {
    for (int i = 0; i < n; i++) {
        votes[i] = 0;
        if (!answers[i]) continue;
        for (int j = 0; j < n; j++)
            if (answers[j] && ss_answer_equal(answers[i], answers[j])) votes[i]++;
    }
}

int ss_select_pick(int method, const char *const *answers, const double *logprob_mean,
                   const float *swift, const int *idx, int k) {
    if (k < 1 || method < 0 || method > 3) return -1;
    if ((method == SS_SELECT_VOTE && !answers) || (method == SS_SELECT_LOGPROB && !logprob_mean) ||
        (method == SS_SELECT_SWIFT && !swift)) return -1;
#define CAND(a) (idx ? idx[a] : (a))
    int best = CAND(0);
    if (method == SS_SELECT_FIRST) return best;
    if (method == SS_SELECT_VOTE) {
        int best_votes = -1;
        for (int a = 0; a < k; a++) {
            int i = CAND(a), v = 0;
            if (!answers[i]) continue;
            for (int b = 0; b < k; b++)
                if (answers[CAND(b)] && ss_answer_equal(answers[i], answers[CAND(b)])) v++;
            if (v > best_votes) { best_votes = v; best = i; }
        }
        return best;
    }
    double bv = -INFINITY;
    for (int a = 0; a < k; a++) {
        int i = CAND(a);
        double v = method == SS_SELECT_LOGPROB ? logprob_mean[i] : swift[i];
        if (v > bv) { bv = v; best = i; }
    }
#undef CAND
    return best;
}

// W_i = Σ_{j : answer_j equals answer_i} exp(gamma · lp_j) (in index order, double), the pick =
// the first i with the largest W_i, margin = W_pick − max{W_j : answer_j differs from the pick's}
// (each candidate's class weight as ss_select_votes counts its votes)
int ss_select_weighted_vote(const char *const *answers, const double *logprob_mean, int n,
                            double gamma, double *margin) {
    if (margin) *margin = 0;
    if (n < 1 || !answers || !logprob_mean || !(gamma >= 0)) return -1;
    double *w = ss_malloc(sizeof(double) * n), *W = ss_malloc(sizeof(double) * n);
    int best = -1;
    if (!w || !W) goto out;
    for (int i = 0; i < n; i++) {
        const double lp = logprob_mean[i];
        w[i] = answers[i] && lp > -INFINITY && lp == lp ? exp(gamma * lp) : 0;   // (NaN: 0)
    }
    for (int i = 0; i < n; i++) {
        W[i] = 0;
        if (!answers[i] || !ss_answer_equal(answers[i], answers[i])) continue;
        for (int j = 0; j < n; j++)
            if (answers[j] && ss_answer_equal(answers[i], answers[j])) W[i] += w[j];
        if (best < 0 || W[i] > W[best]) best = i;
    }
    if (best >= 0 && margin) {
        double second = 0;
        for (int j = 0; j < n; j++)
            if (W[j] > second && !ss_answer_equal(answers[j], answers[best])) second = W[j];
        *margin = W[best] - second;
    }
out:
    free(w); free(W);
    return best;
}
