// select.c — Best-of-N selection rules.
//   vote:    the answer shared by most candidates (ties: the one that appears first); its first candidate
//   logprob: the highest mean token log-probability
//   swift:   the highest SWIFT reward
//   first:   candidate 0
#include "select.h"
#include "ss_answer.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

int select_parse(const char *name) {
    if (!strcmp(name, "first")) return SEL_FIRST;
    if (!strcmp(name, "vote")) return SEL_VOTE;
    if (!strcmp(name, "logprob")) return SEL_LOGPROB;
    if (!strcmp(name, "swift")) return SEL_SWIFT;
    return -1;
}

const char *select_name(int m) {
    static const char *names[] = { "first", "vote", "logprob", "swift" };
    return m >= 0 && m < 4 ? names[m] : "?";
}

void cand_info_fill(cand_info *ci, const ss_gen_cand *c, int n) {
    ci->answer = ss_calloc(n, sizeof(char *));
    ci->votes = ss_calloc(n, sizeof(int));
    ci->logprob_mean = ss_calloc(n, sizeof(float));
    for (int i = 0; i < n; i++) {
        ci->answer[i] = ss_answer_extract(c[i].text ? c[i].text : "");
        ci->logprob_mean[i] = c[i].n_tokens ? (float)(c[i].logprob_sum / c[i].n_tokens) : -INFINITY;
    }
    for (int i = 0; i < n; i++) {
        if (!ci->answer[i]) continue;
        for (int j = 0; j < n; j++)
            if (ci->answer[j] && ss_answer_equal(ci->answer[i], ci->answer[j])) ci->votes[i]++;
    }
}

void cand_info_free(cand_info *ci, int n) {
    for (int i = 0; i < n; i++) free(ci->answer[i]);
    free(ci->answer); free(ci->votes); free(ci->logprob_mean);
}

int select_pick_subset(int method, const ss_gen_cand *c, char **answer, const int *idx, int k) {
    int best = idx[0];
    if (method == SEL_FIRST) return best;
    if (method == SEL_VOTE) {
        int best_votes = -1;
        for (int a = 0; a < k; a++) {
            int i = idx[a], v = 0;
            if (!answer[i]) continue;
            for (int b = 0; b < k; b++)
                if (answer[idx[b]] && ss_answer_equal(answer[i], answer[idx[b]])) v++;
            if (v > best_votes) { best_votes = v; best = i; }
        }
        return best;
    }
    double bv = -INFINITY;
    for (int a = 0; a < k; a++) {
        int i = idx[a];
        double v = method == SEL_LOGPROB ? (c[i].n_tokens ? c[i].logprob_sum / c[i].n_tokens : -INFINITY) : c[i].swift;
        if (v > bv) { bv = v; best = i; }
    }
    return best;
}

int select_pick(int method, const ss_gen_cand *c, const cand_info *ci, int n) {
    int *idx = ss_malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) idx[i] = i;
    int r = select_pick_subset(method, c, ci->answer, idx, n);
    free(idx);
    return r;
}
