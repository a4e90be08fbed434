// select.c — Best-of-N selection: which of N candidate responses to keep.
//   first:   idx[0]
//   vote:    self-consistency: the answer shared by most candidates (ties: the one that appears
//            first), its first candidate
//   logprob: the highest mean token log-probability (first on ties)
//   swift:   the highest SWIFT reward (first on ties)
#include "ss_common.h"
#include <math.h>
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
